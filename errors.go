package ftpserver

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

var (
	// ErrNotListening is returned by Serve when Listen was not called or failed.
	ErrNotListening = errors.New("we aren't listening")
	// ErrNoAvailableListeningPort is returned when no passive port of the range could be opened.
	ErrNoAvailableListeningPort = errors.New("could not find any port to listen to")
	// ErrRemoteAddrFormat is returned when a PORT/EPRT address cannot be parsed.
	ErrRemoteAddrFormat = errors.New("remote address has a bad format")
	// ErrStorageExceeded is returned by a driver when a write would exceed the user's quota;
	// the client sees 552. A full disk, an error wrapping syscall.ENOSPC, is answered 452
	// instead (RFC 959 4.2.1), so that clients can tell a quota from a transient lack of room.
	ErrStorageExceeded = errors.New("storage limit exceeded")
	// ErrFileNameNotAllowed is returned by a driver for a name it refuses; the client sees 553.
	ErrFileNameNotAllowed = errors.New("filename not allowed")
	// ErrServerClosed is what pending operations of a client see when the server stops.
	ErrServerClosed = errors.New("server closed")
	// ErrUploadTruncated is the Event.Err of an upload over TLS whose data connection ended
	// without the TLS close_notify alert, when Settings.TLSCloseNotify requires it: the
	// client may have been cut off before it sent everything. The client sees 426.
	ErrUploadTruncated = errors.New("upload truncated")
	// ErrUploadRefused is the Event.Err of an upload that ClientDriverExtensionUploadCheck
	// refused; the driver's error is wrapped in it. The client sees 550 (552 for
	// ErrStorageExceeded) with the driver's text.
	ErrUploadRefused = errors.New("upload refused")

	errTransferAborted = errors.New("transfer aborted")
	errLineTooLong     = errors.New("command line too long")
	errInvalidPath     = errors.New("invalid path")
	errNotRegularFile  = errors.New("not a regular file") // HASH, X*, COMB: 553 (draft-bryan-ftpext-hash-02 3.5)
	errNameNotUTF8     = fmt.Errorf("%w: not valid UTF-8", ErrFileNameNotAllowed)
	errPathTooLong     = fmt.Errorf("%w: path too long", ErrFileNameNotAllowed)
	errNoDataConn      = errors.New("no data connection: use PASV, EPSV, PORT or EPRT first")
)

// DriverError is an error returned by a driver call, wrapped with what the server was doing.
type DriverError struct {
	str string
	err error
}

func newDriverError(str string, err error) DriverError {
	return DriverError{str: str, err: err}
}

// Error returns the operation and the driver's error.
func (e DriverError) Error() string {
	return fmt.Sprintf("driver error: %s: %v", e.str, e.err)
}

// Unwrap returns the driver's error.
func (e DriverError) Unwrap() error {
	return e.err
}

// NetworkError is a failure of a network operation (listen, accept, dial).
type NetworkError struct {
	str string
	err error
}

func newNetworkError(str string, err error) NetworkError {
	return NetworkError{str: str, err: err}
}

// Error returns the operation and the network error.
func (e NetworkError) Error() string {
	return fmt.Sprintf("network error: %s: %v", e.str, e.err)
}

// Unwrap returns the network error.
func (e NetworkError) Unwrap() error {
	return e.err
}

// FileAccessError is a failure to read or write a file during a transfer.
type FileAccessError struct {
	str string
	err error
}

func newFileAccessError(str string, err error) FileAccessError {
	return FileAccessError{str: str, err: err}
}

// Error returns the operation and the file error.
func (e FileAccessError) Error() string {
	return fmt.Sprintf("file access error: %s: %v", e.str, e.err)
}

// Unwrap returns the file error.
func (e FileAccessError) Unwrap() error {
	return e.err
}

// errorCode is the one place that maps an error to a reply code; fallback is the code for
// errors it does not recognise (usually 550 for file commands, 451 during transfers).
func errorCode(err error, fallback int) int {
	switch {
	case errors.Is(err, ErrStorageExceeded):
		return StatusActionNotTakenStorageExceeded
	case errors.Is(err, syscall.ENOSPC): // RFC 959 4.2.1: a full disk, unlike a quota, is transient
		return StatusActionNotTakenInsufficientStorage
	case errors.Is(err, ErrFileNameNotAllowed), errors.Is(err, errInvalidPath), errors.Is(err, errNotRegularFile):
		return StatusActionNotTakenNoFile
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission), errors.Is(err, fs.ErrExist):
		return StatusActionNotTaken
	case errors.Is(err, errTransferAborted):
		return StatusTransferAborted
	case errors.Is(err, errNoDataConn):
		return StatusCannotOpenDataConnection
	case errors.Is(err, errBadPattern):
		return StatusSyntaxErrorParameters
	}

	var netErr NetworkError
	if errors.As(err, &netErr) {
		return StatusCannotOpenDataConnection
	}

	return fallback
}

// clientErrorText is the text a client sees for err. Errors that carry a path on the server's
// side (*fs.PathError, *os.LinkError, *os.SyscallError) are reduced to their cause, so a
// reply never shows where the driver keeps its files.
func clientErrorText(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "no such file or directory"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	case errors.Is(err, fs.ErrExist):
		return "file exists"
	case errors.Is(err, ErrStorageExceeded):
		return "Storage limit exceeded"
	case errors.Is(err, errNameNotUTF8):
		return "File name is not valid UTF-8"
	case errors.Is(err, errPathTooLong):
		return "Path too long"
	case errors.Is(err, ErrFileNameNotAllowed), errors.Is(err, errInvalidPath):
		return "File name not allowed"
	}

	for {
		var (
			pathErr *fs.PathError
			linkErr *os.LinkError
			sysErr  *os.SyscallError
		)

		switch {
		case errors.As(err, &pathErr):
			err = pathErr.Err
		case errors.As(err, &linkErr):
			err = linkErr.Err
		case errors.As(err, &sysErr):
			err = sysErr.Err
		default:
			return oneLine(err.Error())
		}
	}
}

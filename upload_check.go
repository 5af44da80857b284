package ftpserver

import (
	"errors"

	"github.com/go-kit/log/level"
	"github.com/spf13/afero"
)

// ClientDriverExtensionUploadCheck lets a driver examine each upload once it has arrived whole
// and before anyone can see it under its name: a virus scan, a checksum against a manifest, a
// policy on types or sizes.
//
// A STOR from offset 0 and a STOU of a driver with this extension are received into a temporary
// file beside the target, named with AtomicUploadPrefix, whatever Settings.AtomicUploads says;
// the target is replaced by a rename only once CheckUpload has accepted it. An APPE and a STOR
// after REST write into the target itself, which they extend: their check sees the whole file,
// and a refusal removes it.
type ClientDriverExtensionUploadCheck interface {
	// CheckUpload is called, in the transfer's goroutine, after an upload's last byte was
	// written, flushed and its file closed, and before it is renamed over name, the client path
	// it was sent to. received tells where its bytes are and opens them. nil accepts the upload
	// (226). An error refuses it: the received file is removed, an earlier file under name
	// stays as it was (except after APPE or REST, above), the client gets 550, or 552 for
	// ErrStorageExceeded, with "Upload refused: " and the error's text, and the transfer's
	// event has an Err that matches ErrUploadRefused and the driver's error. It is not called
	// for an upload that failed or was cut short. The data connection is closed before it is
	// called, so a slow check delays only the final reply; the client may give up waiting
	// for it, a reason to keep it well under the clients' timeouts.
	CheckUpload(cc ClientContext, name string, received ReceivedUpload) error
}

// ReceivedUpload is an upload that arrived whole, as ClientDriverExtensionUploadCheck sees it.
type ReceivedUpload struct {
	// Command is STOR, APPE or STOU.
	Command string
	// Name is the driver path holding the received bytes: a temporary file beside the target,
	// for STOR from offset 0 and STOU, or the target itself, for APPE and STOR after REST.
	Name string
	// Size is the number of bytes this transfer wrote: those received, decompressed under
	// MODE Z and converted under TYPE A. After APPE or REST the file holds more.
	Size int64

	fs ClientDriver
}

// Open opens the received file for reading through the driver's own file system (its Open).
// The caller closes it.
func (r ReceivedUpload) Open() (afero.File, error) {
	file, err := r.fs.Open(r.Name)
	if err != nil {
		return nil, newDriverError("opening "+r.Name, err)
	}

	return file, nil
}

// uploadCheck is a driver's ClientDriverExtensionUploadCheck bound to its session. A session
// without one holds a nil *uploadCheck. (A pointer, not a func, so that the session stays
// comparable, as ftpserverlib's is.)
type uploadCheck struct {
	checker ClientDriverExtensionUploadCheck
	cc      ClientContext
}

// uploadRefusal is the error of an upload the driver's check refused: it matches both
// ErrUploadRefused and the driver's error.
type uploadRefusal struct {
	err error
}

func (r uploadRefusal) Error() string {
	return ErrUploadRefused.Error() + ": " + r.err.Error()
}

func (r uploadRefusal) Unwrap() []error {
	return []error{ErrUploadRefused, r.err}
}

// refusalCause returns the driver's error behind a refused upload.
func refusalCause(err error) error {
	var refusal uploadRefusal
	if errors.As(err, &refusal) {
		return refusal.err
	}

	return err
}

// runCheck asks the driver's check about the upload, which has been received whole into
// u.stored(); it returns the refusal, if any.
func (u *upload) runCheck() error {
	if u.check == nil {
		return nil
	}

	received := ReceivedUpload{Command: u.command, Name: u.stored(), Size: u.size.Load(), fs: u.fs}

	err := u.check.checker.CheckUpload(u.check.cc, u.target, received)
	if err == nil {
		return nil
	}

	level.Info(u.logger).Log("event", "upload_refused", "path", u.target, "err", err)

	return uploadRefusal{err: err}
}

// stored is the driver path the upload writes into.
func (u *upload) stored() string {
	if u.temp != "" {
		return u.temp
	}

	return u.target
}

// removeRefused removes what a refused upload wrote in place.
func (u *upload) removeRefused(err error) {
	if u.temp != "" || !errors.Is(err, ErrUploadRefused) {
		return
	}

	if removeErr := u.fs.Remove(u.target); removeErr != nil {
		level.Warn(u.logger).Log("event", "refused_upload_left", "path", u.target, "err", removeErr)
	}
}

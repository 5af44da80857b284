package s3fs

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/ftpkit/ftpserver"
)

var (
	// ErrNotSupported is returned for what S3 objects cannot do: write into an existing object
	// other than at its end (write at an offset, truncate), open for reading and writing, Chown,
	// Chtimes, Chmod (unless Options.IgnoreChmod), rename a large directory. It wraps
	// fs.ErrPermission, so ftpserver answers 550.
	ErrNotSupported = fmt.Errorf("not supported on S3 storage: %w", fs.ErrPermission)

	// ErrDirectoryNotEmpty is returned by Remove for a directory that holds something; RMD
	// answers 550 with its text.
	ErrDirectoryNotEmpty = errors.New("directory not empty")

	// ErrObjectChanged is returned by a read when the object was replaced since it was opened:
	// the bytes already read and those to come would not belong to the same file.
	ErrObjectChanged = errors.New("object changed while being read")

	// ErrUploadAborted is what Close returns after TransferError (or a refused position or
	// size): no object was stored, and the parts already sent stay for a resume.
	ErrUploadAborted = errors.New("upload aborted")

	// ErrResumeOffset is returned when an upload is asked to start at an offset (REST before
	// STOR) other than where the file can be continued, its resumable size (see the package
	// documentation); ftpserver answers 550 with its text, which gives that size.
	ErrResumeOffset = errors.New("the upload cannot resume there")

	errIsDirectory  = errors.New("is a directory")
	errNotDirectory = errors.New("not a directory")
	errNotReadable  = errors.New("file not open for reading")
	errNotWritable  = errors.New("file not open for writing")
	errNegativeSeek = errors.New("negative position")
	errBadWhence    = errors.New("invalid whence")
	errRenameInto   = errors.New("cannot move a directory into itself")
	errRenameRoot   = errors.New("cannot rename the root")
)

// storageError is an S3 error together with the fs error it means, so that errors.Is finds
// fs.ErrNotExist and the like while errors.As still reaches the SDK's error and the log shows
// S3's code and message.
type storageError struct {
	kind error // fs.ErrNotExist, fs.ErrPermission, ftpserver.ErrStorageExceeded, ErrObjectChanged
	err  error
}

// Error returns the S3 error's text.
func (e *storageError) Error() string { return e.err.Error() }

// Unwrap returns the fs error and the S3 error.
func (e *storageError) Unwrap() []error { return []error{e.kind, e.err} }

// errorKinds maps S3 error codes to fs errors. Codes not listed are returned as they are,
// which ftpserver answers with its fallback code (550 for file commands, 451 in transfers).
var errorKinds = map[string]error{
	"NoSuchKey":    fs.ErrNotExist,
	"NotFound":     fs.ErrNotExist, // HEAD has no body: the SDK names a 404 so
	"NoSuchBucket": fs.ErrNotExist,
	"NoSuchUpload": fs.ErrNotExist,

	"AccessDenied":          fs.ErrPermission,
	"Forbidden":             fs.ErrPermission, // HEAD's 403
	"AllAccessDisabled":     fs.ErrPermission,
	"AccountProblem":        fs.ErrPermission,
	"InvalidAccessKeyId":    fs.ErrPermission,
	"SignatureDoesNotMatch": fs.ErrPermission,
	"InvalidObjectState":    fs.ErrPermission, // archived (Glacier) objects cannot be read

	"EntityTooLarge":    ftpserver.ErrStorageExceeded,
	"QuotaExceeded":     ftpserver.ErrStorageExceeded, // Ceph RGW
	"XMinioStorageFull": ftpserver.ErrStorageExceeded, // MinIO

	"PreconditionFailed": ErrObjectChanged, // If-Match on a replaced object
}

// classify returns err with the fs error it means attached, or err itself.
func classify(err error) error {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		if kind, ok := errorKinds[apiErr.ErrorCode()]; ok {
			return &storageError{kind: kind, err: err}
		}
	}

	// An error without a code (a HEAD answered by a proxy, say) still has its status.
	var respErr *smithyhttp.ResponseError
	if errors.As(err, &respErr) {
		switch respErr.HTTPStatusCode() {
		case http.StatusNotFound:
			return &storageError{kind: fs.ErrNotExist, err: err}
		case http.StatusForbidden:
			return &storageError{kind: fs.ErrPermission, err: err}
		}
	}

	return err
}

// pathError returns nil for a nil err, else err classified and wrapped in an *fs.PathError
// naming the operation and the file, as the os package reports errors.
func pathError(op, name string, err error) error {
	if err == nil {
		return nil
	}

	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		return err
	}

	return &fs.PathError{Op: op, Path: name, Err: classify(err)}
}

// isNotExist tells whether err means that the object is missing.
func isNotExist(err error) bool {
	return errors.Is(classify(err), fs.ErrNotExist)
}

// deleteError is the failure of one key of a DeleteObjects request.
type deleteError struct {
	key, code, message string
}

// Error returns S3's code and message for the key.
func (e *deleteError) Error() string {
	return "deleting " + e.key + ": " + e.code + ": " + e.message
}

// Unwrap returns the fs error S3's code means, or nil.
func (e *deleteError) Unwrap() error {
	return errorKinds[e.code]
}

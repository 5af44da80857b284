package s3fs

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/spf13/afero"

	"github.com/ftpkit/ftpserver"
)

// writeFile is an object being uploaded. Write hands its bytes through an io.Pipe to the SDK's
// uploader, running in a goroutine the file owns: the uploader cuts the stream into parts of
// PartSize, sends up to Concurrency of them at once, and Write blocks while they are all busy,
// so memory stays at about (Concurrency + 2) × PartSize whatever the size of the file. A file
// smaller than one part is sent with a single PUT. Nothing is visible in the bucket until Close
// completes the upload; TransferError (or a failed part) aborts it instead.
type writeFile struct {
	fileBase

	pipe    *io.PipeWriter
	done    chan struct{} // closed when the upload goroutine has returned
	result  error         // the upload's error, read after done
	maxSize int64         // 10,000 parts
	written int64

	mu      sync.Mutex // guards closed and aborted: TransferError may come from another goroutine
	closed  bool
	aborted bool
}

var (
	_ afero.File                  = (*writeFile)(nil)
	_ ftpserver.FileTransferError = (*writeFile)(nil)
)

// newWriteFile starts the upload of rel.
func (f *Fs) newWriteFile(name, rel string) *writeFile {
	reader, writer := io.Pipe()
	w := &writeFile{
		fileBase: fileBase{fs: f, name: name, rel: rel},
		pipe:     writer,
		done:     make(chan struct{}),
		maxSize:  f.opts.PartSize * maxUploadParts,
	}

	go func() {
		defer close(w.done)

		// Cancelling this context would also stop the uploader's abort of the multipart upload,
		// which it sends with the same context: an upload is abandoned by closing the pipe with
		// an error instead. A request that gets no answer is bounded by the HTTP client's
		// timeouts (NewClient's waits DefaultRequestTimeout for response headers).
		_, err := f.uploader.Upload(context.Background(), &s3.PutObjectInput{ //nolint:staticcheck // see New
			Bucket: aws.String(f.bucket),
			Key:    aws.String(f.objectKey(rel)),
			Body:   reader,
		})
		if err != nil {
			// Unblocks a Write waiting for a reader that is gone.
			reader.CloseWithError(err)
		} else {
			reader.Close()
		}

		w.result = err
	}()

	return w
}

// Write sends p to the upload. It blocks while every part buffer is in flight. After a failed
// part, it returns that failure.
func (w *writeFile) Write(p []byte) (int, error) {
	if w.isClosed() {
		return 0, w.err("write", os.ErrClosed)
	}

	if w.written+int64(len(p)) > w.maxSize {
		w.abort(ftpserver.ErrStorageExceeded)

		return 0, w.err("write", fmt.Errorf("%w: files are limited to %d bytes (10,000 parts of %d)",
			ftpserver.ErrStorageExceeded, w.maxSize, w.fs.opts.PartSize))
	}

	n, err := w.pipe.Write(p)
	w.written += int64(n)

	if err != nil {
		return n, pathError("write", w.name, err)
	}

	return n, nil
}

// WriteString is Write of s.
func (w *writeFile) WriteString(s string) (int, error) {
	p := []byte(s)

	return w.Write(p)
}

// Seek only tells the position: an upload cannot go back. Any other position abandons the
// upload, as Truncate does.
func (w *writeFile) Seek(offset int64, whence int) (int64, error) {
	if (whence == io.SeekCurrent && offset == 0) || (whence == io.SeekStart && offset == w.written) {
		return w.written, nil
	}

	return 0, w.refuse("seek")
}

// Truncate accepts only the size written so far, which changes nothing (ftpserver truncates a
// new upload to 0). Any other size, such as the offset of a REST before STOR, abandons the
// upload: the caller cannot get what it asked for, and closing the file must not store an
// object it did not mean (ftpserver closes it without calling TransferError).
func (w *writeFile) Truncate(size int64) error {
	if size == w.written {
		return nil
	}

	return w.refuse("truncate")
}

// WriteAt abandons the upload: S3 objects are written from start to end.
func (w *writeFile) WriteAt([]byte, int64) (int, error) {
	return 0, w.refuse("write")
}

// refuse abandons the upload and returns ErrNotSupported for op.
func (w *writeFile) refuse(op string) error {
	err := w.err(op, ErrNotSupported)
	w.abort(err)

	return err
}

// Stat describes the file as written so far.
func (w *writeFile) Stat() (os.FileInfo, error) {
	return fileInfo{name: baseName(w.rel), size: w.written, modTime: time.Now()}, nil
}

// TransferError implements ftpserver.FileTransferError: the server calls it, before Close, when
// an upload broke (the client aborted, the data connection was reset, a write failed). The
// multipart upload is aborted, its parts deleted, and Close stores nothing.
func (w *writeFile) TransferError(err error) {
	w.abort(err)
}

// abort abandons the upload: the uploader reads err from the pipe and aborts.
func (w *writeFile) abort(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()

	if w.aborted || w.closed {
		return
	}

	w.aborted = true
	w.pipe.CloseWithError(fmt.Errorf("%w: %w", ErrUploadAborted, err))
}

// Close completes the upload and waits for it: a nil error means the object is stored. After
// TransferError or a failed Write, it waits for the abort and returns the upload's error.
func (w *writeFile) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()

		return w.err("close", os.ErrClosed)
	}

	w.closed = true
	w.mu.Unlock()

	// The end of the stream: the uploader sends the last part and completes the upload. After
	// an abort the pipe keeps its error.
	_ = w.pipe.Close()

	<-w.done

	return pathError("close", w.name, w.result)
}

// isClosed tells whether Close was called.
func (w *writeFile) isClosed() bool {
	w.mu.Lock()
	defer w.mu.Unlock()

	return w.closed
}

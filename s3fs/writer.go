package s3fs

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/spf13/afero"

	"github.com/ftpkit/ftpserver"
)

// writeFile is an object being uploaded, through a multipart upload it drives itself. Write
// fills a buffer of PartSize bytes; once it is full and another byte comes, the buffer is sent
// as the next part while Write goes on in a new one. Up to Concurrency parts are in flight and
// Write blocks while they all are, so memory stays at about (Concurrency + 2) × PartSize
// whatever the size of the file. A file that never fills a part is sent with a single PUT, and
// the multipart upload is only created for the first part.
//
// No object exists until Close completes the upload (Stat shows the upload's resumable size
// meanwhile; Open and listings do not show it). An upload that ends
// without Close completing it (TransferError, a failed part, a process that dies) keeps the
// parts S3 has received, so that a client can resume it from any server on the bucket: the
// file's resumable size is the total of its leading parts (see Fs.Stat). A full part is sent
// only once a byte after it has come, so a broken upload never holds the whole file and a
// client always has something left to send when it resumes.
type writeFile struct {
	fileBase

	partSize int64
	slots    chan struct{} // one per part in flight
	inFlight sync.WaitGroup

	// What the name holds, for a file opened without O_TRUNC or O_APPEND: the first Truncate
	// or Seek (ftpserver's REST before STOR) or Write says where the upload starts.
	positioned bool
	existing   *incompleteUpload
	object     *sourceObject

	uploadID  string // "" until the multipart upload exists
	algorithm types.ChecksumAlgorithm
	resumed   bool  // continues an upload or an object: other uploads of the key go once complete
	nextPart  int32 // the number of the part buf becomes
	buf       []byte
	written   int64 // the file's size so far, parts kept from before included
	maxSize   int64 // where the 10,000 parts run out

	mu      sync.Mutex // guards what follows: parts end in their goroutines, TransferError may come from another
	parts   []types.CompletedPart
	failed  error // the first failed part
	closed  bool
	aborted error // why the upload was abandoned; nil while it goes on
	discard bool  // abort the multipart upload too: nothing in it can be resumed
}

var (
	_ afero.File                  = (*writeFile)(nil)
	_ ftpserver.FileTransferError = (*writeFile)(nil)
)

// newWriteFile returns the upload of rel, not yet positioned.
func (f *Fs) newWriteFile(name, rel string) *writeFile {
	return &writeFile{
		fileBase:  fileBase{fs: f, name: name, rel: rel},
		partSize:  f.opts.PartSize,
		slots:     make(chan struct{}, f.opts.Concurrency),
		algorithm: f.checksumAlgorithm(),
		nextPart:  1,
		maxSize:   f.opts.PartSize * maxUploadParts,
	}
}

// startAt makes the upload start at offset, which must be the size of what the name holds: the
// resumable size of its incomplete upload if it has one, else the size of its object, else 0.
// Continuing an object copies it into a new multipart upload on the server's side, or reads it
// into the first part when it is smaller than S3's smallest part. A failure abandons the
// upload, leaving the name as it was.
func (w *writeFile) startAt(offset int64) error {
	w.positioned = true

	err := w.continueAt(offset)
	if err != nil {
		w.abandon(err, false)
	}

	return err
}

// continueAt does the work of startAt.
func (w *writeFile) continueAt(offset int64) error {
	switch {
	case w.existing != nil && offset == w.existing.size:
		w.continueUpload(w.existing)

		return nil
	case w.existing != nil:
		return w.err("seek", fmt.Errorf("%w: the incomplete upload holds %d bytes, not %d",
			ErrResumeOffset, w.existing.size, offset))
	case w.object == nil && offset == 0, w.object != nil && w.object.size == 0 && offset == 0:
		return nil
	case w.object != nil && offset == 0:
		return w.err("write", fmt.Errorf("writing over an object without truncating it: %w", ErrNotSupported))
	case w.object == nil || offset != w.object.size:
		return w.err("seek", fmt.Errorf("%w: the file holds %d bytes, not %d",
			ErrResumeOffset, w.objectSize(), offset))
	case w.object.size < minPartSize:
		w.resumed = true

		prefix, err := w.fs.readSmallObject(*w.object, w.buffer())
		w.buf = prefix
		w.written = int64(len(prefix))

		return pathError("append", w.name, err)
	default:
		upload, err := w.fs.copyPrefix(w.rel, *w.object)
		if err != nil {
			return pathError("append", w.name, err)
		}

		w.continueUpload(upload)

		return nil
	}
}

// objectSize is the size of the object the name holds, 0 without one.
func (w *writeFile) objectSize() int64 {
	if w.object == nil {
		return 0
	}

	return w.object.size
}

// continueUpload makes the upload go on in upload, after its leading parts.
func (w *writeFile) continueUpload(upload *incompleteUpload) {
	w.uploadID = upload.id
	w.algorithm = upload.algorithm
	w.resumed = true
	w.parts = slices.Clone(upload.parts)
	w.nextPart = int32(len(upload.parts) + 1) //nolint:gosec // at most 10,000 parts
	w.written = upload.size
	w.maxSize = upload.size + w.partSize*int64(maxUploadParts-len(upload.parts))
}

// buffer returns the part buffer, taking one when there is none.
func (w *writeFile) buffer() []byte {
	if w.buf == nil {
		w.buf = w.fs.partBuffer()
	}

	return w.buf
}

// Write sends p to the upload. It blocks while Concurrency parts are in flight. After a failed
// part, it returns that failure.
func (w *writeFile) Write(p []byte) (int, error) {
	if err := w.writable(); err != nil {
		return 0, err
	}

	if !w.positioned {
		if err := w.startAt(0); err != nil {
			return 0, err
		}
	}

	if w.written+int64(len(p)) > w.maxSize {
		err := w.err("write", fmt.Errorf("%w: files are limited to %d bytes (10,000 parts of %d)",
			ftpserver.ErrStorageExceeded, w.maxSize, w.partSize))
		w.abandon(err, true)

		return 0, err
	}

	w.buffer()

	n := 0
	for len(p) > 0 {
		if int64(len(w.buf)) == w.partSize {
			if err := w.send(true); err != nil {
				return n, pathError("write", w.name, err)
			}
		}

		copied := copy(w.buf[len(w.buf):w.partSize], p)
		w.buf = w.buf[:len(w.buf)+copied]
		p = p[copied:]
		n += copied
		w.written += int64(copied)
	}

	return n, nil
}

// writable returns why the file cannot be written, or nil.
func (w *writeFile) writable() error {
	w.mu.Lock()
	defer w.mu.Unlock()

	switch {
	case w.closed:
		return w.err("write", os.ErrClosed)
	case w.aborted != nil:
		return w.err("write", fmt.Errorf("%w: %w", ErrUploadAborted, w.aborted))
	case w.failed != nil:
		return pathError("write", w.name, w.failed)
	}

	return nil
}

// send hands buf to a goroutine that uploads it as the next part, once a slot is free, and
// with refill takes a new buffer. The multipart upload is created for its first part.
func (w *writeFile) send(refill bool) error {
	if w.uploadID == "" {
		id, err := w.fs.createUpload(w.rel, w.algorithm)
		if err != nil {
			return err
		}

		w.uploadID = id
	}

	w.slots <- struct{}{}

	w.mu.Lock()
	failed := w.failed
	w.mu.Unlock()

	if failed != nil {
		<-w.slots

		return failed
	}

	body, number := w.buf, w.nextPart
	w.nextPart++
	w.buf = nil

	if refill {
		w.buf = w.fs.partBuffer()
	}

	w.inFlight.Add(1)

	go func() {
		defer w.inFlight.Done()
		defer func() { <-w.slots }()

		err := w.sendPart(number, body)
		w.fs.releaseBuffer(body)

		if err != nil {
			w.mu.Lock()
			if w.failed == nil {
				w.failed = err
			}
			w.mu.Unlock()
		}
	}()

	return nil
}

// sendPart uploads body as part number and records it. No context bounds it: the HTTP
// client's timeouts end a request S3 does not answer, and a part sent goes on after
// TransferError, so that a resume finds it.
func (w *writeFile) sendPart(number int32, body []byte) error {
	out, err := w.fs.client.UploadPart(context.Background(), &s3.UploadPartInput{
		Bucket:            aws.String(w.fs.bucket),
		Key:               aws.String(w.fs.objectKey(w.rel)),
		UploadId:          aws.String(w.uploadID),
		PartNumber:        aws.Int32(number),
		Body:              bytes.NewReader(body),
		ContentLength:     aws.Int64(int64(len(body))),
		ChecksumAlgorithm: w.algorithm,
	}, w.checksumOption)
	if err != nil {
		return err //nolint:wrapcheck // Write and Close classify and wrap it
	}

	w.mu.Lock()
	w.parts = append(w.parts, completedPart(aws.Int32(number), out.ETag, partChecksums{
		out.ChecksumCRC32, out.ChecksumCRC32C, out.ChecksumCRC64NVME, out.ChecksumSHA1, out.ChecksumSHA256,
	}))
	w.mu.Unlock()

	return nil
}

// checksumOption sends the parts of an upload that declares no checksum algorithm without
// one, which the SDK would otherwise add (CRC32) though the upload does not expect it.
func (w *writeFile) checksumOption(o *s3.Options) {
	if w.algorithm == "" {
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
	}
}

// WriteString is Write of s.
func (w *writeFile) WriteString(s string) (int, error) {
	p := []byte(s)

	return w.Write(p)
}

// Seek tells the position. Before the first byte, seeking from the start to the file's
// resumable size continues it (ftpserver seeks to the REST offset before STOR); another
// position fails with ErrResumeOffset. Once writing, an upload cannot go back: any other
// position abandons it, as Truncate does.
func (w *writeFile) Seek(offset int64, whence int) (int64, error) {
	if !w.positioned && whence == io.SeekStart {
		if err := w.startAt(offset); err != nil {
			return 0, err
		}

		return w.written, nil
	}

	if (whence == io.SeekCurrent && offset == 0) || (whence == io.SeekStart && offset == w.written) {
		return w.written, nil
	}

	return 0, w.refuse("seek")
}

// Truncate, before the first byte, starts the upload at size, which must be the file's
// resumable size (see Seek): ftpserver truncates to the REST offset before STOR. Once
// writing, it accepts only the size written so far, which changes nothing; any other size
// abandons the upload.
func (w *writeFile) Truncate(size int64) error {
	if !w.positioned {
		return w.startAt(size)
	}

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
	w.abandon(err, false)

	return err
}

// Stat describes the file as written so far.
func (w *writeFile) Stat() (os.FileInfo, error) {
	return fileInfo{name: baseName(w.rel), size: w.written, modTime: time.Now()}, nil
}

// TransferError implements ftpserver.FileTransferError: the server calls it, before Close, when
// an upload broke (the client aborted, the data connection was reset or timed out, a write
// failed). Close then waits for the parts in flight and keeps the multipart upload, so that
// the client can resume it; the bytes after the last full part are dropped.
func (w *writeFile) TransferError(err error) {
	w.abandon(err, false)
}

// abandon records that the upload will not be completed, and why; with discard, Close also
// aborts its multipart upload.
func (w *writeFile) abandon(err error, discard bool) {
	w.mu.Lock()
	defer w.mu.Unlock()

	if w.aborted != nil || w.closed {
		return
	}

	w.aborted = err
	w.discard = discard
}

// Close completes the upload and waits for it: a nil error means the object is stored. After
// TransferError, a refused position or a failed part, it waits for the parts in flight and
// returns an error; the parts S3 received stay for a resume.
func (w *writeFile) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()

		return w.err("close", os.ErrClosed)
	}

	w.closed = true
	aborted, discard := w.aborted, w.discard
	w.mu.Unlock()

	defer func() {
		w.fs.releaseBuffer(w.buf)
		w.buf = nil
	}()

	if aborted != nil {
		w.inFlight.Wait()

		if discard && w.uploadID != "" {
			ctx, cancel := w.fs.context()
			_ = w.fs.abortUpload(ctx, w.fs.objectKey(w.rel), w.uploadID)

			cancel()
		}

		return w.err("close", fmt.Errorf("%w: %w", ErrUploadAborted, aborted))
	}

	if !w.positioned {
		if w.existing != nil || w.objectSize() > 0 {
			return nil // opened and closed without a byte: the file stays as it was
		}

		w.positioned = true
	}

	return pathError("close", w.name, w.complete())
}

// complete stores the object: with a single PUT when no part was sent, else by sending the
// last part and completing the multipart upload. Other incomplete uploads of a file that was
// resumed are aborted then: the file they were for is stored.
func (w *writeFile) complete() error {
	if w.uploadID == "" {
		return w.put()
	}

	if len(w.buf) > 0 {
		if err := w.send(false); err != nil {
			w.inFlight.Wait()

			return err
		}
	}

	w.inFlight.Wait()

	if w.failed != nil {
		return w.failed
	}

	ctx, cancel := w.fs.context()
	defer cancel()

	if len(w.parts) == 0 {
		// An empty file: S3 completes no upload without a part.
		if err := w.put(); err != nil {
			return err
		}

		return w.fs.abortUpload(ctx, w.fs.objectKey(w.rel), w.uploadID)
	}

	slices.SortFunc(w.parts, func(a, b types.CompletedPart) int {
		return int(aws.ToInt32(a.PartNumber) - aws.ToInt32(b.PartNumber))
	})

	if w.algorithm == "" {
		for i, part := range w.parts {
			w.parts[i] = types.CompletedPart{PartNumber: part.PartNumber, ETag: part.ETag}
		}
	}

	_, err := w.fs.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket:          aws.String(w.fs.bucket),
		Key:             aws.String(w.fs.objectKey(w.rel)),
		UploadId:        aws.String(w.uploadID),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: w.parts},
	})
	if err != nil {
		return err //nolint:wrapcheck // Close classifies and wraps it
	}

	if w.resumed {
		_, _ = w.fs.abortUploads(ctx, w.rel, w.uploadID) // best effort: the sweep ends what is left
	}

	return nil
}

// put stores buf as the whole object.
func (w *writeFile) put() error {
	// The body may take as long as a part to send: no metadata timeout.
	_, err := w.fs.client.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket:        aws.String(w.fs.bucket),
		Key:           aws.String(w.fs.objectKey(w.rel)),
		Body:          bytes.NewReader(w.buf),
		ContentLength: aws.Int64(int64(len(w.buf))),
	})

	return err //nolint:wrapcheck // Close classifies and wraps it
}

package s3fs

import (
	"context"
	"errors"
	"io"
	"os"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/spf13/afero"
)

// readFile is an object open for reading. It holds one GET at a time, opened by the first Read
// at the current position (with a Range header past 0), so Seek, as REST does before RETR,
// costs nothing; a Read at another position than where the GET is closes it and opens another.
// Every GET carries If-Match with the ETag seen at open, so a file read in several GETs is
// never stitched from two versions of the object.
type readFile struct {
	fileBase

	info fileInfo
	etag string

	ctx    context.Context // streamed GETs: cancelled by Close, no overall timeout
	cancel context.CancelFunc

	pos     int64         // where the next Read reads
	body    io.ReadCloser // nil before the first Read and after a repositioning
	bodyPos int64         // where body's next byte is
	closed  bool
}

var (
	_ afero.File  = (*readFile)(nil)
	_ io.ReaderAt = (*readFile)(nil)
)

// newReadFile opens the object described by head for reading.
func (f *Fs) newReadFile(name, rel string, head *s3.HeadObjectOutput) *readFile {
	ctx, cancel := context.WithCancel(context.Background())

	return &readFile{
		fileBase: fileBase{fs: f, name: name, rel: rel},
		info:     objectInfo(rel, head),
		etag:     aws.ToString(head.ETag),
		ctx:      ctx,
		cancel:   cancel,
	}
}

// OpenDownload opens name for reading, as OpenFile with os.O_RDONLY does, with one request
// where OpenFile sends two: it starts a GET of the whole object at once, whose response tells
// the size, ETag and time a HEAD would, and the first Read takes the body. A download from the
// start, such as RETR without REST, so costs S3 one request instead of a HEAD and a GET; a Read
// at another position drops that GET for a ranged one, as after any Seek. A name with no object
// (a directory, or nothing) is opened by OpenFile.
func (f *Fs) OpenDownload(name string) (afero.File, error) {
	rel := clean(name)
	if rel == "" {
		return f.OpenFile(name, os.O_RDONLY, 0)
	}

	r := f.newReadFile(name, rel, &s3.HeadObjectOutput{})

	out, err := f.client.GetObject(r.ctx, &s3.GetObjectInput{
		Bucket: aws.String(f.bucket),
		Key:    aws.String(f.objectKey(rel)),
	}, quietChecksums)
	if err != nil {
		r.cancel()

		if isNotExist(err) {
			file, openErr := f.OpenFile(name, os.O_RDONLY, 0)

			return file, f.incompleteOpenError(name, rel, openErr)
		}

		return nil, pathError("open", name, err)
	}

	r.info = objectInfo(rel, &s3.HeadObjectOutput{ContentLength: out.ContentLength, LastModified: out.LastModified})
	r.etag = aws.ToString(out.ETag)
	r.body = out.Body

	return r, nil
}

// objectInfo describes the object of rel from its HEAD.
func objectInfo(rel string, head *s3.HeadObjectOutput) fileInfo {
	return fileInfo{name: baseName(rel), size: aws.ToInt64(head.ContentLength), modTime: aws.ToTime(head.LastModified)}
}

// Read reads from the current position, opening a GET there when none is open at it.
func (r *readFile) Read(p []byte) (int, error) {
	if r.closed {
		return 0, r.err("read", os.ErrClosed)
	}

	if r.pos >= r.info.size {
		return 0, io.EOF
	}

	if len(p) == 0 {
		return 0, nil
	}

	if r.body == nil || r.bodyPos != r.pos {
		if err := r.open(); err != nil {
			return 0, err
		}
	}

	n, err := r.body.Read(p)
	r.pos += int64(n)
	r.bodyPos += int64(n)

	switch {
	case errors.Is(err, io.EOF) && r.pos < r.info.size:
		r.closeBody()

		return n, r.err("read", io.ErrUnexpectedEOF)
	case errors.Is(err, io.EOF):
		return n, io.EOF
	case err != nil:
		r.closeBody() // the next Read starts a new GET where this one broke

		return n, pathError("read", r.name, err)
	}

	return n, nil
}

// open starts a GET from the current position to the end of the object.
func (r *readFile) open() error {
	r.closeBody()

	body, err := r.get(r.ctx, r.pos, -1)
	if err != nil {
		return err
	}

	r.body, r.bodyPos = body, r.pos

	return nil
}

// get opens a GET of the object from start to end (included), or to the end of the object
// when end is negative.
func (r *readFile) get(ctx context.Context, start, end int64) (io.ReadCloser, error) {
	input := &s3.GetObjectInput{
		Bucket: aws.String(r.fs.bucket),
		Key:    aws.String(r.fs.objectKey(r.rel)),
	}

	if r.etag != "" {
		input.IfMatch = aws.String(r.etag)
	}

	if start > 0 || end >= 0 {
		rangeSpec := "bytes=" + strconv.FormatInt(start, 10) + "-"
		if end >= 0 {
			rangeSpec += strconv.FormatInt(end, 10)
		}

		input.Range = aws.String(rangeSpec) // RFC 9110 14.1.2
	}

	out, err := r.fs.client.GetObject(ctx, input, quietChecksums)
	if err != nil {
		return nil, pathError("read", r.name, err)
	}

	return out.Body, nil
}

// quietChecksums keeps the SDK from logging, at every GET of an object uploaded in parts, that
// it could not check the object's checksum (S3 has one per part, not for the whole object).
func quietChecksums(o *s3.Options) {
	o.DisableLogOutputChecksumValidationSkipped = true
}

// ReadAt reads len(p) bytes at off with a GET of its own, leaving the position and the open
// GET of Read alone. Fewer bytes come with io.EOF when the object ends first.
func (r *readFile) ReadAt(p []byte, off int64) (int, error) {
	switch {
	case r.closed:
		return 0, r.err("read", os.ErrClosed)
	case off < 0:
		return 0, r.err("read", errNegativeSeek)
	case off >= r.info.size:
		return 0, io.EOF
	case len(p) == 0:
		return 0, nil
	}

	want := min(int64(len(p)), r.info.size-off)

	body, err := r.get(r.ctx, off, off+want-1)
	if err != nil {
		return 0, err
	}

	defer body.Close()

	n, err := io.ReadFull(body, p[:want])
	if err != nil {
		return n, pathError("read", r.name, err)
	}

	if want < int64(len(p)) {
		return n, io.EOF
	}

	return n, nil
}

// Seek sets the position of the next Read; nothing is sent until then.
func (r *readFile) Seek(offset int64, whence int) (int64, error) {
	if r.closed {
		return 0, r.err("seek", os.ErrClosed)
	}

	var pos int64

	switch whence {
	case io.SeekStart:
		pos = offset
	case io.SeekCurrent:
		pos = r.pos + offset
	case io.SeekEnd:
		pos = r.info.size + offset
	default:
		return 0, r.err("seek", errBadWhence)
	}

	if pos < 0 {
		return 0, r.err("seek", errNegativeSeek)
	}

	r.pos = pos

	return pos, nil
}

// Stat describes the object as it was when opened.
func (r *readFile) Stat() (os.FileInfo, error) {
	return r.info, nil
}

// Close ends the open GET, if any.
func (r *readFile) Close() error {
	if r.closed {
		return r.err("close", os.ErrClosed)
	}

	r.closed = true
	r.closeBody()
	r.cancel()

	return nil
}

// closeBody drops the open GET. Closing the body of a GET not read to its end makes the SDK's
// HTTP client close the connection rather than read the rest.
func (r *readFile) closeBody() {
	if r.body != nil {
		_ = r.body.Close()
		r.body = nil
	}
}

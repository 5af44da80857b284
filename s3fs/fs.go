// Package s3fs is an afero.Fs on S3-compatible object storage (AWS S3, MinIO, Ceph RGW,
// versitygw...), for serving a bucket with ftpserver. It lives beside the server, not in it: a
// program that does not import it does not link the AWS SDK.
//
// Objects map to files by their keys: "/dir/file.txt" is the key "dir/file.txt" (after
// Options.Prefix). Directories are key prefixes ending in "/"; Mkdir stores an empty marker
// object "dir/" so that an empty directory exists, and any object under "dir/" makes "dir"
// exist too, marker or not, as S3 consoles show them. The root always exists.
//
// What S3 cannot do is refused with an error wrapping fs.ErrPermission (ErrNotSupported), which
// ftpserver answers with 550: writing into an object other than at its end (WriteAt, Truncate,
// a write at 0 over an object without O_TRUNC), opening for reading and writing at once, Chown,
// Chtimes (and so MFMT), and Chmod unless Options.IgnoreChmod. Renaming is a copy and a delete;
// a directory is renamed only when it holds at most Options.MaxDirRenameObjects objects.
//
// Uploads stream: a file opened for writing drives a multipart upload of its own, in parts of
// PartSize sent Concurrency at a time, so an upload holds about (Concurrency + 2) × PartSize
// bytes whatever the size of the file; a file smaller than a part is a single PUT. The object
// appears only when Close completes the upload. Downloads are ranged GETs, so REST and Seek
// cost nothing until the next Read.
//
// # Resuming uploads
//
// An upload that ends without completing (TransferError, as ftpserver calls for an abort, a
// reset or a timeout; a failed part; a process that dies) keeps the parts S3 received: its
// multipart upload stays incomplete, and any Fs on the bucket, in this process or another,
// continues it. Nothing is kept in memory or on disk. The file's resumable size is the total of
// the upload's leading parts; a full part is sent only once a byte after it has come, so a
// broken upload never holds the whole file, and the bytes after its last part are sent again.
// When a name has several incomplete uploads, the newest counts.
//
// What clients see, so that curl -C - (SIZE, then APPE) and lftp's put -c (SIZE, then REST and
// STOR) resume it:
//   - Stat (SIZE, MDTM) of a name with an incomplete upload reports the resumable size and the
//     time the upload started, whether or not an object of that name exists;
//   - OpenFile with O_APPEND (APPE) continues the incomplete upload, and a Truncate or Seek to
//     the resumable size before the first byte (ftpserver's REST before STOR) too; another
//     offset fails with ErrResumeOffset, whose text gives the size;
//   - without an incomplete upload, APPE or REST at the object's size continue the object as on
//     disk: a new upload whose first parts are server-side copies of it (UploadPartCopy), or,
//     for an object under 5 MiB (too small for a part other than the last), its bytes read
//     into the first part;
//   - Open (RETR) and Readdir (LIST, MLSD) show only completed objects: the old object, if
//     any, until the upload completes. With Options.ListIncompleteUploads, Readdir also shows
//     each name that has an incomplete upload and no object, as Stat describes it, so that
//     clients that decide from a listing (lftp's mirror -R --continue) resume it too; Open and
//     OpenDownload of such a name fail with ErrUploadIncomplete;
//   - O_TRUNC (STOR without REST) starts anew and aborts the name's incomplete uploads, and
//     Remove (DELE) removes both the object and the incomplete uploads.
//
// Completing a resumed upload aborts the name's other incomplete uploads. Servers sharing a
// bucket must use the same PartSize. Incomplete uploads older than
// Options.IncompleteUploadMaxAge are ignored and SweepIncompleteUploads aborts them; S3's
// lifecycle rule AbortIncompleteMultipartUpload does the same on the bucket's side.
package s3fs

import (
	"context"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/spf13/afero"
)

// Defaults of Options.
const (
	// DefaultPartSize is the part size of uploads: an object can have 10,000 parts, so uploads
	// are limited to about 78 GiB with it.
	DefaultPartSize = 8 << 20
	// DefaultConcurrency is the number of parts of one upload sent at once.
	DefaultConcurrency = 2
	// DefaultMaxKeys is the number of entries a directory listing asks for per request, the
	// most S3 returns.
	DefaultMaxKeys = 1000
	// DefaultMaxDirRenameObjects is how many objects a directory may hold and still be renamed.
	DefaultMaxDirRenameObjects = 1000
	// DefaultRequestTimeout bounds each metadata request (HEAD, LIST, PUT of a marker, COPY,
	// DELETE); streamed reads and uploads have no overall limit.
	DefaultRequestTimeout = time.Minute
)

// maxUploadParts is S3's limit on the parts of a multipart upload.
const maxUploadParts = 10_000

// maxCopyObjectSize is the largest object CopyObject copies in one request (5 GiB); larger ones
// are copied part by part.
const maxCopyObjectSize = 5 << 30

// copyPartSize is the size of the parts of a multipart copy.
const copyPartSize = 512 << 20

// Options tunes an Fs. The zero value gives the defaults.
type Options struct {
	// Prefix is prepended to every key, so the Fs serves only the "folder" Prefix of the bucket
	// (one per user, say). A trailing "/" is added when missing. Empty: the whole bucket.
	Prefix string

	// PartSize is the size of the parts of multipart uploads, at least 5 MiB (S3's minimum);
	// 0 means DefaultPartSize. Files up to 10,000 × PartSize can be uploaded; a larger upload
	// fails with an error wrapping ftpserver.ErrStorageExceeded (552).
	PartSize int64

	// Concurrency is the number of parts of one upload sent at once; 0 means
	// DefaultConcurrency. An upload holds about (Concurrency + 2) × PartSize bytes of memory.
	Concurrency int

	// MaxKeys is the number of entries each listing request asks for; 0 means DefaultMaxKeys.
	// Lowering it only makes listings take more requests (tests use it to cross pages).
	MaxKeys int32

	// MaxDirRenameObjects is the most objects a directory may hold (at any depth) to be renamed,
	// which copies each one; 0 means DefaultMaxDirRenameObjects, a negative value refuses every
	// directory rename (ErrNotSupported).
	MaxDirRenameObjects int

	// IgnoreChmod makes Chmod succeed without doing anything, for clients that set modes after
	// every upload (lftp's mirror -R, for one). Without it Chmod fails with ErrNotSupported.
	IgnoreChmod bool

	// RequestTimeout bounds each metadata request; 0 means DefaultRequestTimeout.
	RequestTimeout time.Duration

	// IncompleteUploadMaxAge is how long an incomplete upload (see the package documentation)
	// may be resumed after it was started: SweepIncompleteUploads aborts older ones, and a
	// resume does not see them. 0 keeps incomplete uploads until an S3 lifecycle rule or a
	// completed upload of the same file ends them.
	IncompleteUploadMaxAge time.Duration

	// ListIncompleteUploads makes directory listings (Readdir: LIST, NLST, MLSD, STAT of a
	// directory) show each name of the directory that has an incomplete upload and no object,
	// as a file of its resumable size started when the upload was, so that clients which decide
	// from a listing (lftp's mirror --continue) resume it. It costs a listing one more request
	// (ListMultipartUploads of the directory) per page of incomplete uploads, and two per name
	// shown that way (those of Stat). Off, listings show objects only.
	ListIncompleteUploads bool
}

// Fs is an afero.Fs on one bucket. It is safe for concurrent use, and several Fs (in one
// process or in several) may share a bucket: every call asks S3, nothing is cached.
type Fs struct {
	client *s3.Client
	bucket string
	prefix string
	opts   Options

	buffers sync.Pool // of part buffers, *[]byte of capacity PartSize

	// Thresholds of the multipart copy, fields so that tests can lower them.
	copyThreshold int64
	copyPartSize  int64
}

var _ afero.Fs = (*Fs)(nil)

// New returns an Fs on bucket through client. It sends no request: a missing bucket or wrong
// credentials show at the first call (or at CheckBucket).
func New(client *s3.Client, bucket string, opts Options) *Fs {
	opts = opts.withDefaults()

	prefix := strings.TrimLeft(opts.Prefix, "/")
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}

	return &Fs{
		client:        client,
		bucket:        bucket,
		prefix:        prefix,
		opts:          opts,
		copyThreshold: maxCopyObjectSize,
		copyPartSize:  copyPartSize,
	}
}

// withDefaults fills the zero fields of o.
func (o Options) withDefaults() Options {
	if o.PartSize <= 0 {
		o.PartSize = DefaultPartSize
	}

	o.PartSize = max(o.PartSize, minPartSize)

	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}

	if o.MaxKeys <= 0 {
		o.MaxKeys = DefaultMaxKeys
	}

	if o.MaxDirRenameObjects == 0 {
		o.MaxDirRenameObjects = DefaultMaxDirRenameObjects
	}

	if o.RequestTimeout <= 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}

	return o
}

// Sub returns an Fs on the directory dir of f, seen as its root: its keys are f's under
// dir's prefix, and no name it is given gets above dir. It shares f's client and options, and
// sends no request. A program serving several users from one bucket gives each a Sub of their
// home rather than a path prefix over f (afero's BasePathFs, say), whose files hide f's: the
// server could then not tell an upload that broke (TransferError) from one that ended, and
// would complete it instead of keeping its parts for a resume.
func (f *Fs) Sub(dir string) *Fs {
	opts := f.opts
	opts.Prefix = f.dirPrefix(clean(dir))

	sub := New(f.client, f.bucket, opts)
	sub.copyThreshold, sub.copyPartSize = f.copyThreshold, f.copyPartSize

	return sub
}

// Name returns "s3fs".
func (*Fs) Name() string { return "s3fs" }

// CheckBucket asks S3 whether the bucket exists and the credentials may use it, so that a
// program can refuse to start rather than fail at the first client. Its error is mapped like
// every other (fs.ErrNotExist for a missing bucket, fs.ErrPermission for refused credentials).
func (f *Fs) CheckBucket(ctx context.Context) error {
	_, err := f.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(f.bucket)})

	return pathError("check bucket", f.bucket, err)
}

// clean turns a name into the path of a file relative to the root: "" for the root, else
// slash-separated with no leading, trailing or doubled "/" and no dot elements. A name cannot
// get above the root.
func clean(name string) string {
	return strings.TrimPrefix(path.Clean("/"+name), "/")
}

// objectKey is the key of the object of the file rel.
func (f *Fs) objectKey(rel string) string {
	return f.prefix + rel
}

// dirPrefix is the key prefix of the entries of the directory rel, which is also the key of its
// marker object.
func (f *Fs) dirPrefix(rel string) string {
	if rel == "" {
		return f.prefix
	}

	return f.prefix + rel + "/"
}

// parent is the directory holding rel ("" for the root's children).
func parent(rel string) string {
	dir := path.Dir(rel)
	if dir == "." {
		return ""
	}

	return dir
}

// partBuffer returns an empty buffer of PartSize bytes for a part.
func (f *Fs) partBuffer() []byte {
	if buf, ok := f.buffers.Get().(*[]byte); ok {
		return (*buf)[:0]
	}

	return make([]byte, 0, f.opts.PartSize)
}

// releaseBuffer gives buf back for another part; nil is ignored.
func (f *Fs) releaseBuffer(buf []byte) {
	if int64(cap(buf)) == f.opts.PartSize {
		f.buffers.Put(&buf)
	}
}

// context returns the context of one metadata request.
func (f *Fs) context() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), f.opts.RequestTimeout)
}

// dirMode and fileMode are the modes Stat reports: S3 has none.
const (
	dirMode  = os.ModeDir | 0o755
	fileMode = 0o644
)

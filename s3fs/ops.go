package s3fs

import (
	"context"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/spf13/afero"
)

// Create opens name for writing, as OpenFile(name, O_WRONLY|O_CREATE|O_TRUNC). Unlike os.Create
// the file cannot be read back before it is closed.
func (f *Fs) Create(name string) (afero.File, error) {
	return f.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fileMode)
}

// Open opens a file or a directory for reading.
func (f *Fs) Open(name string) (afero.File, error) {
	return f.OpenFile(name, os.O_RDONLY, 0)
}

// OpenFile opens name for reading (os.O_RDONLY: an object or a directory) or for writing
// (os.O_WRONLY, or os.O_RDWR, which is taken as write-only: an upload cannot be read back).
//
// A file opened for writing replaces the object when it is closed. With os.O_TRUNC it starts
// empty, and the incomplete uploads of the name are aborted (as truncating a file on disk drops
// what a broken upload left in it). With os.O_APPEND it continues what the name holds: its
// incomplete upload if it has one, else its object (copied on the server's side into the new
// upload), as APPE does. With neither, the first Truncate or Seek says where it starts, which
// must be the file's resumable size (REST before STOR; see Stat), and a first Write starts at
// 0, which only a name holding nothing allows (ErrNotSupported otherwise). os.O_EXCL on an
// existing object fails with fs.ErrExist. The parent directory must exist. perm is ignored: S3
// keeps no modes. A file opened for writing must be closed: until then its part buffers stay
// held.
func (f *Fs) OpenFile(name string, flag int, _ os.FileMode) (afero.File, error) {
	rel := clean(name)

	if flag&(os.O_WRONLY|os.O_RDWR) != 0 {
		return f.openWrite(name, rel, flag)
	}

	return f.openRead(name, rel)
}

// openRead opens the object rel, or else the directory rel.
func (f *Fs) openRead(name, rel string) (afero.File, error) {
	if rel == "" {
		return f.newDirFile(name, rel), nil
	}

	ctx, cancel := f.context()
	defer cancel()

	head, err := f.head(ctx, rel)
	if err == nil {
		return f.newReadFile(name, rel, head), nil
	}

	if !isNotExist(err) {
		return nil, pathError("open", name, err)
	}

	// The directory's first page tells whether it exists, and is the listing's first page.
	dir := f.newDirFile(name, rel)

	page := dir.fetchPage(ctx, nil)
	if page.err != nil {
		return nil, pathError("open", name, page.err)
	}

	if !page.found {
		return nil, f.incompleteOpenError(name, rel, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist})
	}

	if err := dir.take(page); err != nil {
		return nil, pathError("open", name, err)
	}

	return dir, nil
}

// openWrite checks that rel may be written with flag and starts its upload.
func (f *Fs) openWrite(name, rel string, flag int) (afero.File, error) {
	if rel == "" {
		return nil, &fs.PathError{Op: "open", Path: name, Err: errIsDirectory}
	}

	ctx, cancel := f.context()
	defer cancel()

	if writeFlagsReplace(flag) {
		if err := f.replaceTarget(ctx, rel); err != nil {
			return nil, pathError("open", name, err)
		}

		return f.newWriteFile(name, rel), nil
	}

	w := f.newWriteFile(name, rel)

	flag, err := w.findIncomplete(ctx, flag)
	if err != nil {
		return nil, err
	}

	object, err := f.writeTarget(ctx, rel, flag)
	if err != nil {
		return nil, pathError("open", name, err)
	}

	if flag&os.O_TRUNC != 0 {
		if _, abortErr := f.abortUploads(ctx, rel, ""); abortErr != nil {
			return nil, pathError("open", name, abortErr)
		}

		return w, nil
	}

	w.object = object

	if flag&os.O_APPEND != 0 {
		offset := w.objectSize()
		if w.existing != nil {
			offset = w.existing.size
		}

		if err := w.startAt(offset); err != nil {
			return nil, err
		}
	}

	return w, nil
}

// findIncomplete, for a file opened without os.O_TRUNC, finds the name's incomplete upload,
// which makes the file exist as Stat says, and returns flag with os.O_CREATE when there is one.
func (w *writeFile) findIncomplete(ctx context.Context, flag int) (int, error) {
	if flag&os.O_TRUNC != 0 {
		return flag, nil
	}

	existing, err := w.fs.newestUpload(ctx, w.rel)

	switch {
	case err != nil:
		return flag, pathError("open", w.name, err)
	case existing != nil && flag&os.O_CREATE != 0 && flag&os.O_EXCL != 0:
		return flag, &fs.PathError{Op: "open", Path: w.name, Err: fs.ErrExist}
	case existing != nil:
		w.existing = existing
		flag |= os.O_CREATE
	}

	return flag, nil
}

// writeTarget checks that rel may be opened for writing with flag and returns its object, nil
// for a new file.
func (f *Fs) writeTarget(ctx context.Context, rel string, flag int) (*sourceObject, error) {
	head, err := f.head(ctx, rel)

	switch {
	case err == nil && flag&os.O_CREATE != 0 && flag&os.O_EXCL != 0:
		return nil, fs.ErrExist
	case err == nil:
		return &sourceObject{
			key: f.objectKey(rel), size: aws.ToInt64(head.ContentLength), etag: aws.ToString(head.ETag),
		}, nil
	case !isNotExist(err):
		return nil, err
	case flag&os.O_CREATE == 0:
		return nil, fs.ErrNotExist
	}

	// A new file: not over a directory, and in one.
	return nil, f.newTarget(ctx, rel)
}

// Stat describes a file or a directory. The root always exists.
//
// A name with an incomplete upload (one that broke and can be resumed, see the package
// documentation) is a file whose size is the upload's resumable size and whose modification
// time is when the upload started, whether or not an object of that name exists: the size
// SIZE answers, and the offset from which APPE and REST before STOR continue the upload. Else
// a name is the object of that key (HeadObject), else a directory (a listing of its prefix).
// A name that is neither gets a second HeadObject, sent after the listing of uploads, which
// sees an upload another Fs completed meanwhile.
func (f *Fs) Stat(name string) (os.FileInfo, error) {
	ctx, cancel := f.context()
	defer cancel()

	rel := clean(name)
	if rel == "" {
		return newDirInfo(rel), nil
	}

	var (
		upload  *incompleteUpload
		head    *s3.HeadObjectOutput
		headErr error
	)

	// The uploads and the object are asked for at once; the HEAD's answer waits for them.
	err := parallel(
		func() (err error) {
			upload, err = f.newestUpload(ctx, rel)

			return err
		},
		func() error {
			head, headErr = f.head(ctx, rel)

			return nil
		},
	)
	if err != nil {
		return nil, pathError("stat", name, err)
	}

	if upload != nil {
		return fileInfo{name: baseName(rel), size: upload.size, modTime: upload.initiated}, nil
	}

	info, err := f.statWith(ctx, rel, head, headErr)
	if isNotExist(err) {
		// An upload completed by another Fs between the two requests leaves neither: the HEAD
		// came before its object, the listing after its upload. A HEAD sent now, after the
		// listing, sees the object. It costs one request for a name that does not exist.
		if head, headErr = f.head(ctx, rel); headErr == nil {
			return objectInfo(rel, head), nil
		}
	}

	if err != nil {
		return nil, pathError("stat", name, err)
	}

	return info, nil
}

// stat describes rel: an object by that key, else a directory with that prefix, else an error
// wrapping fs.ErrNotExist.
func (f *Fs) stat(ctx context.Context, rel string) (fileInfo, error) {
	if rel == "" {
		return newDirInfo(rel), nil
	}

	head, err := f.head(ctx, rel)

	return f.statWith(ctx, rel, head, err)
}

// checkDir returns nil when rel is a directory.
func (f *Fs) checkDir(ctx context.Context, rel string) error {
	info, err := f.stat(ctx, rel)
	if err == nil && !info.IsDir() {
		return errNotDirectory
	}

	return err
}

// head sends a HeadObject for rel.
func (f *Fs) head(ctx context.Context, rel string) (*s3.HeadObjectOutput, error) {
	//nolint:wrapcheck // the callers classify and wrap it
	return f.client.HeadObject(ctx, &s3.HeadObjectInput{
		Bucket: aws.String(f.bucket),
		Key:    aws.String(f.objectKey(rel)),
	})
}

// dirExists tells whether any object has a key under the directory rel (its marker counts).
func (f *Fs) dirExists(ctx context.Context, rel string) (bool, error) {
	if rel == "" {
		return true, nil
	}

	out, err := f.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
		Bucket:  aws.String(f.bucket),
		Prefix:  aws.String(f.dirPrefix(rel)),
		MaxKeys: aws.Int32(1),
	})
	if err != nil {
		return false, err //nolint:wrapcheck // the callers classify and wrap it
	}

	return len(out.Contents) > 0, nil
}

// Mkdir creates the directory name by storing its marker, an empty object "name/". The parent
// must exist and name must not.
func (f *Fs) Mkdir(name string, _ os.FileMode) error {
	rel := clean(name)
	if rel == "" {
		return &fs.PathError{Op: "mkdir", Path: name, Err: fs.ErrExist}
	}

	ctx, cancel := f.context()
	defer cancel()

	_, err := f.stat(ctx, rel)

	switch {
	case err == nil:
		return &fs.PathError{Op: "mkdir", Path: name, Err: fs.ErrExist}
	case !isNotExist(err):
		return pathError("mkdir", name, err)
	}

	if err := f.checkDir(ctx, parent(rel)); err != nil {
		return pathError("mkdir", name, err)
	}

	return pathError("mkdir", name, f.putMarker(ctx, rel))
}

// MkdirAll creates name and the missing directories above it; existing ones are kept.
func (f *Fs) MkdirAll(name string, _ os.FileMode) error {
	rel := clean(name)
	if rel == "" {
		return nil
	}

	ctx, cancel := f.context()
	defer cancel()

	elements := strings.Split(rel, "/")
	for i := range elements {
		dir := strings.Join(elements[:i+1], "/")

		info, err := f.stat(ctx, dir)

		switch {
		case err == nil && info.IsDir():
			continue
		case err == nil:
			return &fs.PathError{Op: "mkdir", Path: name, Err: errNotDirectory}
		case !isNotExist(err):
			return pathError("mkdir", name, err)
		}

		if err := f.putMarker(ctx, dir); err != nil {
			return pathError("mkdir", name, err)
		}
	}

	return nil
}

// putMarker stores the empty object "rel/" that makes an empty directory exist.
func (f *Fs) putMarker(ctx context.Context, rel string) error {
	_, err := f.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(f.bucket),
		Key:           aws.String(f.dirPrefix(rel)),
		Body:          strings.NewReader(""),
		ContentLength: aws.Int64(0),
		ContentType:   aws.String("application/x-directory"),
	})

	return err //nolint:wrapcheck // the callers classify and wrap it
}

// Remove deletes a file, with its incomplete uploads (a name that has only those is a file
// too, see Stat), or an empty directory (ErrDirectoryNotEmpty otherwise). A directory
// left empty keeps existing: when the last object under it goes, its marker is stored.
func (f *Fs) Remove(name string) error {
	rel := clean(name)
	if rel == "" {
		return &fs.PathError{Op: "remove", Path: name, Err: fs.ErrPermission}
	}

	ctx, cancel := f.context()
	defer cancel()

	_, err := f.head(ctx, rel)

	switch {
	case err == nil:
		if err = f.deleteObject(ctx, f.objectKey(rel)); err == nil {
			_, err = f.abortUploads(ctx, rel, "")
		}
	case isNotExist(err):
		var aborted int
		if aborted, err = f.abortUploads(ctx, rel, ""); err == nil && aborted == 0 {
			err = f.removeDir(ctx, rel)
		}
	}

	if err != nil {
		return pathError("remove", name, err)
	}

	f.keepDir(ctx, parent(rel))

	return nil
}

// removeDir deletes the marker of the directory rel, which must hold nothing else.
func (f *Fs) removeDir(ctx context.Context, rel string) error {
	prefix := f.dirPrefix(rel)

	// Keys sort after their prefix: the marker, if any, comes first; two keys are enough.
	out, err := f.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
		Bucket:  aws.String(f.bucket),
		Prefix:  aws.String(prefix),
		MaxKeys: aws.Int32(2),
	})
	if err != nil {
		return err //nolint:wrapcheck // the caller classifies and wraps it
	}

	for _, object := range out.Contents {
		if aws.ToString(object.Key) != prefix {
			return ErrDirectoryNotEmpty
		}
	}

	if len(out.Contents) == 0 {
		return fs.ErrNotExist
	}

	return f.deleteObject(ctx, prefix)
}

// keepDir stores the marker of the directory rel if nothing is left under it, so that deleting
// the last file of a directory that had no marker (made by another S3 client) does not make
// the directory vanish under a client's working directory. It is best effort: a failure only
// leaves the directory to disappear.
func (f *Fs) keepDir(ctx context.Context, rel string) {
	if rel == "" {
		return
	}

	if exists, err := f.dirExists(ctx, rel); err == nil && !exists {
		_ = f.putMarker(ctx, rel)
	}
}

// deleteObject deletes one key.
func (f *Fs) deleteObject(ctx context.Context, key string) error {
	_, err := f.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(f.bucket), Key: aws.String(key)})

	return err //nolint:wrapcheck // the callers classify and wrap it
}

// RemoveAll deletes name and, for a directory, everything under it, a page of keys at a time
// (DeleteObjects); a missing name is no error. The root cannot be removed this way.
func (f *Fs) RemoveAll(name string) error {
	rel := clean(name)
	if rel == "" {
		return &fs.PathError{Op: "removeall", Path: name, Err: fs.ErrPermission}
	}

	ctx, cancel := f.context()
	defer cancel()

	if err := f.deleteTree(ctx, f.dirPrefix(rel)); err != nil {
		return pathError("removeall", name, err)
	}

	if err := f.deleteObject(ctx, f.objectKey(rel)); err != nil && !isNotExist(err) {
		return pathError("removeall", name, err)
	}

	f.keepDir(ctx, parent(rel))

	return nil
}

// deleteTree deletes every key starting with prefix. Each round lists the first page left and
// deletes it, so no continuation token can go stale.
func (f *Fs) deleteTree(ctx context.Context, prefix string) error {
	for {
		out, err := f.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
			Bucket:  aws.String(f.bucket),
			Prefix:  aws.String(prefix),
			MaxKeys: aws.Int32(f.opts.MaxKeys),
		})
		if err != nil {
			return err //nolint:wrapcheck // the caller classifies and wraps it
		}

		if len(out.Contents) == 0 {
			return nil
		}

		keys := make([]string, len(out.Contents))
		for i, object := range out.Contents {
			keys[i] = aws.ToString(object.Key)
		}

		if err := f.deleteObjects(ctx, keys); err != nil {
			return err
		}
	}
}

// deleteObjects deletes up to 1,000 keys in one request.
func (f *Fs) deleteObjects(ctx context.Context, keys []string) error {
	objects := make([]types.ObjectIdentifier, len(keys))
	for i, key := range keys {
		objects[i] = types.ObjectIdentifier{Key: aws.String(key)}
	}

	out, err := f.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
		Bucket: aws.String(f.bucket),
		Delete: &types.Delete{Objects: objects, Quiet: aws.Bool(true)},
	})
	if err != nil {
		return err //nolint:wrapcheck // the caller classifies and wraps it
	}

	for _, failed := range out.Errors {
		if code := aws.ToString(failed.Code); code != "NoSuchKey" {
			return &deleteError{key: aws.ToString(failed.Key), code: code, message: aws.ToString(failed.Message)}
		}
	}

	return nil
}

// Chmod fails with ErrNotSupported: S3 keeps no modes. With Options.IgnoreChmod it succeeds for
// an existing file without doing anything.
func (f *Fs) Chmod(name string, _ os.FileMode) error {
	if !f.opts.IgnoreChmod {
		return &fs.PathError{Op: "chmod", Path: name, Err: ErrNotSupported}
	}

	_, err := f.Stat(name)

	return err
}

// Chown fails with ErrNotSupported: S3 keeps no owners.
func (*Fs) Chown(name string, _, _ int) error {
	return &fs.PathError{Op: "chown", Path: name, Err: ErrNotSupported}
}

// Chtimes fails with ErrNotSupported: S3 sets an object's time when it is stored, and MFMT
// answers 550.
func (*Fs) Chtimes(name string, _, _ time.Time) error {
	return &fs.PathError{Op: "chtimes", Path: name, Err: ErrNotSupported}
}

// orError returns err, or fallback when err is nil.
func orError(err, fallback error) error {
	if err != nil {
		return err
	}

	return fallback
}

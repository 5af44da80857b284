package s3fs

import (
	"context"
	"io/fs"
	"os"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// parallel runs each of fns in a goroutine of its own, waits for them all and returns the first
// error in the order of fns, so that checks that do not depend on each other cost one round
// trip to S3 rather than one each.
func parallel(fns ...func() error) error {
	errs := make([]error, len(fns))

	var wg sync.WaitGroup

	for i, fn := range fns {
		wg.Go(func() { errs[i] = fn() })
	}

	wg.Wait()

	for _, err := range errs {
		if err != nil {
			return err
		}
	}

	return nil
}

// replaceTarget checks that rel may be replaced by a new file (os.O_CREATE|os.O_TRUNC without
// os.O_EXCL: whether an object of that name exists does not matter) and aborts the name's
// incomplete uploads, as truncating a file drops what a broken upload left in it. The checks
// run at once: rel must not be a directory, its parent must be one, and the uploads of the key
// are listed. A new file in an existing directory costs three requests sent together, and an
// abort only when an incomplete upload was found.
func (f *Fs) replaceTarget(ctx context.Context, rel string) error {
	var uploads []types.MultipartUpload

	err := parallel(
		func() error { return f.checkNotDir(ctx, rel) },
		func() error { return f.checkParent(ctx, parent(rel)) },
		func() (err error) {
			uploads, err = f.keyUploads(ctx, f.objectKey(rel))

			return err
		},
	)
	if err != nil {
		return err
	}

	_, err = f.abortListed(ctx, f.objectKey(rel), uploads, "")

	return err
}

// newTarget checks that the missing name rel may become a new file: it is not a directory, and
// its parent is one. Both checks run at once.
func (f *Fs) newTarget(ctx context.Context, rel string) error {
	return parallel(
		func() error { return f.checkNotDir(ctx, rel) },
		func() error { return f.checkParent(ctx, parent(rel)) },
	)
}

// checkNotDir returns errIsDirectory when rel is a directory and not a file: keys exist under
// "rel/" and no object is named rel (a name that is both is a file, as Stat says).
func (f *Fs) checkNotDir(ctx context.Context, rel string) error {
	isDir, err := f.dirExists(ctx, rel)
	if err != nil || !isDir {
		return err
	}

	_, err = f.head(ctx, rel)

	switch {
	case err == nil:
		return nil
	case isNotExist(err):
		return errIsDirectory
	default:
		return err
	}
}

// checkParent returns nil when the directory rel exists, fs.ErrNotExist when nothing is named
// rel, and errNotDirectory when rel is a file. Its marker is asked for first (a HEAD, cheaper
// for S3 than a listing); only a directory without one (made by another S3 client) or a
// missing one costs more requests.
func (f *Fs) checkParent(ctx context.Context, rel string) error {
	if rel == "" {
		return nil
	}

	_, err := f.client.HeadObject(ctx, &s3.HeadObjectInput{
		Bucket: aws.String(f.bucket),
		Key:    aws.String(f.dirPrefix(rel)),
	})

	switch {
	case err == nil:
		return nil
	case !isNotExist(err):
		return err //nolint:wrapcheck // the callers classify and wrap it
	}

	return f.checkDir(ctx, rel)
}

// writeFlagsReplace tells whether flag replaces whatever the name holds without looking at it:
// a new file that may exist already (STOR without REST).
func writeFlagsReplace(flag int) bool {
	return flag&os.O_CREATE != 0 && flag&os.O_TRUNC != 0 && flag&os.O_EXCL == 0
}

// statWith describes rel from the answer to its HeadObject (head or headErr): the object, else
// the directory with that prefix, else an error wrapping fs.ErrNotExist.
func (f *Fs) statWith(ctx context.Context, rel string, head *s3.HeadObjectOutput, headErr error) (fileInfo, error) {
	if headErr == nil {
		return objectInfo(rel, head), nil
	}

	if !isNotExist(headErr) {
		return fileInfo{}, headErr
	}

	exists, err := f.dirExists(ctx, rel)

	switch {
	case err != nil:
		return fileInfo{}, err
	case !exists:
		return fileInfo{}, fs.ErrNotExist
	default:
		return newDirInfo(rel), nil
	}
}

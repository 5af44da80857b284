package s3fs

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// sourceObject is an object to copy: its key, size and ETag.
type sourceObject struct {
	key  string
	size int64
	etag string
}

// Rename moves a file or a directory; S3 has no rename, so it copies on the server side, then
// deletes the source.
//
// A file is copied with CopyObject (part by part with UploadPartCopy above 5 GiB) and replaces
// a file at newname, as os.Rename does. A directory is renamed only if it holds at most
// Options.MaxDirRenameObjects objects (at any depth; ErrNotSupported otherwise): each is copied,
// then all are deleted, so a failed copy deletes the copies already made and leaves the source
// whole; newname must not exist (fs.ErrExist). Neither is atomic: another client may see both
// names for a while.
func (f *Fs) Rename(oldname, newname string) error {
	from, to := clean(oldname), clean(newname)

	linkError := func(err error) error {
		if err == nil {
			return nil
		}

		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: classify(err)}
	}

	if from == "" || to == "" {
		return linkError(errRenameRoot)
	}

	ctx, cancel := f.context()
	head, err := f.head(ctx, from)

	cancel()

	switch {
	case err == nil:
		source := sourceObject{
			key: f.objectKey(from), size: aws.ToInt64(head.ContentLength), etag: aws.ToString(head.ETag),
		}

		return linkError(f.renameFile(source, from, to))
	case isNotExist(err):
		return linkError(f.renameDir(from, to))
	default:
		return linkError(err)
	}
}

// renameFile moves the object source (of the file from) to the file to.
func (f *Fs) renameFile(source sourceObject, from, to string) error {
	if from == to {
		return nil
	}

	ctx, cancel := f.context()
	defer cancel()

	if isDir, err := f.dirExists(ctx, to); err != nil || isDir {
		return orError(err, fs.ErrExist)
	}

	if err := f.checkDir(ctx, parent(to)); err != nil {
		return err
	}

	if err := f.copyObject(source, f.objectKey(to)); err != nil {
		return err
	}

	if err := f.deleteObject(ctx, source.key); err != nil {
		return err
	}

	f.keepDir(ctx, parent(from))

	return nil
}

// renameDir moves the directory from, with everything under it, to to.
func (f *Fs) renameDir(from, to string) error {
	if err := f.checkDirRename(from, to); err != nil || from == to {
		return err
	}

	oldPrefix, newPrefix := f.dirPrefix(from), f.dirPrefix(to)

	sources, err := f.listTree(oldPrefix, f.opts.MaxDirRenameObjects)
	if err != nil {
		return err
	}

	for i, source := range sources {
		err := f.copyObject(source, newPrefix+strings.TrimPrefix(source.key, oldPrefix))
		if err != nil {
			f.deleteCopies(sources[:i], oldPrefix, newPrefix)

			return err
		}
	}

	for start := 0; start < len(sources); start += DefaultMaxKeys {
		keys := make([]string, 0, DefaultMaxKeys)
		for _, source := range sources[start:min(start+DefaultMaxKeys, len(sources))] {
			keys = append(keys, source.key)
		}

		ctx, cancel := f.context()
		err := f.deleteObjects(ctx, keys)

		cancel()

		if err != nil {
			return err
		}
	}

	ctx, cancel := f.context()
	defer cancel()

	f.keepDir(ctx, parent(from))

	return nil
}

// checkDirRename returns nil when the directory from exists and may be renamed to to.
func (f *Fs) checkDirRename(from, to string) error {
	ctx, cancel := f.context()
	defer cancel()

	exists, err := f.dirExists(ctx, from)

	switch {
	case err != nil:
		return err
	case !exists:
		return fs.ErrNotExist
	case f.opts.MaxDirRenameObjects < 0:
		return fmt.Errorf("renaming directories: %w", ErrNotSupported)
	case from == to:
		return nil
	case strings.HasPrefix(to, from+"/"):
		return errRenameInto
	}

	if _, err := f.stat(ctx, to); err == nil || !isNotExist(err) {
		return orError(err, fs.ErrExist)
	}

	return f.checkDir(ctx, parent(to))
}

// listTree returns every object under prefix, failing with ErrNotSupported when there are more
// than limit.
func (f *Fs) listTree(prefix string, limit int) ([]sourceObject, error) {
	var (
		sources []sourceObject
		token   *string
	)

	for {
		ctx, cancel := f.context()
		out, err := f.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
			Bucket:            aws.String(f.bucket),
			Prefix:            aws.String(prefix),
			MaxKeys:           aws.Int32(f.opts.MaxKeys),
			ContinuationToken: token,
		})

		cancel()

		if err != nil {
			return nil, err //nolint:wrapcheck // the caller classifies and wraps it
		}

		for _, object := range out.Contents {
			sources = append(sources, sourceObject{
				key: aws.ToString(object.Key), size: aws.ToInt64(object.Size), etag: aws.ToString(object.ETag),
			})
		}

		if len(sources) > limit {
			return nil, fmt.Errorf("directory holds more than %d objects: %w", limit, ErrNotSupported)
		}

		token = out.NextContinuationToken
		if !aws.ToBool(out.IsTruncated) || token == nil {
			return sources, nil
		}
	}
}

// deleteCopies deletes the copies made of sources, after a failed directory rename. It is best
// effort: what it cannot delete stays under the new name, the source being whole.
func (f *Fs) deleteCopies(sources []sourceObject, oldPrefix, newPrefix string) {
	ctx, cancel := f.context()
	defer cancel()

	for _, source := range sources {
		_ = f.deleteObject(ctx, newPrefix+strings.TrimPrefix(source.key, oldPrefix))
	}
}

// copyObject copies source to the key dst, in one request up to 5 GiB, part by part above. The
// copy is made only if the source still has the ETag it was listed with. A directory marker is
// stored anew rather than copied (some servers, versitygw among them, refuse to copy one).
func (f *Fs) copyObject(source sourceObject, dst string) error {
	if source.size > f.copyThreshold {
		return f.copyMultipart(source, dst)
	}

	ctx, cancel := f.context()
	defer cancel()

	if source.size == 0 && strings.HasSuffix(source.key, "/") {
		return f.putMarker(ctx, strings.TrimSuffix(strings.TrimPrefix(dst, f.prefix), "/"))
	}

	input := &s3.CopyObjectInput{
		Bucket:     aws.String(f.bucket),
		Key:        aws.String(dst),
		CopySource: aws.String(f.copySource(source.key)),
	}

	if source.etag != "" {
		input.CopySourceIfMatch = aws.String(source.etag)
	}

	_, err := f.client.CopyObject(ctx, input)

	return err //nolint:wrapcheck // the caller classifies and wraps it
}

// copyMultipart copies source to dst with UploadPartCopy, copyPartSize at a time, and aborts the
// multipart upload if a part fails.
func (f *Fs) copyMultipart(source sourceObject, dst string) error {
	ctx, cancel := f.context()
	created, err := f.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: aws.String(f.bucket),
		Key:    aws.String(dst),
	})

	cancel()

	if err != nil {
		return err //nolint:wrapcheck // the caller classifies and wraps it
	}

	parts, err := f.copyParts(source, dst, created.UploadId)
	if err == nil {
		ctx, cancel := f.context()
		_, err = f.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
			Bucket:          aws.String(f.bucket),
			Key:             aws.String(dst),
			UploadId:        created.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
		})

		cancel()
	}

	if err != nil {
		ctx, cancel := f.context()
		_, abortErr := f.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
			Bucket:   aws.String(f.bucket),
			Key:      aws.String(dst),
			UploadId: created.UploadId,
		})

		cancel()

		return errors.Join(err, abortErr)
	}

	return nil
}

// copyParts copies the parts of source into the multipart upload uploadID of dst.
func (f *Fs) copyParts(source sourceObject, dst string, uploadID *string) ([]types.CompletedPart, error) {
	parts := make([]types.CompletedPart, 0, (source.size+f.copyPartSize-1)/f.copyPartSize)

	for start := int64(0); start < source.size; start += f.copyPartSize {
		end := min(start+f.copyPartSize, source.size) - 1
		number := aws.Int32(int32(len(parts) + 1)) //nolint:gosec // at most 10,000 parts of 512 MiB for 5 TiB

		input := &s3.UploadPartCopyInput{
			Bucket:          aws.String(f.bucket),
			Key:             aws.String(dst),
			UploadId:        uploadID,
			PartNumber:      number,
			CopySource:      aws.String(f.copySource(source.key)),
			CopySourceRange: aws.String("bytes=" + strconv.FormatInt(start, 10) + "-" + strconv.FormatInt(end, 10)),
		}

		if source.etag != "" {
			input.CopySourceIfMatch = aws.String(source.etag)
		}

		ctx, cancel := f.context()
		out, err := f.client.UploadPartCopy(ctx, input)

		cancel()

		if err != nil {
			return nil, err //nolint:wrapcheck // the caller classifies and wraps it
		}

		parts = append(parts, types.CompletedPart{PartNumber: number, ETag: out.CopyPartResult.ETag})
	}

	return parts, nil
}

// copySource is the x-amz-copy-source of key: "bucket/key", each element URL-encoded.
func (f *Fs) copySource(key string) string {
	elements := strings.Split(key, "/")
	for i, element := range elements {
		elements[i] = url.PathEscape(element)
	}

	return url.PathEscape(f.bucket) + "/" + strings.Join(elements, "/")
}

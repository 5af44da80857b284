package s3fs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// minPartSize is S3's smallest part but the last of a multipart upload (5 MiB).
const minPartSize = 5 << 20

// incompleteUpload is a multipart upload of a file that was started and neither completed nor
// aborted: what a client resumes.
type incompleteUpload struct {
	id        string
	initiated time.Time
	algorithm types.ChecksumAlgorithm // declared at its creation, "" for none

	// parts are the leading parts, numbered 1, 2, ... without a gap, and size their total: the
	// bytes of the file the upload holds. Parts after a gap (sent while an earlier one was
	// lost) are left out: their data is sent again.
	parts []types.CompletedPart
	size  int64
}

// newestUpload finds the incomplete uploads of the key of rel and returns the one initiated
// last with its leading parts, or nil when there is none. Uploads older than
// Options.IncompleteUploadMaxAge are left out: the sweep is about to abort them.
func (f *Fs) newestUpload(ctx context.Context, rel string) (*incompleteUpload, error) {
	uploads, err := f.keyUploads(ctx, f.objectKey(rel))
	if err != nil || len(uploads) == 0 {
		return nil, err
	}

	var newest *types.MultipartUpload

	for i := range uploads {
		upload := &uploads[i]
		if f.expired(aws.ToTime(upload.Initiated)) {
			continue
		}

		if newest == nil || aws.ToTime(upload.Initiated).After(aws.ToTime(newest.Initiated)) {
			newest = upload
		}
	}

	if newest == nil {
		return nil, nil
	}

	found := &incompleteUpload{
		id:        aws.ToString(newest.UploadId),
		initiated: aws.ToTime(newest.Initiated),
		algorithm: newest.ChecksumAlgorithm,
	}

	found.parts, found.size, err = f.leadingParts(ctx, rel, found.id)
	if err != nil {
		return nil, err
	}

	return found, nil
}

// expired tells whether an upload initiated at initiated is older than
// Options.IncompleteUploadMaxAge.
func (f *Fs) expired(initiated time.Time) bool {
	return f.opts.IncompleteUploadMaxAge > 0 && time.Since(initiated) > f.opts.IncompleteUploadMaxAge
}

// keyUploads lists the incomplete multipart uploads of exactly key (those of longer keys that
// start with it are skipped, a page at a time).
func (f *Fs) keyUploads(ctx context.Context, key string) ([]types.MultipartUpload, error) {
	var (
		found               []types.MultipartUpload
		keyMarker, idMarker *string
	)

	for {
		out, err := f.client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{
			Bucket:         aws.String(f.bucket),
			Prefix:         aws.String(key),
			KeyMarker:      keyMarker,
			UploadIdMarker: idMarker,
			MaxUploads:     aws.Int32(f.opts.MaxKeys),
		})
		if err != nil {
			return nil, err //nolint:wrapcheck // the callers classify and wrap it
		}

		// Keys sort after their prefixes: once another key shows, key's uploads are all seen.
		for _, upload := range out.Uploads {
			if aws.ToString(upload.Key) != key {
				return found, nil
			}

			found = append(found, upload)
		}

		if !aws.ToBool(out.IsTruncated) || len(out.Uploads) == 0 {
			return found, nil
		}

		keyMarker, idMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
}

// leadingParts lists the parts of the upload id of rel and returns those numbered from 1 on
// without a gap, with their total size.
func (f *Fs) leadingParts(ctx context.Context, rel, id string) ([]types.CompletedPart, int64, error) {
	var (
		parts  []types.CompletedPart
		size   int64
		marker *string
	)

	for {
		out, err := f.client.ListParts(ctx, &s3.ListPartsInput{
			Bucket:           aws.String(f.bucket),
			Key:              aws.String(f.objectKey(rel)),
			UploadId:         aws.String(id),
			PartNumberMarker: marker,
		})
		if err != nil {
			return nil, 0, err //nolint:wrapcheck // the callers classify and wrap it
		}

		for _, part := range out.Parts {
			if aws.ToInt32(part.PartNumber) != int32(len(parts)+1) { //nolint:gosec // at most 10,000 parts
				return parts, size, nil
			}

			parts = append(parts, completedPart(part.PartNumber, part.ETag, partChecksums{
				part.ChecksumCRC32, part.ChecksumCRC32C, part.ChecksumCRC64NVME, part.ChecksumSHA1, part.ChecksumSHA256,
			}))
			size += aws.ToInt64(part.Size)
		}

		if !aws.ToBool(out.IsTruncated) || len(out.Parts) == 0 {
			return parts, size, nil
		}

		marker = out.NextPartNumberMarker
	}
}

// abortUploads aborts the incomplete uploads of the key of rel, but the one keep ("" for all),
// and tells how many it aborted. An upload that is already gone does not count as a failure.
func (f *Fs) abortUploads(ctx context.Context, rel, keep string) (int, error) {
	key := f.objectKey(rel)

	uploads, err := f.keyUploads(ctx, key)
	if err != nil {
		return 0, err
	}

	return f.abortListed(ctx, key, uploads, keep)
}

// abortListed aborts uploads, the incomplete uploads of key, except the one whose ID is keep,
// and returns how many it aborted.
func (f *Fs) abortListed(ctx context.Context, key string, uploads []types.MultipartUpload, keep string) (int, error) {
	aborted := 0

	var errs []error

	for _, upload := range uploads {
		if aws.ToString(upload.UploadId) == keep {
			continue
		}

		if err := f.abortUpload(ctx, key, aws.ToString(upload.UploadId)); err != nil {
			errs = append(errs, err)

			continue
		}

		aborted++
	}

	return aborted, errors.Join(errs...)
}

// abortUpload aborts the multipart upload id of key, deleting its parts; one already gone is
// no error.
func (f *Fs) abortUpload(ctx context.Context, key, id string) error {
	_, err := f.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket:   aws.String(f.bucket),
		Key:      aws.String(key),
		UploadId: aws.String(id),
	})
	if err != nil && !isNotExist(err) {
		return err //nolint:wrapcheck // the callers classify and wrap it
	}

	return nil
}

// checksumAlgorithm is the checksum new multipart uploads declare, as the SDK's uploader
// does: CRC32, unless the client computes checksums only where S3 requires them.
func (f *Fs) checksumAlgorithm() types.ChecksumAlgorithm {
	if f.client.Options().RequestChecksumCalculation == aws.RequestChecksumCalculationWhenRequired {
		return ""
	}

	return types.ChecksumAlgorithmCrc32
}

// createUpload starts a multipart upload of the key of rel.
func (f *Fs) createUpload(rel string, algorithm types.ChecksumAlgorithm) (string, error) {
	ctx, cancel := f.context()
	defer cancel()

	out, err := f.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket:            aws.String(f.bucket),
		Key:               aws.String(f.objectKey(rel)),
		ChecksumAlgorithm: algorithm,
	})
	if err != nil {
		return "", err //nolint:wrapcheck // the callers classify and wrap it
	}

	return aws.ToString(out.UploadId), nil
}

// copyPrefix starts a multipart upload of rel whose first parts are a server-side copy of the
// object source (at least minPartSize bytes), in parts of copyPartSize (a remainder under
// minPartSize joins the last one, as only the last part of an upload may be that small). A
// failed copy aborts the upload.
//
// The upload declares no checksum algorithm, and its parts are sent without checksums: some
// servers (versitygw among them) record the checksum of the whole source for a copied part,
// which CompleteMultipartUpload then refuses.
func (f *Fs) copyPrefix(rel string, source sourceObject) (*incompleteUpload, error) {
	id, err := f.createUpload(rel, "")
	if err != nil {
		return nil, err
	}

	upload := &incompleteUpload{id: id, initiated: time.Now()}

	for upload.size < source.size {
		end := min(upload.size+f.copyPartSize, source.size)
		if source.size-end < minPartSize {
			end = source.size
		}

		number := int32(len(upload.parts) + 1) //nolint:gosec // at most 10,000 parts

		part, err := f.copyPart(rel, id, source, number, upload.size, end)
		if err != nil {
			ctx, cancel := f.context()
			abortErr := f.abortUpload(ctx, f.objectKey(rel), id)

			cancel()

			return nil, errors.Join(err, abortErr)
		}

		upload.parts = append(upload.parts, part)
		upload.size = end
	}

	return upload, nil
}

// copyPart copies the bytes [start, end) of source into part number of the upload id of rel,
// if source still has the ETag it was seen with.
func (f *Fs) copyPart(
	rel, id string, source sourceObject, number int32, start, end int64,
) (types.CompletedPart, error) {
	ctx, cancel := f.context()
	defer cancel()

	input := &s3.UploadPartCopyInput{
		Bucket:          aws.String(f.bucket),
		Key:             aws.String(f.objectKey(rel)),
		UploadId:        aws.String(id),
		PartNumber:      aws.Int32(number),
		CopySource:      aws.String(f.copySource(source.key)),
		CopySourceRange: aws.String("bytes=" + strconv.FormatInt(start, 10) + "-" + strconv.FormatInt(end-1, 10)),
	}

	if source.etag != "" {
		input.CopySourceIfMatch = aws.String(source.etag)
	}

	out, err := f.client.UploadPartCopy(ctx, input)
	if err != nil {
		return types.CompletedPart{}, err //nolint:wrapcheck // the caller classifies and wraps it
	}

	result := out.CopyPartResult
	if result == nil {
		result = &types.CopyPartResult{}
	}

	return completedPart(aws.Int32(number), result.ETag, partChecksums{
		result.ChecksumCRC32, result.ChecksumCRC32C, result.ChecksumCRC64NVME,
		result.ChecksumSHA1, result.ChecksumSHA256,
	}), nil
}

// partChecksums are the checksums S3 reports of a part, in the order of their fields in
// types.CompletedPart.
type partChecksums struct {
	crc32, crc32c, crc64nvme, sha1, sha256 *string
}

// completedPart describes a part for CompleteMultipartUpload. Checksums S3 reported empty are
// left out: CompleteMultipartUpload refuses an empty one.
func completedPart(number *int32, etag *string, sums partChecksums) types.CompletedPart {
	return types.CompletedPart{
		PartNumber:        number,
		ETag:              etag,
		ChecksumCRC32:     nonEmpty(sums.crc32),
		ChecksumCRC32C:    nonEmpty(sums.crc32c),
		ChecksumCRC64NVME: nonEmpty(sums.crc64nvme),
		ChecksumSHA1:      nonEmpty(sums.sha1),
		ChecksumSHA256:    nonEmpty(sums.sha256),
	}
}

// nonEmpty returns s, or nil for an empty string.
func nonEmpty(s *string) *string {
	if aws.ToString(s) == "" {
		return nil
	}

	return s
}

// readSmallObject reads the whole object source, smaller than a part, into buf (which must
// have room), if it still has the ETag it was seen with.
func (f *Fs) readSmallObject(source sourceObject, buf []byte) ([]byte, error) {
	ctx, cancel := f.context()
	defer cancel()

	input := &s3.GetObjectInput{Bucket: aws.String(f.bucket), Key: aws.String(source.key)}
	if source.etag != "" {
		input.IfMatch = aws.String(source.etag)
	}

	out, err := f.client.GetObject(ctx, input)
	if err != nil {
		return nil, err //nolint:wrapcheck // the caller classifies and wraps it
	}

	defer out.Body.Close()

	n, err := io.ReadFull(out.Body, buf[:source.size])
	if err != nil {
		return nil, fmt.Errorf("reading %d bytes of %s: %w", source.size, source.key, err)
	}

	return buf[:n], nil
}

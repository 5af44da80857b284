package s3fs

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// SweepIncompleteUploads aborts the incomplete multipart uploads under the Fs's prefix that
// were started more than Options.IncompleteUploadMaxAge ago, deleting their parts, and returns
// how many it aborted. With IncompleteUploadMaxAge 0 it does nothing. A program calls it now
// and then (the bundled server does every hour); an S3 lifecycle rule with
// AbortIncompleteMultipartUpload does the same on S3's side. Uploads of every S3 client under
// the prefix count, not only this package's. ctx bounds the whole sweep; an upload that cannot
// be aborted is reported in the error and the others are still swept.
func (f *Fs) SweepIncompleteUploads(ctx context.Context) (int, error) {
	if f.opts.IncompleteUploadMaxAge <= 0 {
		return 0, nil
	}

	var (
		aborted             int
		errs                []error
		keyMarker, idMarker *string
	)

	for {
		out, err := f.client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{
			Bucket:         aws.String(f.bucket),
			Prefix:         aws.String(f.prefix),
			KeyMarker:      keyMarker,
			UploadIdMarker: idMarker,
			MaxUploads:     aws.Int32(f.opts.MaxKeys),
		})
		if err != nil {
			return aborted, errors.Join(append(errs, pathError("sweep", f.prefix, err))...)
		}

		for _, upload := range out.Uploads {
			if !f.expired(aws.ToTime(upload.Initiated)) {
				continue
			}

			key := aws.ToString(upload.Key)
			if err := f.abortUpload(ctx, key, aws.ToString(upload.UploadId)); err != nil {
				errs = append(errs, pathError("abort upload", key, err))

				continue
			}

			aborted++
		}

		if !aws.ToBool(out.IsTruncated) || len(out.Uploads) == 0 {
			return aborted, errors.Join(errs...)
		}

		keyMarker, idMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
}

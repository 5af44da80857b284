package main

import (
	"context"
	"errors"
	"flag"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/ftpkit/ftpserver/s3fs"
)

// defaultS3IncompleteMaxAge is the default of -s3-incomplete-max-age: a week to resume a
// broken upload.
const defaultS3IncompleteMaxAge = 7 * 24 * time.Hour

// s3SweepEvery is the longest time between two sweeps of incomplete uploads.
const s3SweepEvery = time.Hour

// s3SweepTimeout bounds one sweep.
const s3SweepTimeout = 5 * time.Minute

// registerS3ResumeFlags adds the flags of resumable uploads on S3 to flags.
func registerS3ResumeFlags(flags *flag.FlagSet, opts *s3Options) {
	flags.DurationVar(&opts.incompleteMaxAge, "s3-incomplete-max-age", defaultS3IncompleteMaxAge,
		"how long a broken upload to -s3-bucket may be resumed (REST+STOR, APPE) from any server "+
			"of the bucket: older incomplete multipart uploads are aborted, at start and every hour; "+
			"0 keeps them (leave it to a lifecycle rule)")
}

// validateS3Resume checks the flags of registerS3ResumeFlags.
func (o *s3Options) validateS3Resume() error {
	if o.incompleteMaxAge < 0 {
		return errors.New("-s3-incomplete-max-age: negative")
	}

	return nil
}

// startS3Sweep aborts, at once and then every s3SweepEvery (or -s3-incomplete-max-age if
// shorter), the incomplete uploads of fs older than -s3-incomplete-max-age, until the
// returned function is called; it waits for a sweep in progress. Without an S3 file system or
// with -s3-incomplete-max-age 0 it does nothing. Aborted uploads are logged at info level,
// failures as warnings: a sweep that fails is tried again at the next one.
func startS3Sweep(fs any, maxAge time.Duration, logger log.Logger) (stop func()) {
	bucket, ok := bucketOf(fs)
	if !ok || maxAge <= 0 {
		return func() {}
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})

	go func() {
		defer close(done)

		tick := time.NewTicker(min(s3SweepEvery, maxAge))
		defer tick.Stop()

		for {
			sweepS3(ctx, bucket, logger)

			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()

	return func() {
		cancel()
		<-done
	}
}

// sweepS3 runs one sweep of bucket and logs what it did.
func sweepS3(ctx context.Context, bucket *s3fs.Fs, logger log.Logger) {
	ctx, cancel := context.WithTimeout(ctx, s3SweepTimeout)
	defer cancel()

	aborted, err := bucket.SweepIncompleteUploads(ctx)
	if aborted > 0 {
		_ = level.Info(logger).Log("event", "s3_incomplete_uploads_aborted", "count", aborted)
	}

	if err != nil && ctx.Err() == nil {
		_ = level.Warn(logger).Log("event", "s3_sweep_failed", "err", err)
	}
}

package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ftpkit/ftpserver/s3fs"
)

// bufferSize is the size of the read buffer of get and get-small, as bench/ftpload's, and of
// the block that uploads repeat.
const bufferSize = 256 << 10

// get streams one GetObject of the key to its end.
func (c *ceiling) get(ctx context.Context) (string, error) {
	buf := make([]byte, bufferSize)
	start := time.Now()

	n, err := c.fetch(ctx, c.opts.key, buf)
	if err != nil {
		return "", err
	}

	return megabytesPerSecond(n, time.Since(start)), nil
}

// fetch reads object key to its end into buf, and checks its size.
func (c *ceiling) fetch(ctx context.Context, key string, buf []byte) (int64, error) {
	out, err := c.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &c.opts.bucket, Key: aws.String(key)},
		quietChecksums)
	if err != nil {
		return 0, fmt.Errorf("GetObject %s: %w", key, err)
	}
	defer out.Body.Close()

	n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{out.Body}, buf)
	if err != nil {
		return n, fmt.Errorf("reading %s: %w", key, err)
	}

	if n != c.opts.size {
		return n, fmt.Errorf("%w: %s: %d bytes, not %d", errCount, key, n, c.opts.size)
	}

	return n, nil
}

// quietChecksums keeps the SDK from logging that it cannot check the checksum of an object
// uploaded in parts, as s3fs does.
func quietChecksums(o *s3.Options) {
	o.DisableLogOutputChecksumValidationSkipped = true
}

// getParts downloads the key with the transfer manager's ranged GETs, into a sink.
func (c *ceiling) getParts(ctx context.Context) (string, error) {
	// feature/s3/manager is the SDK's stable transfer manager, the one s3fs uploads with.
	downloader := manager.NewDownloader(c.client, func(d *manager.Downloader) { //nolint:staticcheck // see above
		d.PartSize = c.opts.partSize
		d.Concurrency = c.opts.concurrency
	})

	var sink countingSink

	start := time.Now()

	input := &s3.GetObjectInput{Bucket: &c.opts.bucket, Key: &c.opts.key}
	quiet := func(d *manager.Downloader) { d.ClientOptions = append(d.ClientOptions, quietChecksums) } //nolint:staticcheck,lll // as above

	n, err := downloader.Download(ctx, &sink, input, quiet) //nolint:staticcheck // as above
	if err != nil {
		return "", fmt.Errorf("downloading %s: %w", c.opts.key, err)
	}

	if n != c.opts.size || sink.n.Load() != n {
		return "", fmt.Errorf("%w: %s: %d bytes, not %d", errCount, c.opts.key, sink.n.Load(), c.opts.size)
	}

	return megabytesPerSecond(n, time.Since(start)), nil
}

// countingSink is an io.WriterAt that keeps nothing and counts the bytes written to it.
type countingSink struct {
	n atomic.Int64
}

// WriteAt counts p.
func (s *countingSink) WriteAt(p []byte, _ int64) (int, error) {
	s.n.Add(int64(len(p)))

	return len(p), nil
}

// put uploads size bytes to the key with the transfer manager.
func (c *ceiling) put(ctx context.Context) (string, error) {
	body, err := newPattern(c.opts.size)
	if err != nil {
		return "", err
	}

	uploader := manager.NewUploader(c.client, func(u *manager.Uploader) { //nolint:staticcheck // see getParts
		u.PartSize = c.opts.partSize
		u.Concurrency = c.opts.concurrency
	})

	start := time.Now()

	_, err = uploader.Upload(ctx, &s3.PutObjectInput{ //nolint:staticcheck // see getParts
		Bucket: &c.opts.bucket,
		Key:    &c.opts.key,
		Body:   body,
	})
	if err != nil {
		return "", fmt.Errorf("uploading %s: %w", c.opts.key, err)
	}

	return megabytesPerSecond(c.opts.size, time.Since(start)), nil
}

// small moves count objects over conns goroutines: GetObject (get-small) or PutObject
// (put-small) of each.
func (c *ceiling) small(ctx context.Context) (string, error) {
	block := make([]byte, min(c.opts.size, bufferSize))
	if _, err := rand.Read(block); err != nil {
		return "", fmt.Errorf("random bytes: %w", err)
	}

	errs := make([]error, c.opts.conns)

	var wg sync.WaitGroup

	start := time.Now()

	for k := range c.opts.conns {
		wg.Go(func() {
			buf := make([]byte, bufferSize)
			for i := k + 1; i <= c.opts.count && errs[k] == nil; i += c.opts.conns {
				errs[k] = c.moveOne(ctx, fmt.Sprintf(c.opts.key, i), block, buf)
			}
		})
	}

	wg.Wait()

	elapsed := time.Since(start)

	if err := errors.Join(errs...); err != nil {
		return "", err
	}

	return strconv.FormatFloat(float64(c.opts.count)/elapsed.Seconds(), 'f', 0, 64), nil
}

// moveOne downloads or uploads one small object.
func (c *ceiling) moveOne(ctx context.Context, key string, block, buf []byte) error {
	if c.opts.mode == modeGetSmall {
		_, err := c.fetch(ctx, key, buf)

		return err
	}

	body, err := newPatternOf(block, c.opts.size)
	if err != nil {
		return err
	}

	_, err = c.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        &c.opts.bucket,
		Key:           aws.String(key),
		Body:          body,
		ContentLength: aws.Int64(c.opts.size),
	})
	if err != nil {
		return fmt.Errorf("PutObject %s: %w", key, err)
	}

	return nil
}

// list lists the prefix -key whole, once without counting it and then count times, and returns
// the mean milliseconds of one listing.
func (c *ceiling) list(ctx context.Context) (string, error) {
	var elapsed time.Duration

	for i := 0; i <= c.opts.count; i++ {
		start := time.Now()

		entries, err := c.listOnce(ctx)
		if err != nil {
			return "", err
		}

		if int64(entries) < c.opts.size {
			return "", fmt.Errorf("%w: %s: %d entries, not at least %d", errCount, c.opts.key, entries, c.opts.size)
		}

		if i > 0 {
			elapsed += time.Since(start)
		}
	}

	ms := elapsed.Seconds() * 1000 / float64(c.opts.count)

	return strconv.FormatFloat(ms, 'f', 1, 64), nil
}

// listOnce pages through the prefix as s3fs lists a directory, and counts its entries.
func (c *ceiling) listOnce(ctx context.Context) (int, error) {
	prefix := c.opts.key
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}

	paginator := s3.NewListObjectsV2Paginator(c.client, &s3.ListObjectsV2Input{
		Bucket:    &c.opts.bucket,
		Prefix:    aws.String(prefix),
		Delimiter: aws.String("/"),
		MaxKeys:   aws.Int32(s3fs.DefaultMaxKeys),
	})

	entries := 0

	for paginator.HasMorePages() {
		page, err := paginator.NextPage(ctx)
		if err != nil {
			return entries, fmt.Errorf("ListObjectsV2 %s: %w", prefix, err)
		}

		entries += len(page.Contents) + len(page.CommonPrefixes)
	}

	return entries, nil
}

// megabytesPerSecond formats n bytes in elapsed as MB/s (10^6 bytes per second).
func megabytesPerSecond(n int64, elapsed time.Duration) string {
	return strconv.FormatFloat(float64(n)/elapsed.Seconds()/1e6, 'f', 1, 64)
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/spf13/afero"

	"github.com/ftpkit/ftpserver/s3fs"
)

// s3CheckTimeout bounds the check of the bucket at start.
const s3CheckTimeout = 15 * time.Second

// errNoS3Space answers AVBL on a bucket: S3 has no free space to report.
var errNoS3Space = errors.New("S3 storage has no free space figure")

// s3Options are the -s3-* flags. With a bucket the server serves it instead of memory or -root.
type s3Options struct {
	endpoint string // "" for AWS S3
	bucket   string // "": no S3
	region   string

	incompleteMaxAge time.Duration // -s3-incomplete-max-age: see registerS3ResumeFlags
	listIncomplete   bool          // -s3-list-incomplete: see registerS3ListFlags
}

// registerS3Flags adds the -s3-* flags to flags.
func registerS3Flags(flags *flag.FlagSet, opts *s3Options) {
	flags.StringVar(&opts.bucket, "s3-bucket", "",
		"serve S3 bucket `NAME` instead of memory or -root, with the credentials of "+
			"AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	flags.StringVar(&opts.endpoint, "s3-endpoint", "",
		"`URL` of the S3-compatible service of -s3-bucket, addressed path-style (default: AWS S3)")
	flags.StringVar(&opts.region, "s3-region", s3fs.DefaultRegion, "`region` of -s3-bucket")
	registerS3ResumeFlags(flags, opts)
	registerS3ListFlags(flags, opts)
}

// validate checks the -s3-* flags against each other and -root.
func (o *s3Options) validate(root string) error {
	switch {
	case o.bucket == "" && o.endpoint != "":
		return errors.New("-s3-endpoint needs -s3-bucket")
	case o.bucket != "" && root != "":
		return errors.New("-root and -s3-bucket exclude each other")
	case o.region == "":
		return errors.New("-s3-region: empty")
	}

	if err := o.validateS3Resume(); err != nil {
		return err
	}

	if o.endpoint != "" {
		endpoint, err := url.Parse(o.endpoint)
		if err != nil || (endpoint.Scheme != "http" && endpoint.Scheme != "https") || endpoint.Host == "" {
			return fmt.Errorf("-s3-endpoint: %q is not an http:// or https:// URL", o.endpoint)
		}
	}

	return nil
}

// describe names the bucket for the start message.
func (o *s3Options) describe() string {
	where := "AWS S3"
	if o.endpoint != "" {
		where = o.endpoint
	}

	return "S3 bucket " + o.bucket + " at " + where
}

// newS3Driver builds the driver of -s3-bucket, after checking that the bucket exists and that
// the credentials may use it, so that a mistake shows at start rather than at the first login.
// Uploads are not made atomic by the server: S3 stores an object whole or not at all, and a
// broken upload is resumed under the file's own name (see s3fs).
func newS3Driver(cfg *config) (*driver, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s3CheckTimeout)
	defer cancel()

	client, err := s3fs.NewClient(ctx, s3fs.ClientOptions{
		Endpoint:  cfg.s3.endpoint,
		Region:    cfg.s3.region,
		PathStyle: true,
	})
	if err != nil {
		return nil, fmt.Errorf("-s3-bucket: %w", err)
	}

	fs := s3fs.New(client, cfg.s3.bucket, s3fs.Options{
		IncompleteUploadMaxAge: cfg.s3.incompleteMaxAge,
		ListIncompleteUploads:  cfg.s3.listIncomplete,
	})
	if err := fs.CheckBucket(ctx); err != nil {
		return nil, fmt.Errorf("-s3-bucket: %w", err)
	}

	noSpace := func(string) (int64, error) { return 0, errNoS3Space }

	return &driver{cfg: cfg, fs: s3Downloads{fs}, available: noSpace}, nil
}

// s3Downloads is the bucket's file system with files opened for reading by
// s3fs.Fs.OpenDownload: a RETR costs S3 one GET instead of a HEAD and a GET.
type s3Downloads struct {
	*s3fs.Fs
}

// bucketOf returns the bucket's s3fs.Fs under fs, the driver's file system, if it is one.
func bucketOf(fs any) (*s3fs.Fs, bool) {
	switch fs := fs.(type) {
	case s3Downloads:
		return fs.Fs, true
	case *s3fs.Fs:
		return fs, true
	default:
		return nil, false
	}
}

// OpenFile opens a file to read with OpenDownload, and anything else as s3fs does.
func (s s3Downloads) OpenFile(name string, flags int, perm os.FileMode) (afero.File, error) {
	if flags&(os.O_WRONLY|os.O_RDWR) == 0 {
		return s.OpenDownload(name)
	}

	return s.Fs.OpenFile(name, flags, perm)
}

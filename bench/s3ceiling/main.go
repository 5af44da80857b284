// Command s3ceiling measures what the AWS SDK for Go moves to an S3 server by itself, with no FTP
// server in the way, so that bench/s3compare.sh can put the FTP servers on S3 beside an upper
// bound measured in the same run. It builds its client with s3fs.NewClient, as ftpkit's bundled
// server does (path-style, the same HTTP transport, the SDK's default checksums), so that the
// only difference is the FTP server:
//
//	s3ceiling -endpoint URL -bucket B -mode get -key big.bin -size N        # one GetObject, streamed
//	s3ceiling ... -mode get-parts -key big.bin -size N    # manager.Downloader, ranged GETs in parallel
//	s3ceiling ... -mode put -key up.bin -size N           # manager.Uploader, a multipart upload
//	s3ceiling ... -mode get-small -key 'small/%04d.bin' -count 4096 -size 4096 -conns 16
//	s3ceiling ... -mode put-small -key 'up/%04d.bin' -count 4096 -size 4096 -conns 16
//	s3ceiling ... -mode list -key list/ -count 5 -size 10000
//
// get streams one GetObject into a 256 KiB buffer, as s3fs reads a file for RETR. get-parts and
// put use the SDK's transfer manager (feature/s3/manager) with s3fs's defaults: parts of
// s3fs.DefaultPartSize (8 MiB), s3fs.DefaultConcurrency (2) of them at once, -part-size and
// -concurrency to change them; put hands the uploader a seekable body, which it sends part by
// part without copying (the SDK's advice for a body in memory or in a file). Over plain HTTP
// the SDK computes a CRC32 and the SHA-256 of the payload for every PUT and part, as it does for
// s3fs. get-small and put-small move -count objects over -conns goroutines (object i, from 1, goes
// to goroutine (i-1) mod conns); put-small with -size 0 creates empty objects, which is how the
// script fills the listed prefix. list pages through ListObjectsV2 with delimiter "/" and
// s3fs.DefaultMaxKeys keys per page, as s3fs lists a directory.
//
// It prints one number on stdout, as bench/ftpload does: MB/s (10^6 bytes per second) for get,
// get-parts and put, from the first request to the end of the last; objects per second for
// get-small and put-small; the mean milliseconds of one whole listing for list, after one that
// is not counted. Sizes and entry counts are checked. The credentials come from
// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, as for the bundled server. With -create-bucket it
// first creates the bucket, unless it exists and is this account's.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/ftpkit/ftpserver/bench/internal/cli"
	"github.com/ftpkit/ftpserver/s3fs"
)

// Modes of measurement.
const (
	modeGet      = "get"
	modeGetParts = "get-parts"
	modePut      = "put"
	modeGetSmall = "get-small"
	modePutSmall = "put-small"
	modeList     = "list"
)

// errCount reports an object or a listing of another size than -size.
var errCount = errors.New("unexpected size")

// options is the parsed command line.
type options struct {
	endpoint, bucket, region string
	mode, key                string
	size                     int64
	count, conns             int
	partSize                 int64
	concurrency              int
	createBucket             bool
	// credentials, when set, replaces the SDK's default chain (tests).
	credentials aws.CredentialsProvider
}

func main() {
	opts, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		os.Exit(2)
	}

	value, err := run(context.Background(), opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "s3ceiling:", err)
		os.Exit(1)
	}

	fmt.Println(value)
}

// parseFlags reads the command line, printing the error and the usage to stderr on an error.
func parseFlags(args []string, stderr io.Writer) (*options, error) {
	opts := &options{}
	flags := flag.NewFlagSet("s3ceiling", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.StringVar(&opts.endpoint, "endpoint", "", "`URL` of the S3 server, addressed path-style")
	flags.StringVar(&opts.bucket, "bucket", "", "the bucket")
	flags.StringVar(&opts.region, "region", s3fs.DefaultRegion, "the region")
	flags.StringVar(&opts.mode, "mode", modeGet, "get, get-parts, put, get-small, put-small or list")
	flags.StringVar(&opts.key, "key", "", "object key; a pattern with one %d (get-small, put-small); a prefix (list)")
	flags.Int64Var(&opts.size, "size", 0, "bytes of each object; entries of the listing (list)")
	flags.IntVar(&opts.count, "count", 1, "objects (get-small, put-small), counted listings (list)")
	flags.IntVar(&opts.conns, "conns", 1, "goroutines working at once (get-small, put-small)")
	flags.Int64Var(&opts.partSize, "part-size", s3fs.DefaultPartSize, "bytes of each part (get-parts, put)")
	flags.IntVar(&opts.concurrency, "concurrency", s3fs.DefaultConcurrency, "parts at once (get-parts, put)")
	flags.BoolVar(&opts.createBucket, "create-bucket", false, "create -bucket first if it does not exist")

	if err := cli.Parse(flags, args, opts.check); err != nil {
		return nil, err
	}

	return opts, nil
}

// check checks the flags against each other.
func (o *options) check() error {
	switch o.mode {
	case modeGet, modeGetParts, modePut, modeGetSmall, modePutSmall, modeList:
	default:
		return fmt.Errorf("-mode: %q is not get, get-parts, put, get-small, put-small or list", o.mode)
	}

	small := o.mode == modeGetSmall || o.mode == modePutSmall

	switch {
	case o.endpoint == "" || o.bucket == "" || o.key == "":
		return errors.New("-endpoint, -bucket and -key are needed")
	case small && !strings.Contains(o.key, "%"):
		return fmt.Errorf("-mode %s needs a -key pattern with %%d", o.mode)
	case o.size < 0 || (o.size == 0 && o.mode != modePutSmall):
		return fmt.Errorf("-size: %d is not positive", o.size)
	case o.count <= 0 || o.conns <= 0:
		return fmt.Errorf("-count (%d) and -conns (%d) must be positive", o.count, o.conns)
	case o.partSize <= 0 || o.concurrency <= 0:
		return fmt.Errorf("-part-size (%d) and -concurrency (%d) must be positive", o.partSize, o.concurrency)
	}

	return nil
}

// run performs the measurement and returns its figure, formatted.
func run(ctx context.Context, opts *options) (string, error) {
	client, err := s3fs.NewClient(ctx, s3fs.ClientOptions{
		Endpoint:    opts.endpoint,
		Region:      opts.region,
		PathStyle:   true,
		Credentials: opts.credentials,
	})
	if err != nil {
		return "", fmt.Errorf("the S3 client: %w", err)
	}

	c := &ceiling{client: client, opts: opts}

	if opts.createBucket {
		if err := c.createBucket(ctx); err != nil {
			return "", err
		}
	}

	switch opts.mode {
	case modeGet:
		return c.get(ctx)
	case modeGetParts:
		return c.getParts(ctx)
	case modePut:
		return c.put(ctx)
	case modeList:
		return c.list(ctx)
	default:
		return c.small(ctx)
	}
}

// ceiling is one measurement's client and options.
type ceiling struct {
	client *s3.Client
	opts   *options
}

// createBucket creates the bucket, unless this account owns it already.
func (c *ceiling) createBucket(ctx context.Context) error {
	_, err := c.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &c.opts.bucket})

	var owned *types.BucketAlreadyOwnedByYou
	if err != nil && !errors.As(err, &owned) {
		return fmt.Errorf("creating bucket %s: %w", c.opts.bucket, err)
	}

	return nil
}

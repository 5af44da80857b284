package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"

	"github.com/ftpkit/ftpserver/bench/internal/cli"
	"github.com/ftpkit/ftpserver/s3fs/s3test"
)

// minPart is the smallest part S3 accepts, which the tests use to cross part boundaries cheaply.
const minPart = 5 << 20

// gatewayOptions returns options for a new bucket of a fresh versitygw (the test is skipped
// without one), with the gateway's credentials.
func gatewayOptions(t *testing.T) (*options, *s3test.Gateway) {
	t.Helper()

	gw := s3test.Start(t)

	return &options{
		endpoint:    gw.Endpoint,
		bucket:      gw.NewBucket(t),
		region:      s3test.Region,
		count:       1,
		conns:       1,
		partSize:    minPart,
		concurrency: 2,
		credentials: credentials.NewStaticCredentialsProvider(s3test.AccessKey, s3test.SecretKey, ""),
	}, gw
}

// measureWith runs mode on key with size, count and conns, and checks that it printed a
// positive figure.
func measureWith(t *testing.T, base *options, mode, key string, size int64, count, conns int) {
	t.Helper()

	opts := *base
	opts.mode, opts.key, opts.size, opts.count, opts.conns = mode, key, size, count, conns
	require.NoError(t, opts.check())

	value, err := run(context.Background(), &opts)
	require.NoError(t, err, mode)

	figure, err := strconv.ParseFloat(value, 64)
	require.NoError(t, err, "%s printed %q", mode, value)
	require.Positive(t, figure, mode)
}

// objectSum returns the size and the SHA-256 of an object.
func objectSum(t *testing.T, gw *s3test.Gateway, bucket, key string) (int64, [sha256.Size]byte) {
	t.Helper()

	out, err := gw.Client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: &bucket, Key: aws.String(key)})
	require.NoError(t, err)

	defer out.Body.Close()

	hash := sha256.New()
	n, err := io.Copy(hash, out.Body)
	require.NoError(t, err)

	return n, [sha256.Size]byte(hash.Sum(nil))
}

// patternSum returns the SHA-256 of size bytes of block repeated.
func patternSum(t *testing.T, block []byte, size int64) [sha256.Size]byte {
	t.Helper()

	body, err := newPatternOf(block, size)
	require.NoError(t, err)

	hash := sha256.New()
	n, err := io.Copy(hash, body)
	require.NoError(t, err)
	require.Equal(t, size, n)

	return [sha256.Size]byte(hash.Sum(nil))
}

func TestCeilingAgainstGateway(t *testing.T) {
	t.Parallel()

	base, gw := gatewayOptions(t)

	// -create-bucket makes a bucket, and accepts one that exists.
	created := *base
	created.bucket, created.createBucket = "made-by-the-tool", true
	measureWith(t, &created, modePutSmall, "a/%d", 1, 1, 1)
	measureWith(t, &created, modePutSmall, "b/%d", 1, 1, 1)
	require.Len(t, gw.Keys(t, created.bucket), 2)

	// A multipart upload of two parts and a bit, sent two parts at once, then read back whole
	// in one GET and in ranged GETs.
	size := int64(2*minPart + 123)
	measureWith(t, base, modePut, "big.bin", size, 1, 1)
	stored, _ := objectSum(t, gw, base.bucket, "big.bin")
	require.Equal(t, size, stored)
	measureWith(t, base, modeGet, "big.bin", size, 1, 1)
	measureWith(t, base, modeGetParts, "big.bin", size, 1, 1)

	// Small objects over several goroutines, more objects than goroutines and not a multiple.
	measureWith(t, base, modePutSmall, "small/%02d.bin", 4096, 11, 3)
	require.Len(t, gw.Keys(t, base.bucket), 12)
	measureWith(t, base, modeGetSmall, "small/%02d.bin", 4096, 11, 3)

	// Empty objects fill a prefix listed over several pages.
	measureWith(t, base, modePutSmall, "list/entry-%04d", 0, 1001, 8)
	measureWith(t, base, modeList, "list", 1001, 2, 1)

	// The figures come from checked transfers: a wrong size or a short listing fails.
	for _, wrong := range []struct {
		mode, key string
		size      int64
		count     int
	}{
		{modeGet, "big.bin", size - 1, 1},
		{modeGetParts, "big.bin", size + 1, 1},
		{modeGetSmall, "small/%02d.bin", 4095, 11},
		{modeList, "list", 1002, 1},
		{modeGet, "missing.bin", size, 1},
	} {
		opts := *base
		opts.mode, opts.key, opts.size, opts.count = wrong.mode, wrong.key, wrong.size, wrong.count
		_, err := run(context.Background(), &opts)
		require.Error(t, err, "%+v", wrong)

		if wrong.key != "missing.bin" {
			require.ErrorIs(t, err, errCount, "%+v", wrong)
		}
	}
}

func TestPutStoresThePattern(t *testing.T) {
	t.Parallel()

	base, gw := gatewayOptions(t)

	block := bytes.Repeat([]byte("0123456789abcdef"), 256)
	opts := *base
	opts.mode, opts.key, opts.size = modePutSmall, "one.bin", 4096+100
	c := &ceiling{client: s3test.NewClient(gw.Endpoint, s3test.AccessKey, s3test.SecretKey), opts: &opts}
	require.NoError(t, c.moveOne(context.Background(), opts.key, block, nil))

	n, sum := objectSum(t, gw, base.bucket, "one.bin")
	require.Equal(t, opts.size, n)
	require.Equal(t, patternSum(t, block, opts.size), sum, "the object holds the block repeated")
}

func TestPattern(t *testing.T) {
	t.Parallel()

	block := []byte("abcdefg")
	want := bytes.Repeat(block, 10)[:60]

	body, err := newPatternOf(block, 60)
	require.NoError(t, err)

	all, err := io.ReadAll(body)
	require.NoError(t, err)
	require.Equal(t, want, all)

	for _, off := range []int64{0, 5, 7, 33, 59} {
		buf := make([]byte, 10)
		n, readErr := body.ReadAt(buf, off)
		require.Equal(t, min(10, 60-int(off)), n, "at %d", off)
		require.Equal(t, want[off:off+int64(n)], buf[:n], "at %d", off)

		if off+10 > 60 {
			require.ErrorIs(t, readErr, io.EOF, "at %d", off)
		} else {
			require.NoError(t, readErr, "at %d", off)
		}
	}

	pos, err := body.Seek(-3, io.SeekEnd)
	require.NoError(t, err)
	require.Equal(t, int64(57), pos)

	rest, err := io.ReadAll(body)
	require.NoError(t, err)
	require.Equal(t, want[57:], rest)

	_, err = body.Seek(-1, io.SeekStart)
	require.ErrorIs(t, err, errSeek)
	_, err = body.Seek(0, 7)
	require.ErrorIs(t, err, errSeek)
	_, err = body.ReadAt(make([]byte, 1), -1)
	require.ErrorIs(t, err, errSeek)

	_, err = newPatternOf(nil, 1)
	require.Error(t, err)

	empty, err := newPattern(0)
	require.NoError(t, err)

	n, err := empty.Read(make([]byte, 4))
	require.Zero(t, n)
	require.ErrorIs(t, err, io.EOF)
}

func TestParseFlags(t *testing.T) {
	t.Parallel()

	opts, err := parseFlags([]string{"-endpoint", "http://127.0.0.1:1", "-bucket", "b", "-mode", "get-small",
		"-key", "s/%d", "-size", "4096", "-count", "10", "-conns", "4"}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, &options{
		endpoint: "http://127.0.0.1:1", bucket: "b", region: "us-east-1", mode: modeGetSmall, key: "s/%d",
		size: 4096, count: 10, conns: 4, partSize: 8 << 20, concurrency: 2,
	}, opts)

	_, err = parseFlags([]string{"-endpoint", "u", "-bucket", "b", "-mode", "put-small", "-key", "l/%d",
		"-size", "0"}, io.Discard)
	require.NoError(t, err, "put-small creates empty objects")

	_, err = parseFlags([]string{"-mode", "get"}, io.Discard)
	require.EqualError(t, err, "invalid command line: -endpoint, -bucket and -key are needed")

	required := []string{"-endpoint", "u", "-bucket", "b", "-key", "k", "-size", "1"}
	for _, args := range [][]string{
		{"-mode", "udp"},
		{"-size", "0"},
		{"-size", "-1", "-mode", "put-small", "-key", "k%d"},
		{"-mode", "get-small"},
		{"-count", "0"},
		{"-conns", "0"},
		{"-part-size", "0"},
		{"-concurrency", "0"},
		{"-key", ""},
		{"extra"},
		{"-nosuchflag"},
	} {
		_, err := parseFlags(append(append([]string{}, required...), args...), io.Discard)
		require.ErrorIs(t, err, cli.ErrUsage, "%q", args)
	}
}

package main

import (
	"bytes"
	"crypto/sha256"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ftpkit/ftpserver/s3fs/s3test"
)

func TestS3IncompleteMaxAgeFlag(t *testing.T) {
	t.Parallel()

	requireFlagError(t, "-s3-bucket", "b", "-s3-incomplete-max-age", "-1h")

	cfg, err := parseFlags([]string{"-s3-bucket", "b"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, 168*time.Hour, cfg.s3.incompleteMaxAge)
}

// TestRunResumesS3Upload resumes, with APPE through the server, an upload that another S3
// client broke after its first part, and checks that the server sweeps an incomplete upload
// older than -s3-incomplete-max-age at start. It sets the AWS environment variables, so it
// cannot run in parallel.
func TestRunResumesS3Upload(t *testing.T) {
	gw := s3test.Start(t)
	bucket := gw.NewBucket(t)
	data := randomBytes(t, 6<<20)

	// An abandoned upload, older than the maximum age once the server starts, and a broken one
	// whose first part of 5 MiB is in S3.
	gw.StartUpload(t, bucket, "abandoned.bin")
	gw.StartUpload(t, bucket, "broken.bin", data[:5<<20])

	// S3 records the start of an upload to the second: a lower bound only.
	time.Sleep(2100 * time.Millisecond)

	t.Setenv("AWS_ACCESS_KEY_ID", s3test.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s3test.SecretKey)

	srv := startRun(t, "-s3-endpoint", gw.Endpoint, "-s3-bucket", bucket, "-s3-incomplete-max-age", "1h")
	conn := login(t, srv.addr)

	size, err := conn.FileSize("/broken.bin")
	require.NoError(t, err)
	require.Equal(t, int64(5<<20), size, "SIZE: the resumable size of the broken upload")

	require.NoError(t, conn.Append("/broken.bin", bytes.NewReader(data[size:])))
	assert.Equal(t, sha256.Sum256(data), download(t, conn, "/broken.bin"))
	assert.Equal(t, 1, gw.PendingUploads(t, bucket), "a young abandoned upload stays")
	require.NoError(t, srv.stop(t))

	srv = startRun(t, "-s3-endpoint", gw.Endpoint, "-s3-bucket", bucket, "-s3-incomplete-max-age", "1s")
	deadline := time.Now().Add(30 * time.Second)

	for gw.PendingUploads(t, bucket) > 0 {
		require.True(t, time.Now().Before(deadline), "the sweep at start aborts the abandoned upload")
		time.Sleep(20 * time.Millisecond)
	}

	require.NoError(t, srv.stop(t))
}

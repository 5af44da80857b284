package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"flag"
	"io"
	"io/fs"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ftpkit/ftpserver/s3fs/s3test"
)

// TestRunServesS3 runs the server on a bucket of a local versitygw. It sets the AWS environment
// variables the server reads its credentials from, so it cannot run in parallel.
func TestRunServesS3(t *testing.T) {
	gw := s3test.Start(t)
	bucket := gw.NewBucket(t)
	args := []string{"-s3-endpoint", gw.Endpoint, "-s3-bucket", bucket}

	t.Setenv("AWS_ACCESS_KEY_ID", s3test.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong")

	// Wrong credentials, or a missing bucket, stop the server at start.
	err := run(context.Background(), append([]string{"-listen", "127.0.0.1:0"}, args...), io.Discard, io.Discard)
	require.ErrorIs(t, err, fs.ErrPermission)
	require.ErrorContains(t, err, "-s3-bucket")

	t.Setenv("AWS_SECRET_ACCESS_KEY", s3test.SecretKey)

	err = run(context.Background(), []string{"-listen", "127.0.0.1:0", "-s3-endpoint", gw.Endpoint,
		"-s3-bucket", "missing-bucket"}, io.Discard, io.Discard)
	require.ErrorIs(t, err, fs.ErrNotExist)

	srv := startRun(t, args...)
	conn := login(t, srv.addr)

	data := randomBytes(t, 6<<20) // two parts of 5 MiB: a multipart upload
	require.NoError(t, conn.MakeDir("/dir"))
	require.NoError(t, conn.Stor("/dir/file.bin", bytes.NewReader(data)))
	assert.Equal(t, sha256.Sum256(data), download(t, conn, "/dir/file.bin"))

	// Written in place, without an atomic-upload temporary object: S3 has no partial objects.
	keys := gw.Keys(t, bucket)
	sort.Strings(keys)
	assert.Equal(t, []string{"dir/", "dir/file.bin"}, keys)

	entries, err := conn.List("/dir")
	require.NoError(t, err)
	require.Len(t, entries, 2)
	assert.Equal(t, "file.bin", entries[1].Name)
	assert.Equal(t, uint64(len(data)), entries[1].Size)

	require.NoError(t, conn.Quit())
	require.NoError(t, srv.stop(t))
}

func TestRunS3FlagErrors(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		args []string
	}{
		{"endpoint without bucket", []string{"-s3-endpoint", "http://127.0.0.1:7070"}},
		{"bucket and root", []string{"-s3-bucket", "b", "-root", t.TempDir()}},
		{"endpoint not a URL", []string{"-s3-bucket", "b", "-s3-endpoint", "127.0.0.1:7070"}},
		{"endpoint not HTTP", []string{"-s3-bucket", "b", "-s3-endpoint", "ftp://127.0.0.1"}},
		{"empty region", []string{"-s3-bucket", "b", "-s3-region", ""}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			requireFlagError(t, tt.args...)
		})
	}

	var stderr bytes.Buffer

	require.ErrorIs(t, run(context.Background(), []string{"-h"}, io.Discard, &stderr), flag.ErrHelp)

	for _, name := range []string{"-s3-endpoint", "-s3-bucket", "-s3-region"} {
		assert.Regexp(t, `(?m)^  `+name+`( |$)`, stderr.String())
	}
}

// TestRunUsersOnS3 gives each user of -users a key prefix of the bucket. It sets the AWS
// environment variables, so it cannot run in parallel.
func TestRunUsersOnS3(t *testing.T) {
	gw := s3test.Start(t)
	bucket := gw.NewBucket(t)

	t.Setenv("AWS_ACCESS_KEY_ID", s3test.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s3test.SecretKey)

	users := filepath.Join(t.TempDir(), "users")
	writeUsers(t, users, testUser{"alice", "pw", "/alice", "rw"}, testUser{"bob", "pw", "/team/bob", "ro"})

	srv := startRun(t, "-s3-endpoint", gw.Endpoint, "-s3-bucket", bucket, "-users", users)
	alice := loginAs(t, srv.addr, "alice", "pw")
	bob := loginAs(t, srv.addr, "bob", "pw")

	data := randomBytes(t, 100_000)
	require.NoError(t, alice.Stor("/a.bin", bytes.NewReader(data)))
	assert.Equal(t, sha256.Sum256(data), download(t, alice, "/a.bin"))

	assert.Empty(t, names(t, bob))
	requireReply(t, bob.Stor("/b.bin", bytes.NewReader(data)), 550, "Permission denied: read-only session")

	// Each home is a key prefix, made at the user's first login.
	keys := gw.Keys(t, bucket)
	sort.Strings(keys)
	assert.Equal(t, []string{"alice/", "alice/a.bin", "team/", "team/bob/"}, keys)
}

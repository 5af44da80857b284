package main

import (
	"path/filepath"
	"testing"

	"github.com/ftpkit/ftpserver/s3fs/s3test"
)

// newS3Home starts a gateway with a bucket, sets the AWS environment variables the server reads
// its credentials from (so its test cannot run in parallel), and writes a -users file giving
// alice (password "pw") the home /alice. It returns the gateway, the bucket and the file.
func newS3Home(t *testing.T) (gw *s3test.Gateway, bucket, users string) {
	t.Helper()

	gw = s3test.Start(t)
	bucket = gw.NewBucket(t)

	t.Setenv("AWS_ACCESS_KEY_ID", s3test.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s3test.SecretKey)

	users = filepath.Join(t.TempDir(), "users")
	writeUsers(t, users, testUser{"alice", "pw", "/alice", "rw"})

	return gw, bucket, users
}

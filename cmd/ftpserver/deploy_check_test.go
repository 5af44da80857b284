package main

import (
	"os/exec"
	"testing"
	"time"

	"github.com/ftpkit/ftpserver/s3fs/s3test"
)

// TestDeployCheck runs docs/deploy-check.sh, the set-up of docs/deploying.md on loopback: two
// bundled servers behind HAProxy with the PROXY protocol, a file uploaded through one and
// downloaded through the other. It needs haproxy (CI installs it) and curl.
func TestDeployCheck(t *testing.T) {
	if _, err := exec.LookPath("haproxy"); err != nil {
		t.Skip("haproxy is not installed: deploy check skipped (apt-get install -y haproxy)")
	}

	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed: deploy check skipped (apt-get install -y curl)")
	}

	binary := buildServer(t)

	run := func(t *testing.T, env ...string) {
		t.Helper()

		runDocsScript(t, "deploy-check.sh", "deploy-check passed", 3*time.Minute,
			append([]string{"FTPSERVER_BIN=" + binary}, env...)...)
	}

	for _, multiplex := range []string{"1", "0"} {
		t.Run("dir/MULTIPLEX="+multiplex, func(t *testing.T) {
			run(t, "MULTIPLEX="+multiplex, "STORAGE=dir")
		})
	}

	// The set-up of docs/deploying.md itself: both instances on one bucket of a real S3 server.
	t.Run("s3", func(t *testing.T) {
		gateway := s3test.Start(t)
		bucket := gateway.NewBucket(t)

		run(t, "MULTIPLEX=1", "STORAGE=s3", "S3_ENDPOINT="+gateway.Endpoint, "S3_BUCKET="+bucket,
			"AWS_ACCESS_KEY_ID="+s3test.AccessKey, "AWS_SECRET_ACCESS_KEY="+s3test.SecretKey,
			"AWS_REGION="+s3test.Region)
	})
}

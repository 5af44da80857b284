// Package s3test runs a real S3 server for tests: versitygw (github.com/versity/versitygw) with
// its posix back-end in a temporary directory, on a loopback port, started by the test that
// needs it and killed when that test ends. Tests that call Start are skipped when versitygw is
// not installed; .ci/run installs it.
package s3test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"
)

// The root credentials of every gateway Start runs.
const (
	AccessKey = "ftpkit-test"
	SecretKey = "ftpkit-test-secret" //nolint:gosec // G101: the secret of a throw-away local gateway
)

// Region is the region the gateways accept.
const Region = "us-east-1"

// Install is the command that installs the versitygw Start runs.
const Install = "go install github.com/versity/versitygw/cmd/versitygw@v1.8.0"

// startTimeout bounds the wait for versitygw to answer; a guard against a hang.
const startTimeout = 15 * time.Second

// Gateway is a running versitygw.
type Gateway struct {
	// Endpoint is its URL, "http://127.0.0.1:PORT".
	Endpoint string
	// Client is an S3 client of it with the root credentials.
	Client *s3.Client
}

// binary finds the versitygw binary on PATH or in $(go env GOPATH)/bin.
func binary() (string, bool) {
	if found, err := exec.LookPath("versitygw"); err == nil {
		return found, true
	}

	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err != nil {
		return "", false
	}

	for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
		candidate := filepath.Join(dir, "bin", "versitygw")
		if info, err := os.Stat(candidate); err == nil && !info.IsDir() {
			return candidate, true
		}
	}

	return "", false
}

// Binary returns the path of the versitygw Start runs, and false when it is not installed: for
// a test that starts versitygw itself, in a script.
func Binary() (string, bool) {
	return binary()
}

// Start runs versitygw on a free loopback port, serving a new temporary directory, waits until
// it answers and kills it (by its PID) when the test ends. Without versitygw, it skips the test.
func Start(t *testing.T) *Gateway {
	t.Helper()

	bin, ok := binary()
	if !ok {
		t.Skip("versitygw not found on PATH nor in $(go env GOPATH)/bin; install it with " + Install +
			" (.ci/run does)")
	}

	root := t.TempDir()

	// The port is free when chosen but could be taken before versitygw binds it: then the
	// process exits at once, and another port is tried.
	var lastErr error

	for range 3 {
		gw, err := launch(t, bin, root)
		if err == nil {
			return gw
		}

		lastErr = err
	}

	require.NoError(t, lastErr, "starting versitygw")

	return nil
}

// launch makes one attempt of Start.
func launch(t *testing.T, bin, root string) (*Gateway, error) {
	t.Helper()

	addr := freeAddr(t)

	var output strings.Builder

	cmd := exec.Command(bin, "--access", AccessKey, "--secret", SecretKey, "--port", addr, "--quiet",
		"posix", root)
	cmd.Stdout = &output
	cmd.Stderr = &output

	require.NoError(t, cmd.Start())

	exited := make(chan error, 1)

	go func() { exited <- cmd.Wait() }()

	// Kill by PID; the exit status ("signal: killed") says nothing.
	stop := func() error {
		_ = cmd.Process.Kill()

		return <-exited
	}

	gw := &Gateway{Endpoint: Endpoint(addr), Client: NewClient(Endpoint(addr), AccessKey, SecretKey)}

	if err := waitUntilAnswering(gw.Client, exited); err != nil {
		_ = stop()

		return nil, errors.Join(err, errors.New(output.String()))
	}

	t.Cleanup(func() { _ = stop() })

	return gw, nil
}

// Endpoint is the URL of a gateway listening on addr.
func Endpoint(addr string) string {
	return "http://" + addr
}

// waitUntilAnswering asks the gateway for its buckets until it answers. versitygw prints its
// banner before it binds its port and announces nothing after, so this polls, every 10 ms,
// until it answers, exits, or startTimeout passes.
func waitUntilAnswering(client *s3.Client, exited <-chan error) error {
	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()

	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()

	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := client.ListBuckets(ctx, &s3.ListBucketsInput{})

		cancel()

		if err == nil {
			return nil
		}

		select {
		case exitErr := <-exited:
			return errors.Join(errors.New("versitygw exited"), exitErr)
		case <-deadline.C:
			return errors.Join(errors.New("versitygw did not answer"), err)
		case <-tick.C:
		}
	}
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)

	addr := listener.Addr().String()
	require.NoError(t, listener.Close())

	return addr
}

// NewClient returns a path-style client of endpoint with static credentials. It does not read
// the environment, so a developer's AWS settings cannot change what a test does.
func NewClient(endpoint, accessKey, secretKey string) *s3.Client {
	return s3.New(s3.Options{
		Region:       Region,
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
	})
}

// NewBucket creates a bucket with a random name and returns the name.
func (g *Gateway) NewBucket(t *testing.T) string {
	t.Helper()

	var suffix [6]byte

	_, err := rand.Read(suffix[:])
	require.NoError(t, err)

	bucket := "test-" + hex.EncodeToString(suffix[:])

	_, err = g.Client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	require.NoError(t, err)

	return bucket
}

// Keys lists every key of bucket.
func (g *Gateway) Keys(t *testing.T, bucket string) []string {
	t.Helper()

	var keys []string

	paginator := s3.NewListObjectsV2Paginator(g.Client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for paginator.HasMorePages() {
		page, err := paginator.NextPage(context.Background())
		require.NoError(t, err)

		for _, object := range page.Contents {
			keys = append(keys, aws.ToString(object.Key))
		}
	}

	return keys
}

// PendingUploads counts the multipart uploads of bucket neither completed nor aborted.
func (g *Gateway) PendingUploads(t *testing.T, bucket string) int {
	t.Helper()

	out, err := g.Client.ListMultipartUploads(context.Background(),
		&s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	require.NoError(t, err)

	return len(out.Uploads)
}

// StartUpload creates a multipart upload of key in bucket and sends parts as its parts 1, 2...,
// leaving it incomplete, as a client that broke off would.
func (g *Gateway) StartUpload(t *testing.T, bucket, key string, parts ...[]byte) {
	t.Helper()

	ctx := context.Background()
	created, err := g.Client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: aws.String(bucket), Key: aws.String(key),
	})
	require.NoError(t, err)

	for i, part := range parts {
		_, err := g.Client.UploadPart(ctx, &s3.UploadPartInput{
			Bucket: aws.String(bucket), Key: aws.String(key), UploadId: created.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(part),
		})
		require.NoError(t, err)
	}
}

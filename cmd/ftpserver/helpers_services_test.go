// Helpers that start the outside services some of the bundled server's tests need: a Redis for
// the shared ban store, an S3 gateway (versitygw) for S3 homes, and the docs scripts that run
// the server behind haproxy or as a fleet. Redis and the gateway skip their test when their
// program is missing; the tests of the docs scripts look for the scripts' programs first.

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/ftpkit/ftpserver/s3fs/s3test"
)

// --- Redis, for the shared ban store ---

// redisServer is a redis-server started by a test on a loopback port, without persistence,
// and killed by its PID when the test ends.
type redisServer struct {
	port   int
	client *redis.Client // the test's own client, to look at the keys

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan error
}

func (r *redisServer) addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }

// url is the -ban-store of the server.
func (r *redisServer) url() string { return "redis://" + r.addr() + "/0" }

// launch starts redis-server on r.port and waits until it says it accepts connections.
func (r *redisServer) launch() error {
	//nolint:gosec // G204: redis-server on a port this test chose
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", "/", "--dbfilename", "none.rdb")

	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("redis-server output: %w", err)
	}

	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting redis-server: %w", err)
	}

	exited := make(chan error, 1)
	ready := make(chan struct{})

	var output bytes.Buffer

	go func() {
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			output.WriteString(lines.Text() + "\n")

			if strings.Contains(lines.Text(), "Ready to accept connections") {
				close(ready)
				_, _ = io.Copy(io.Discard, stdout)

				break
			}
		}

		exited <- cmd.Wait()
	}()

	r.mu.Lock()
	r.cmd, r.exited = cmd, exited
	r.mu.Unlock()

	select {
	case <-ready:
		return nil
	case err := <-exited:
		return fmt.Errorf("redis-server exited (%w): %s", err, output.String())
	case <-time.After(startTimeout):
		_ = r.kill()

		return fmt.Errorf("redis-server did not start: %s", output.String())
	}
}

// kill kills redis-server by its PID, if it runs, and waits for it; the exit status it returns
// ("signal: killed") says nothing.
func (r *redisServer) kill() error {
	r.mu.Lock()
	cmd, exited := r.cmd, r.exited
	r.cmd = nil
	r.mu.Unlock()

	if cmd == nil {
		return nil
	}

	_ = cmd.Process.Kill()

	return <-exited
}

// restart starts redis-server again on the same port, empty.
func (r *redisServer) restart(t *testing.T) {
	t.Helper()

	require.NoError(t, r.launch(), "starting redis-server again on port %d", r.port)
}

// pttl returns the time left of key, or a negative value as PTTL gives it.
func (r *redisServer) pttl(t *testing.T, key string) time.Duration {
	t.Helper()

	ttl, err := r.client.PTTL(context.Background(), key).Result()
	require.NoError(t, err)

	return ttl
}

// startRedis starts a redis-server on a free loopback port; without redis-server it skips the
// test.
func startRedis(tb testing.TB) *redisServer {
	tb.Helper()

	if _, err := exec.LookPath("redis-server"); err != nil {
		tb.Skip("redis-server is not installed: shared ban tests skipped (apt-get install -y redis-server)")
	}

	r := &redisServer{}
	tb.Cleanup(func() { _ = r.kill() })

	// The port is free when chosen but could be taken before redis-server binds it: then it
	// exits at once, and another port is tried.
	var err error

	for range 3 {
		r.port = freePort(tb)
		if err = r.launch(); err == nil {
			break
		}
	}

	require.NoError(tb, err, "starting redis-server")

	r.client = redis.NewClient(&redis.Options{Addr: r.addr(), Protocol: 2, DisableIdentity: true})
	tb.Cleanup(func() { _ = r.client.Close() })

	return r
}

// freePort returns a loopback TCP port nobody listens on now.
func freePort(tb testing.TB) int {
	tb.Helper()

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)

	addr, ok := listener.Addr().(*net.TCPAddr)
	require.True(tb, ok, "a TCP listener's address")
	require.NoError(tb, listener.Close())

	return addr.Port
}

// --- S3 gateway, for S3 homes ---

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

// --- Docs scripts: haproxy and fleets ---

// runDocsScript runs docs/NAME with bash and env added to the environment, within timeout,
// logs its output, and requires it to succeed with passed as its last line.
func runDocsScript(t *testing.T, name, passed string, timeout time.Duration, env ...string) {
	t.Helper()

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	//nolint:gosec // G204: a script of this repository's docs/, named by the test
	cmd := exec.CommandContext(ctx, "bash", filepath.Join("..", "..", "docs", name))
	cmd.Env = append(os.Environ(), env...)
	// On SIGTERM the script stops what it started, as when it ends (its EXIT trap).
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 20 * time.Second

	out, err := cmd.CombinedOutput()
	t.Log(string(out))
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(strings.TrimSpace(string(out)), passed), "the last line is not %q", passed)
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// redisServer is a redis-server started by a test on a loopback port, without persistence,
// and killed by its PID when the test ends.
type redisServer struct {
	port   int
	client *redis.Client // the test's own client, to look at the keys

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan error
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

// logWatch is a server's stderr that a test reads while the server runs: it waits for lines.
type logWatch struct {
	mu      sync.Mutex
	text    strings.Builder
	written chan struct{} // closed and replaced at each write
}

func newLogWatch() *logWatch { return &logWatch{written: make(chan struct{})} }

func (w *logWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()

	w.text.Write(p)
	close(w.written)
	w.written = make(chan struct{})

	return len(p), nil
}

// count returns how many times s occurs in the log.
func (w *logWatch) count(s string) int {
	w.mu.Lock()
	defer w.mu.Unlock()

	return strings.Count(w.text.String(), s)
}

// waitFor waits until s occurs in the log.
func (w *logWatch) waitFor(t *testing.T, s string) {
	t.Helper()

	deadline := time.After(2 * startTimeout)

	for {
		w.mu.Lock()
		found := strings.Contains(w.text.String(), s)
		written := w.written
		w.mu.Unlock()

		if found {
			return
		}

		select {
		case <-written:
		case <-deadline:
			t.Fatalf("%q not logged; the log:\n%s", s, w.String())
		}
	}
}

func (w *logWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()

	return w.text.String()
}

// fromIP dials from the loopback address ip (Linux routes all of 127.0.0.0/8 to loopback), so
// that one test plays several clients.
func fromIP(ip string) ftp.DialOption {
	return ftp.DialWithDialer(net.Dialer{Timeout: startTimeout, LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}})
}

// greetingFrom returns the first reply of a new connection to addr from ip.
func greetingFrom(t *testing.T, addr, ip string) (int, string) {
	t.Helper()

	dialer := net.Dialer{Timeout: startTimeout, LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	raw, err := dialer.Dial("tcp", addr)
	require.NoError(t, err)

	return readGreeting(t, raw)
}

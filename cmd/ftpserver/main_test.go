package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ftpkit/ftpserver"
)

// startTimeout bounds the wait for the server's start line; it is a guard against a hang, not
// a delay: the test goes on as soon as the line arrives.
const startTimeout = 10 * time.Second

// runningServer is a run() started by startRun.
type runningServer struct {
	addr   string
	addrs  []string // of each listener, addr first: -implicit-listen's follows
	cancel context.CancelFunc
	done   <-chan error
	stdout <-chan string // the lines run printed after its start lines

	once sync.Once
	err  error
}

// stop cancels run's context, as a signal would, and returns what run returned. Later calls
// return the same.
func (s *runningServer) stop(t *testing.T) error {
	t.Helper()

	s.once.Do(func() {
		s.cancel()

		select {
		case s.err = <-s.done:
		case <-time.After(shutdownTimeout + startTimeout):
			s.err = errors.New("run did not return after its context was canceled")
		}
	})

	return s.err
}

// lineWriter passes each complete line written to it to lines, dropping lines nobody has room
// for so that run never blocks on its output.
type lineWriter struct {
	mu      sync.Mutex
	partial []byte
	lines   chan string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()

	w.partial = append(w.partial, p...)

	for {
		line, rest, found := bytes.Cut(w.partial, []byte("\n"))
		if !found {
			return len(p), nil
		}

		select {
		case w.lines <- string(line):
		default:
		}

		w.partial = rest
	}
}

// nextLine returns the next line run printed.
func nextLine(t *testing.T, lines <-chan string) string {
	t.Helper()

	select {
	case line := <-lines:
		return line
	case <-time.After(startTimeout):
		t.Fatal("run printed nothing")

		return ""
	}
}

// startRun starts run with args plus "-listen 127.0.0.1:0" and waits for its start lines. The
// server is stopped at the end of the test if the test did not stop it.
func startRun(t *testing.T, args ...string) *runningServer {
	t.Helper()

	return startRunLogging(t, io.Discard, args...)
}

// startRunLogging is startRun with the server's stderr going to stderr, which must not be read
// before the server is stopped.
func startRunLogging(t *testing.T, stderr io.Writer, args ...string) *runningServer {
	t.Helper()

	ctx, cancel := context.WithCancel(context.Background())
	stdout := &lineWriter{lines: make(chan string, 8)}
	done := make(chan error, 1)

	go func() {
		done <- run(ctx, append([]string{"-listen", "127.0.0.1:0"}, args...), stdout, stderr)
	}()

	srv := &runningServer{cancel: cancel, done: done, stdout: stdout.lines}
	t.Cleanup(func() { _ = srv.stop(t) })

	line := nextLine(t, stdout.lines)
	for {
		addr, found := strings.CutPrefix(line, "listening on ")
		if !found {
			break
		}

		addr, _, _ = strings.Cut(addr, " ")
		srv.addrs = append(srv.addrs, addr)
		line = nextLine(t, stdout.lines)
	}

	require.NotEmpty(t, srv.addrs, "unexpected start line %q", line)
	srv.addr = srv.addrs[0]
	assert.True(t, strings.HasPrefix(line, "credentials: "), line)

	return srv
}

// login connects to addr and logs in with the default credentials.
func login(t *testing.T, addr string) *ftp.ServerConn {
	t.Helper()

	conn, err := ftp.Dial(addr, ftp.DialWithTimeout(startTimeout))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Quit() })

	require.NoError(t, conn.Login("test", "test"))

	return conn
}

// randomBytes returns n random bytes.
func randomBytes(t *testing.T, n int) []byte {
	t.Helper()

	data := make([]byte, n)
	_, err := rand.Read(data)
	require.NoError(t, err)

	return data
}

// download retrieves name and returns its SHA-256.
func download(t *testing.T, conn *ftp.ServerConn, name string) [sha256.Size]byte {
	t.Helper()

	resp, err := conn.Retr(name)
	require.NoError(t, err)

	hash := sha256.New()
	_, err = io.Copy(hash, resp)
	require.NoError(t, err)
	require.NoError(t, resp.Close())

	return [sha256.Size]byte(hash.Sum(nil))
}

func TestRunServesMemory(t *testing.T) {
	t.Parallel()

	srv := startRun(t)
	conn := login(t, srv.addr)

	data := randomBytes(t, 300_000)
	require.NoError(t, conn.Stor("/upload.bin", bytes.NewReader(data)))

	entries, err := conn.List("/")
	require.NoError(t, err)
	require.Len(t, entries, 2, "MLSD lists the directory itself (\".\"), then the file")
	assert.Equal(t, ".", entries[0].Name)
	assert.Equal(t, "upload.bin", entries[1].Name)
	assert.Equal(t, uint64(len(data)), entries[1].Size)

	assert.Equal(t, sha256.Sum256(data), download(t, conn, "/upload.bin"))

	// The client is still logged in: shutdown must close it and return.
	require.NoError(t, srv.stop(t))
}

func TestRunServesRoot(t *testing.T) {
	t.Parallel()

	root := filepath.Join(t.TempDir(), "missing", "root")
	srv := startRun(t, "-root", root, "-root-create")
	conn := login(t, srv.addr)

	data := randomBytes(t, 70_000)
	require.NoError(t, conn.MakeDir("/dir"))
	require.NoError(t, conn.Stor("/dir/file.bin", bytes.NewReader(data)))

	onDisk, err := os.ReadFile(filepath.Join(root, "dir", "file.bin"))
	require.NoError(t, err)
	assert.Equal(t, sha256.Sum256(data), sha256.Sum256(onDisk))
	assert.Equal(t, sha256.Sum256(data), download(t, conn, "/dir/file.bin"))

	require.NoError(t, conn.Quit())
	require.NoError(t, srv.stop(t))
}

// TestRunAtomicUploadsFlag holds an upload open over an existing file and looks at the file on
// disk: by default the old content stays until the upload is complete; with
// -atomic-uploads=false the file is truncated when the upload starts.
func TestRunAtomicUploadsFlag(t *testing.T) {
	t.Parallel()

	for _, atomic := range []bool{true, false} {
		root := t.TempDir()
		target := filepath.Join(root, "f.bin")
		old := randomBytes(t, 50_000)
		require.NoError(t, os.WriteFile(target, old, 0o600))

		srv := startRun(t, "-root", root, fmt.Sprintf("-atomic-uploads=%t", atomic))
		conn := login(t, srv.addr)

		reader, writer := io.Pipe()
		stored := make(chan error, 1)

		go func() { stored <- conn.Stor("/f.bin", reader) }()

		first := randomBytes(t, 1000)
		_, err := writer.Write(first)
		require.NoError(t, err)

		if atomic {
			require.Eventually(t, func() bool {
				temps, _ := filepath.Glob(filepath.Join(root, ftpserver.AtomicUploadPrefix+"*"))

				return len(temps) == 1
			}, startTimeout, 10*time.Millisecond, "the upload writes a temporary file")

			during, readErr := os.ReadFile(target)
			require.NoError(t, readErr)
			assert.Equal(t, sha256.Sum256(old), sha256.Sum256(during), "the old file while the upload runs")
		} else {
			// The server fills its buffer before writing: the file is empty until the end.
			require.Eventually(t, func() bool {
				info, statErr := os.Stat(target)

				return statErr == nil && info.Size() == 0
			}, startTimeout, 10*time.Millisecond, "the old file is truncated at once")
		}

		rest := randomBytes(t, 2000)
		_, err = writer.Write(rest)
		require.NoError(t, err)
		require.NoError(t, writer.Close())
		require.NoError(t, <-stored)

		onDisk, err := os.ReadFile(target)
		require.NoError(t, err)
		assert.Equal(t, sha256.Sum256(append(first, rest...)), sha256.Sum256(onDisk), "atomic %t", atomic)

		require.NoError(t, conn.Quit())
		require.NoError(t, srv.stop(t))
	}
}

// TestRunRootKeepsLinksInside moves a relative link that points inside the root to where its
// text names a file outside: -root resolves it beneath the root and refuses it.
func TestRunRootKeepsLinksInside(t *testing.T) {
	t.Parallel()

	if runtime.GOOS == "windows" {
		t.Skip("needs Unix symbolic links")
	}

	outside := t.TempDir()
	root := filepath.Join(outside, "root")
	secret := filepath.Join(outside, "secret.txt")
	require.NoError(t, os.MkdirAll(filepath.Join(root, "mirror", "w"), 0o755))
	require.NoError(t, os.WriteFile(secret, []byte("outside"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(root, "secret.txt"), []byte("inside"), 0o600))
	require.NoError(t, os.Symlink("../../secret.txt", filepath.Join(root, "mirror", "w", "latest")))

	srv := startRun(t, "-root", root)
	conn := login(t, srv.addr)

	assert.Equal(t, sha256.Sum256([]byte("inside")), download(t, conn, "/mirror/w/latest"))
	require.NoError(t, conn.Rename("/mirror/w/latest", "/latest"))

	_, err := conn.Retr("/latest")
	// The client's error is the reply: its code, then its text quoted.
	require.EqualError(t, err, `550 "Could not access file: permission denied"`)
	require.EqualError(t, conn.Append("/latest", strings.NewReader("appended")),
		`550 "Could not access file: permission denied"`)

	data, err := os.ReadFile(secret)
	require.NoError(t, err)
	assert.Equal(t, "outside", string(data))
}

func TestRunRefusesWrongPassword(t *testing.T) {
	t.Parallel()

	srv := startRun(t, "-user", "alice", "-pass", "secret", "-login-failure-delay", "1ms")

	conn, err := ftp.Dial(srv.addr, ftp.DialWithTimeout(startTimeout))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Quit() })

	require.Error(t, conn.Login("alice", "wrong"))
	require.NoError(t, conn.Login("alice", "secret"))
}

func TestRunLogging(t *testing.T) {
	t.Parallel()

	for _, debug := range []bool{false, true} {
		var stderr bytes.Buffer

		args := []string{}
		if debug {
			args = append(args, "-debug")
		}

		srv := startRunLogging(t, &stderr, args...)
		conn := login(t, srv.addr)
		_, err := conn.List("/")
		require.NoError(t, err)
		require.NoError(t, conn.Quit())
		require.NoError(t, srv.stop(t))

		if debug {
			assert.NotEmpty(t, stderr.String(), "-debug logged nothing")
		} else {
			// Quiet but for one line per transfer: here the listing's.
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			require.Len(t, lines, 1, "a server without -debug logs only its transfers:\n%s", stderr.String())
			assert.True(t, strings.HasPrefix(lines[0], "level=info "), lines[0])
			assert.Contains(t, lines[0], " msg=transfer client=1 remote=127.0.0.1:")
			assert.Contains(t, lines[0], " user=test cmd=MLSD path=/ direction=download bytes=")
			assert.Contains(t, lines[0], " err=null")
		}
	}
}

func TestRunWithoutTransferLog(t *testing.T) {
	t.Parallel()

	var stderr bytes.Buffer

	srv := startRunLogging(t, &stderr, "-no-transfer-log")
	conn := login(t, srv.addr)
	_, err := conn.List("/")
	require.NoError(t, err)
	require.NoError(t, conn.Quit())
	require.NoError(t, srv.stop(t))

	assert.Empty(t, stderr.String(), "-no-transfer-log logged a transfer")
}

func TestRunFlagErrors(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		args []string
	}{
		{"pasv ports not a range", []string{"-pasv-ports", "2000"}},
		{"pasv ports not numbers", []string{"-pasv-ports", "a-b"}},
		{"pasv ports reversed", []string{"-pasv-ports", "3000-2000"}},
		{"pasv port zero", []string{"-pasv-ports", "0-10"}},
		{"pasv port too high", []string{"-pasv-ports", "60000-70000"}},
		{"public host not an IP", []string{"-public-host", "ftp.example.com"}},
		{"public host IPv6", []string{"-public-host", "::1"}},
		{"negative max clients", []string{"-max-clients", "-1"}},
		{"negative max clients per IP", []string{"-max-clients-per-ip", "-2"}},
		{"empty user", []string{"-user", ""}},
		{"negative upload rate", []string{"-max-upload-rate", "-1"}},
		{"negative download rate", []string{"-max-download-rate", "-1"}},
		{"download rate not a number", []string{"-max-download-rate", "1M"}},
		{"negative hash size", []string{"-max-hash-size", "-1"}},
		{"hash size not a number", []string{"-max-hash-size", "16G"}},
		{"unknown flag", []string{"-nope"}},
		{"stray argument", []string{"extra"}},
		{"missing root", []string{"-root", filepath.Join(t.TempDir(), "typo")}},
		{"root a file", []string{"-root", "main_test.go"}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			requireFlagError(t, tt.args...)
		})
	}
}

// requireFlagError runs the server with args, which must be refused: run returns errUsage and
// writes two lines, the error then where the usage is, and not the usage. It returns the error
// line.
func requireFlagError(t *testing.T, args ...string) string {
	t.Helper()

	var stderr bytes.Buffer

	err := run(context.Background(), args, io.Discard, &stderr)
	require.ErrorIs(t, err, errUsage)

	errLine, rest, found := strings.Cut(stderr.String(), "\n")
	require.True(t, found, "%q", stderr.String())
	assert.True(t, strings.HasPrefix(errLine, "ftpserver: "), errLine)
	assert.Equal(t, "Run 'ftpserver -h' for the usage.\n", rest, "one line after the error")
	assert.NotContains(t, stderr.String(), "Usage:")

	return errLine
}

// TestRunRootMustExist refuses a -root that does not exist, naming it and the flag that would
// create it; -root-create creates it.
func TestRunRootMustExist(t *testing.T) {
	t.Parallel()

	root := filepath.Join(t.TempDir(), "srv", "ftp")

	assert.Equal(t, "ftpserver: -root: "+root+" does not exist (create it, or add -root-create)",
		requireFlagError(t, "-root", root))
	assert.NoDirExists(t, root, "nothing created")

	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	assert.Equal(t, "ftpserver: -root: "+file+" is not a directory", requireFlagError(t, "-root", file))

	srv := startRun(t, "-root", root, "-root-create")
	conn := login(t, srv.addr)
	require.NoError(t, conn.Stor("/f.txt", strings.NewReader("created")))

	data, err := os.ReadFile(filepath.Join(root, "f.txt"))
	require.NoError(t, err)
	assert.Equal(t, "created", string(data))
}

func TestRunHelp(t *testing.T) {
	t.Parallel()

	var stderr bytes.Buffer

	err := run(context.Background(), []string{"-h"}, io.Discard, &stderr)
	require.ErrorIs(t, err, flag.ErrHelp)

	for _, name := range []string{
		"-listen", "-root", "-user", "-pass", "-pasv-ports", "-public-host",
		"-idle-timeout", "-debug", "-max-clients", "-max-clients-per-ip",
		"-max-login-failures", "-login-failure-delay", "-ban-window", "-ban-duration", "-ban-exempt", "-tls-session-reuse",
		"-metrics", "-max-upload-rate", "-max-download-rate", "-atomic-uploads", "-pasv-keep",
		"-root-create", "-pid-file", "-cpuprofile", "-max-hash-size",
	} {
		assert.Regexp(t, `(?m)^  `+name+`( |$)`, stderr.String())
	}
}

func TestParsePortRange(t *testing.T) {
	t.Parallel()

	ports, err := parsePortRange("2122-2130")
	require.NoError(t, err)
	assert.Equal(t, 2122, ports.Start)
	assert.Equal(t, 2130, ports.End)

	ports, err = parsePortRange("5000-5000")
	require.NoError(t, err)
	assert.Equal(t, ports.Start, ports.End)

	_, err = parsePortRange("-5")
	require.Error(t, err)
}

func TestRunListenError(t *testing.T) {
	t.Parallel()

	err := run(context.Background(), []string{"-listen", "127.0.0.1:99999"}, io.Discard, io.Discard)
	require.Error(t, err)
	assert.NotErrorIs(t, err, errUsage, "a listen failure is not a usage error")
}

// TestRunPidFileError stops at start when the -pid-file cannot be written, saying why.
func TestRunPidFileError(t *testing.T) {
	t.Parallel()

	pidFile := filepath.Join(t.TempDir(), "missing", "ftpserver.pid")

	err := run(context.Background(), []string{"-listen", "127.0.0.1:0", "-pid-file", pidFile}, io.Discard, io.Discard)
	require.ErrorIs(t, err, os.ErrNotExist)
	require.ErrorContains(t, err, "-pid-file: open "+pidFile)
	require.NotErrorIs(t, err, errUsage, "not a command-line error")
}

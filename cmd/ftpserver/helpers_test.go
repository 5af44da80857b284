// Shared helpers of the bundled server's tests: running the server (in process and as a built
// binary), users files, certificates, clients (jlaffaye/ftp, a raw text session, Commons Net),
// test data, fakes for unit tests, and readers of the server's logs and metrics. The outside
// services some tests start (Redis, an S3 gateway, the docs scripts) are in
// helpers_services_test.go.

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/ftpkit/ftpserver"
)

// --- Running the server in process ---

// startTimeout bounds the tests' waits: for the server's start line, a dial, a reply, a state
// polled for. It is a guard against a hang, not a delay: a test goes on as soon as what it
// waits for arrives, and the bound is generous so that a loaded machine does not fail it.
const startTimeout = 30 * time.Second

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

// homesServer serves, under a new -root, the -users alice (rw, /alice) and bob (rw, /bob),
// with bob's home holding secret.txt and docs/inner.txt. It returns the server's address and
// the -root directory.
func homesServer(t *testing.T, extra ...string) (addr, root string) {
	t.Helper()

	root = t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "alice"), 0o750))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "bob", "docs"), 0o750))
	require.NoError(t, os.WriteFile(filepath.Join(root, "bob", "secret.txt"), randomBytes(t, 3000), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(root, "bob", "docs", "inner.txt"), randomBytes(t, 500), 0o600))

	users := filepath.Join(t.TempDir(), "users")
	writeUsers(t, users, testUser{"alice", "alice-pw", "/alice", "rw"}, testUser{"bob", "bob-pw", "/bob", "rw"})

	srv := startRun(t, append([]string{"-root", root, "-users", users}, extra...)...)

	return srv.addr, root
}

// newTestDriver returns the driver the command line args would build.
func newTestDriver(t *testing.T, args ...string) *driver {
	t.Helper()

	cfg, err := parseFlags(args, io.Discard)
	require.NoError(t, err)

	drv, err := newDriver(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, drv.Close()) })

	return drv
}

// --- Running the built server as a process ---

var built struct {
	once sync.Once
	path string
	err  error
}

// serverBinary builds this package once per test run and returns the program's path.
func serverBinary(t *testing.T) string {
	t.Helper()

	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "ftpserver-bin-")
		if err != nil {
			built.err = err

			return
		}

		built.path = filepath.Join(dir, "ftpserver")

		out, err := exec.Command("go", "build", "-o", built.path, ".").CombinedOutput() //nolint:gosec // fixed command
		if err != nil {
			built.err = fmt.Errorf("building the bundled server: %w: %s", err, out)
		}
	})

	require.NoError(t, built.err)

	return built.path
}

// serverProcess is the bundled server running as a process.
type serverProcess struct {
	cmd    *exec.Cmd
	addr   string
	stderr <-chan string // its log lines
	exited chan error
}

// waitLog returns the next log line of the server that holds want.
func (p *serverProcess) waitLog(t *testing.T, want string) string {
	t.Helper()

	for {
		if line := nextLine(t, p.stderr); strings.Contains(line, want) {
			return line
		}
	}
}

// reload sends SIGHUP to the server process and returns its log line about the reload.
func (p *serverProcess) reload(t *testing.T, want string) string {
	t.Helper()

	require.NoError(t, p.cmd.Process.Signal(syscall.SIGHUP))

	return p.waitLog(t, want)
}

// startProcess runs the bundled server with args plus "-listen 127.0.0.1:0" and waits for its
// start lines. It is stopped with SIGTERM, and must exit 0, when the test ends.
func startProcess(t *testing.T, args ...string) *serverProcess {
	t.Helper()

	cmd := exec.Command(serverBinary(t), append([]string{"-listen", "127.0.0.1:0"}, args...)...) //nolint:gosec // the binary this test built
	stdout := &lineWriter{lines: make(chan string, 8)}
	stderr := &lineWriter{lines: make(chan string, 64)}
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	require.NoError(t, cmd.Start())

	proc := &serverProcess{cmd: cmd, stderr: stderr.lines, exited: make(chan error, 1)}

	go func() { proc.exited <- cmd.Wait() }()

	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)

		select {
		case err := <-proc.exited:
			assert.NoError(t, err, "the server exits 0 on SIGTERM")
		case <-time.After(shutdownTimeout + startTimeout):
			_ = cmd.Process.Kill()

			t.Error("the server did not stop on SIGTERM")
		}
	})

	addr, found := strings.CutPrefix(nextLine(t, stdout.lines), "listening on ")
	require.True(t, found, "unexpected start line")

	proc.addr, _, _ = strings.Cut(addr, " ")
	require.True(t, strings.HasPrefix(nextLine(t, stdout.lines), "credentials: "))

	return proc
}

// buildServer builds the bundled server into the test's temporary directory and returns the
// binary's path.
func buildServer(t *testing.T) string {
	t.Helper()

	binary := filepath.Join(t.TempDir(), "ftpserver")
	built, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	require.NoError(t, err, "building the bundled server: %s", built)

	return binary
}

// --- Users files ---

// testUser is a line of a -users file written by a test.
type testUser struct {
	name, pass, home, access string
}

// hashFor returns a bcrypt hash of pass at the lowest cost, to keep tests fast.
func hashFor(t *testing.T, pass string) string {
	t.Helper()

	hash, err := bcrypt.GenerateFromPassword([]byte(pass), bcrypt.MinCost)
	require.NoError(t, err)

	return string(hash)
}

// writeUsers writes a -users file with users (and a comment) to file.
func writeUsers(t *testing.T, file string, users ...testUser) {
	t.Helper()

	var b strings.Builder

	b.WriteString("# name:bcrypt-hash:home:access\n\n")

	for _, u := range users {
		fmt.Fprintf(&b, "%s:%s:%s:%s\n", u.name, hashFor(t, u.pass), u.home, u.access)
	}

	require.NoError(t, os.WriteFile(file, []byte(b.String()), 0o600))
}

// --- Certificates ---

// writeCertificate writes a new self-signed certificate and its key as PEM files and returns
// the certificate (DER).
func writeCertificate(t *testing.T, certFile, keyFile string) []byte {
	t.Helper()

	cert, err := selfSignedCertificate()
	require.NoError(t, err)

	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	require.NoError(t, err)

	der := cert.Certificate[0]
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}), 0o600))

	return der
}

// servedCertificate returns the certificate the server at addr shows a new TLS session.
func servedCertificate(t *testing.T, addr string) []byte {
	t.Helper()

	conn, err := authTLS(t, addr, &tls.Config{MinVersion: tls.VersionTLS12})
	require.NoError(t, err)

	return conn.ConnectionState().PeerCertificates[0].Raw
}

// --- Clients: jlaffaye/ftp ---

// login connects to addr and logs in with the default credentials.
func login(t *testing.T, addr string) *ftp.ServerConn {
	t.Helper()

	conn, err := ftp.Dial(addr, ftp.DialWithTimeout(startTimeout))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Quit() })

	require.NoError(t, conn.Login("test", "test"))

	return conn
}

// loginAs connects to addr and logs in as user.
func loginAs(t *testing.T, addr, user, pass string) *ftp.ServerConn {
	t.Helper()

	conn, err := ftp.Dial(addr, ftp.DialWithTimeout(startTimeout))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Quit() })

	require.NoError(t, conn.Login(user, pass), "login as %s", user)

	return conn
}

// fromIP dials from the loopback address ip (Linux routes all of 127.0.0.0/8 to loopback), so
// that one test plays several clients.
func fromIP(ip string) ftp.DialOption {
	return ftp.DialWithDialer(net.Dialer{Timeout: startTimeout, LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}})
}

// failLogin connects to addr and fails to log in once; options may choose the client's address.
func failLogin(t *testing.T, addr string, options ...ftp.DialOption) {
	t.Helper()

	conn, err := ftp.Dial(addr, append([]ftp.DialOption{ftp.DialWithTimeout(startTimeout)}, options...)...)
	require.NoError(t, err)
	require.Error(t, conn.Login("test", "wrong"))
	require.NoError(t, conn.Quit())
}

// names lists the home ("/") and returns the sorted names of its entries, without "." and "..".
func names(t *testing.T, conn *ftp.ServerConn) []string {
	t.Helper()

	entries, err := conn.List("/")
	require.NoError(t, err)

	var list []string

	for _, e := range entries {
		if e.Name != "." && e.Name != ".." {
			list = append(list, e.Name)
		}
	}

	slices.Sort(list)

	return list
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

// retrieve downloads name, returning its bytes or the error of RETR or of the transfer.
func retrieve(conn *ftp.ServerConn, name string) ([]byte, error) {
	resp, err := conn.Retr(name)
	if err != nil {
		return nil, err
	}

	data, err := io.ReadAll(resp)
	if closeErr := resp.Close(); err == nil {
		err = closeErr
	}

	return data, err
}

// requireReply requires err to be an FTP reply with code and text.
func requireReply(t *testing.T, err error, code int, text string) {
	t.Helper()

	var reply *textproto.Error

	require.ErrorAs(t, err, &reply)
	assert.Equal(t, code, reply.Code, reply.Msg)
	assert.Equal(t, text, reply.Msg)
}

// requireRefused requires err to be a 550 reply.
func requireRefused(t *testing.T, err error, what string) {
	t.Helper()

	var reply *textproto.Error

	if assert.ErrorAs(t, err, &reply, "%s must be refused", what) {
		assert.Equal(t, 550, reply.Code, "%s: %s", what, reply.Msg)
	}
}

// --- Clients: line-level sessions ---

// readGreeting returns the first reply on raw, and closes it.
func readGreeting(t *testing.T, raw net.Conn) (int, string) {
	t.Helper()

	conn := textproto.NewConn(raw)
	defer conn.Close()

	require.NoError(t, raw.SetDeadline(time.Now().Add(startTimeout)))

	code, msg, err := conn.ReadResponse(0) // 0: any code
	require.NoError(t, err)

	return code, msg
}

// greetingFrom returns the first reply of a new connection to addr from ip.
func greetingFrom(t *testing.T, addr, ip string) (int, string) {
	t.Helper()

	dialer := net.Dialer{Timeout: startTimeout, LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	raw, err := dialer.Dial("tcp", addr)
	require.NoError(t, err)

	return readGreeting(t, raw)
}

// dialText connects to addr, with a deadline bounding the whole connection, and reads the
// greeting.
func dialText(t *testing.T, addr string) *textproto.Conn {
	t.Helper()

	return dialTextFrom(t, addr, "")
}

// dialTextFrom is dialText from the local address ip ("": the system's choice).
func dialTextFrom(t *testing.T, addr, ip string) *textproto.Conn {
	t.Helper()

	dialer := net.Dialer{Timeout: startTimeout}
	if ip != "" {
		dialer.LocalAddr = &net.TCPAddr{IP: net.ParseIP(ip)}
	}

	raw, err := dialer.Dial("tcp", addr)
	require.NoError(t, err)
	require.NoError(t, raw.SetDeadline(time.Now().Add(2*startTimeout)))

	conn := textproto.NewConn(raw)
	t.Cleanup(func() { _ = conn.Close() })

	_, _, err = conn.ReadResponse(ftpserver.StatusServiceReady)
	require.NoError(t, err)

	return conn
}

// textCmd sends a command and returns the reply, whatever its code.
func textCmd(t *testing.T, conn *textproto.Conn, line string) (int, string) {
	t.Helper()

	_, err := conn.Cmd("%s", line)
	require.NoError(t, err)

	code, msg, err := conn.ReadResponse(0)
	require.NoError(t, err)

	return code, msg
}

// loginText connects to addr with a line-level session and logs in as user.
func loginText(t *testing.T, addr, user, pass string) *textproto.Conn {
	t.Helper()

	conn := dialText(t, addr)
	code, msg := textCmd(t, conn, "USER "+user)
	require.Equal(t, 331, code, msg)
	code, msg = textCmd(t, conn, "PASS "+pass)
	require.Equal(t, 230, code, msg)

	return conn
}

// requireCommands sends each line and requires a positive reply (below 400) to each.
func requireCommands(t *testing.T, conn *textproto.Conn, lines ...string) {
	t.Helper()

	for _, line := range lines {
		code, msg := textCmd(t, conn, line)
		require.Less(t, code, 400, "%s: %d %s", line, code, msg)
	}
}

// rawSession is a line-level FTP session for the commands jlaffaye/ftp has no call for.
type rawSession struct {
	t    *testing.T
	conn *textproto.Conn
}

// expect sends a command and requires the reply code; it returns the reply text.
func (r *rawSession) expect(line string, code int) string {
	r.t.Helper()

	require.NoError(r.t, r.conn.PrintfLine("%s", line))
	got, msg, err := r.conn.ReadResponse(0)
	require.Equal(r.t, code, got, "reply to %q: %s (%v)", line, msg, err)

	return msg
}

func dialRaw(t *testing.T, addr string) *rawSession {
	t.Helper()

	conn, err := textproto.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })

	_, _, err = conn.ReadResponse(220)
	require.NoError(t, err)

	return &rawSession{t: t, conn: conn}
}

// authTLS connects to addr, asks for explicit TLS (AUTH TLS) and runs the handshake with
// config, to which it adds InsecureSkipVerify. It returns the handshake's error.
func authTLS(t *testing.T, addr string, config *tls.Config) (*tls.Conn, error) {
	t.Helper()

	raw, err := net.DialTimeout("tcp", addr, startTimeout)
	require.NoError(t, err)
	t.Cleanup(func() { _ = raw.Close() })
	require.NoError(t, raw.SetDeadline(time.Now().Add(2*startTimeout)))

	text := textproto.NewConn(raw)
	_, _, err = text.ReadResponse(ftpserver.StatusServiceReady)
	require.NoError(t, err)
	require.NoError(t, text.PrintfLine("AUTH TLS"))
	_, _, err = text.ReadResponse(ftpserver.StatusAuthAccepted)
	require.NoError(t, err)

	config = config.Clone()
	config.InsecureSkipVerify = true

	conn := tls.Client(raw, config)

	err = conn.Handshake()

	return conn, err
}

// --- Clients: external programs ---

// probeTimeout bounds one run of a client program: a guard against a hang, not a delay.
const probeTimeout = 60 * time.Second

// compileCommonsNetProbe compiles testdata/CommonsNetProbe.java against jar into a directory of
// the test, which it returns.
func compileCommonsNetProbe(t *testing.T, jar string) string {
	t.Helper()

	classes := t.TempDir()

	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()

	out, err := exec.CommandContext(ctx, "javac", "-cp", jar, "-d", classes, "testdata/CommonsNetProbe.java").
		CombinedOutput()
	require.NoError(t, err, "javac: %s", out)

	return classes
}

// --- Test data and directory trees ---

// randomBytes returns n random bytes.
func randomBytes(t *testing.T, n int) []byte {
	t.Helper()

	data := make([]byte, n)
	_, err := rand.Read(data)
	require.NoError(t, err)

	return data
}

// treeDigest describes every entry under dir but those under skip (a slash path relative to
// dir; "" skips nothing): type and permissions, the SHA-256 of files, the text of links. Links
// are described, never followed.
func treeDigest(t *testing.T, dir, skip string) map[string]string {
	t.Helper()

	root, err := os.OpenRoot(dir)
	require.NoError(t, err)

	defer func() { require.NoError(t, root.Close()) }()

	digest := map[string]string{}

	require.NoError(t, fs.WalkDir(root.FS(), ".", func(name string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}

		if skip != "" && (name == skip || strings.HasPrefix(name, skip+"/")) {
			return fs.SkipDir
		}

		info, err := root.Lstat(name)
		if err != nil {
			return err
		}

		desc := info.Mode().String()

		switch {
		case info.Mode().IsRegular():
			data, err := root.ReadFile(name)
			if err != nil {
				return err
			}

			sum := sha256.Sum256(data)
			desc += " " + hex.EncodeToString(sum[:])
		case info.Mode()&fs.ModeSymlink != 0:
			text, err := root.Readlink(name)
			if err != nil {
				return err
			}

			desc += " -> " + text
		}

		digest[name] = desc

		return nil
	}))

	return digest
}

// realDir tells whether dir, a slash path relative to home, is a directory of home reached
// without a link.
func realDir(home, dir string) bool {
	p := home

	for elem := range strings.SplitSeq(path.Clean(dir), "/") {
		if elem == "." {
			continue
		}

		p = filepath.Join(p, elem)

		info, err := os.Lstat(p)
		if err != nil || !info.IsDir() {
			return false
		}
	}

	return true
}

// requireUnixLinks skips on Windows, where the links of these tests need privileges.
func requireUnixLinks(t *testing.T) {
	t.Helper()

	if runtime.GOOS == "windows" {
		t.Skip("needs Unix symbolic links")
	}
}

// --- Fakes for unit tests ---

// fakeClient is the ClientContext the ban list reads: only its address matters.
type fakeClient struct {
	ftpserver.ClientContext

	addr net.Addr
}

func (c fakeClient) RemoteAddr() net.Addr { return c.addr }

func tcpAddr(ip string) *net.TCPAddr {
	return &net.TCPAddr{IP: net.ParseIP(ip), Port: 40000}
}

// fakeClock is a time that tests move by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func newTestBanList(maxFailures int) (*banList, *fakeClock) {
	clock := &fakeClock{t: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	bans := newBanList(maxFailures, time.Minute, 10*time.Minute, nil)
	bans.now = clock.now

	return bans, clock
}

// --- Readers of logs and metrics ---

// logWatch is a server's stderr that a test reads while the server runs: it waits for lines.
type logWatch struct {
	mu      sync.Mutex
	text    strings.Builder
	written chan struct{} // closed and replaced at each write
}

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

func newLogWatch() *logWatch { return &logWatch{written: make(chan struct{})} }

// ctimePattern is the current-time field of xferlog: ctime(3)'s layout, the day padded with a
// space to two characters.
var ctimePattern = regexp.MustCompile(`^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} [ 123]\d \d\d:\d\d:\d\d \d{4}$`)

// xferlogFields is one line of xferlog, split into its fields.
type xferlogFields struct {
	time                                                  time.Time
	seconds, host, size, name, transferType, action       string
	direction, access, user, service, method, authID, end string
}

// parseXferlog splits a line of xferlog into its fields: the five words of current-time, then
// thirteen fields, none of them empty.
func parseXferlog(t *testing.T, line string) xferlogFields {
	t.Helper()

	words := strings.Split(strings.TrimSuffix(line, "\n"), " ")
	// ctime pads a one-digit day with a space, which makes an empty word when splitting on spaces.
	timeWords := 5
	if words[2] == "" {
		timeWords = 6
	}

	stamp := strings.Join(words[:timeWords], " ")
	require.Regexp(t, ctimePattern, stamp)

	when, err := time.ParseInLocation(time.ANSIC, stamp, time.Local)
	require.NoError(t, err)

	f := words[timeWords:]
	require.Len(t, f, 13, "fields after current-time: %q", line)

	for i, field := range f {
		require.NotEmpty(t, field, "field %d of %q", i+2, line)
	}

	return xferlogFields{
		time: when, seconds: f[0], host: f[1], size: f[2], name: f[3], transferType: f[4], action: f[5],
		direction: f[6], access: f[7], user: f[8], service: f[9], method: f[10], authID: f[11], end: f[12],
	}
}

// auditFields are the names of the fields of an -audit-log line, all always present.
var auditFields = []string{
	"time", "kind", "user", "remote", "session", "command", "path", "target", "direction", "bytes",
	"duration_ms", "result",
}

// parseAudit decodes a line of -audit-log and checks that it has every field and no other.
func parseAudit(t *testing.T, line string) map[string]any {
	t.Helper()

	var record map[string]any

	require.NoError(t, json.Unmarshal([]byte(line), &record), line)

	keys := make([]string, 0, len(record))
	for key := range record {
		keys = append(keys, key)
	}

	assert.ElementsMatch(t, auditFields, keys, line)

	stamp, _ := record["time"].(string)
	_, err := time.Parse(time.RFC3339Nano, stamp)
	require.NoError(t, err, line)
	assert.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`, stamp, "UTC with microseconds")

	return record
}

// scrape returns the text of the metrics served at url.
func scrape(t *testing.T, url string) string {
	t.Helper()

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, http.NoBody)
	require.NoError(t, err)

	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)

	defer resp.Body.Close()

	require.Equal(t, http.StatusOK, resp.StatusCode)

	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)

	return string(body)
}

// helpers_test.go holds what most tests start from: the test server and its options, the test
// MainDriver, the jlaffaye/ftp and raw control clients, data connections, TLS, the external
// clients (curl, lftp, ...) and the bundled server binary, and the assertions several test files
// share. The recorders and test file systems behind a server are in helpers_fs_test.go.

package ftpserver

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/md5" //nolint:gosec // G501: the digest under test
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // G505: the digest under test
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/big"
	"net"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/jlaffaye/ftp"
	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/ftpkit/ftpserver/internal/porttest"
	"github.com/ftpkit/ftpserver/rootfs"
)

// newTestServer starts a server on 127.0.0.1:0 over an in-memory file system and stops it when
// the test ends, checking that no goroutine of the server outlived it.

// --- Test driver and test server -----------------------------------------------------------------

const (
	testUser = "test"
	testPass = "secret"
)

var errBadCredentials = errors.New("bad credentials")

// testDriver is the MainDriver of the tests: one user on one file system, with hooks the tests
// set to observe or steer the server.
type testDriver struct {
	fs        afero.Fs
	settings  *Settings
	tlsConfig *tls.Config

	mu            sync.Mutex
	connected     int
	disconnected  int
	welcomeErr    error
	preAuth       func(cc ClientContext, user string) error
	wrap          func(*testDriver) MainDriver // a MainDriver with extensions around this one
	lastClientCtx ClientContext
	logger        log.Logger     // the server's logger, when a test reads the logs
	zeroCopy      *zeroCopy      // the server's ways of sending files, when not its platform's
	sockets       *socketOptions // the server's socket options, when not its platform's
}

func (d *testDriver) GetSettings() (*Settings, error) {
	return d.settings, nil
}

func (d *testDriver) ClientConnected(cc ClientContext) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()

	d.connected++
	d.lastClientCtx = cc

	if d.welcomeErr != nil {
		return "", d.welcomeErr
	}

	return "ftpkit test server", nil
}

func (d *testDriver) ClientDisconnected(ClientContext) {
	d.mu.Lock()
	defer d.mu.Unlock()

	d.disconnected++
}

func (d *testDriver) AuthUser(_ ClientContext, user, pass string) (ClientDriver, error) {
	if user == testUser && pass == testPass {
		return d.fs, nil
	}

	return nil, errBadCredentials
}

func (d *testDriver) GetTLSConfig() (*tls.Config, error) {
	if d.tlsConfig == nil {
		return nil, errors.New("TLS not configured")
	}

	return d.tlsConfig, nil
}

// preAuthDriver adds MainDriverExtensionUserVerifier to testDriver.
type preAuthDriver struct{ *testDriver }

func (d preAuthDriver) PreAuthUser(cc ClientContext, user string) error {
	return d.preAuth(cc, user)
}

// policyUsers is a MainDriver serving several users, each on its own file system with its own
// SessionSettings; the password of each is testPass, and names are matched without regard to
// case, as many drivers do.
type policyUsers struct {
	*testDriver

	users map[string]ClientDriver
}

func (d policyUsers) AuthUser(_ ClientContext, user, pass string) (ClientDriver, error) {
	userFs, ok := d.users[strings.ToLower(user)]
	if !ok || pass != testPass {
		return nil, errBadCredentials
	}

	return userFs, nil
}

// passiveWrapperDriver adds MainDriverExtensionPassiveWrapper to the test driver.
type passiveWrapperDriver struct {
	*testDriver

	fail    atomic.Bool
	asIs    atomic.Bool // return the listener unwrapped
	wraps   atomic.Int32
	accepts atomic.Int32
}

func (d *passiveWrapperDriver) WrapPassiveListener(listener net.Listener) (net.Listener, error) {
	d.wraps.Add(1)

	if d.fail.Load() {
		return nil, errWrapRefused
	}

	if d.asIs.Load() {
		return listener, nil
	}

	return &countingListener{Listener: listener, accepts: &d.accepts}, nil
}

var errWrapRefused = errors.New("wrapping refused")

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener

	accepts *atomic.Int32
}

func (l *countingListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err == nil {
		l.accepts.Add(1)
	}

	return conn, err
}

// driverPorts is a PasvPortGetter of a driver's own, with value receivers.
type driverPorts struct{ port int }

func (p driverPorts) FetchNext() (int, int, bool) { return p.port, p.port, true }
func (p driverPorts) NumberAttempts() int         { return 1 }

// eventsDriver adds MainDriverExtensionEvents to testDriver: it passes every event to a
// channel the test reads.
type eventsDriver struct {
	*testDriver

	events chan seenEvent
}

func (d eventsDriver) HandleEvent(cc ClientContext, event Event) {
	d.events <- seenEvent{Event: event, clientID: cc.ID(), remote: cc.RemoteAddr().String()}
}

// testServer is a running server and what the tests need to reach it.
type testServer struct {
	*FtpServer
	driver *testDriver
}

// dial logs in with jlaffaye/ftp, the reference Go client.
func (s *testServer) dial(tb testing.TB, opts ...ftp.DialOption) *ftp.ServerConn {
	tb.Helper()

	opts = append([]ftp.DialOption{ftp.DialWithTimeout(5 * time.Second)}, opts...)
	conn, err := ftp.Dial(s.Addr(), opts...)
	require.NoError(tb, err)
	require.NoError(tb, conn.Login(testUser, testPass))

	tb.Cleanup(func() { _ = conn.Quit() })

	return conn
}

// raw connects without logging in and reads the greeting.
func (s *testServer) raw(tb testing.TB) *rawClient {
	tb.Helper()

	conn, err := net.DialTimeout("tcp", s.Addr(), 5*time.Second)
	require.NoError(tb, err)

	rc := &rawClient{t: tb, conn: conn, text: textproto.NewConn(conn)}
	tb.Cleanup(func() { _ = rc.text.Close() })

	code, _ := rc.read()
	require.Equal(tb, StatusServiceReady, code)

	return rc
}

// rawLoggedIn connects and logs in.
func (s *testServer) rawLoggedIn(tb testing.TB) *rawClient {
	tb.Helper()

	rc := s.raw(tb)
	rc.expect("USER "+testUser, StatusUserOK)
	rc.expect("PASS "+testPass, StatusUserLoggedIn)

	return rc
}

// liveTestServers counts the servers of newTestServer not yet stopped.
var liveTestServers atomic.Int32

func newTestServer(tb testing.TB, opts ...testOption) *testServer {
	tb.Helper()

	// Every benchmark of a server reports its allocations (client and server together, in one
	// process), with or without -benchmem.
	if b, ok := tb.(*testing.B); ok {
		b.ReportAllocs()
	}

	ignore := goleak.IgnoreCurrent()

	liveTestServers.Add(1)
	// A failed login waits 1 s by default; tests that fail logins need not.
	driver := &testDriver{
		fs:       afero.NewMemMapFs(),
		settings: &Settings{ListenAddr: "127.0.0.1:0", ConnectionTimeout: 5, LoginFailureDelay: time.Millisecond},
	}

	for _, opt := range opts {
		opt(driver)
	}

	var main MainDriver = driver

	switch {
	case driver.wrap != nil:
		main = driver.wrap(driver)
	case driver.preAuth != nil:
		main = preAuthDriver{driver}
	}

	server := NewFtpServer(main)
	if driver.zeroCopy != nil {
		server.zeroCopy = driver.zeroCopy
	}

	if driver.sockets != nil {
		server.sockets = driver.sockets
	}

	switch {
	case driver.logger != nil:
		server.Logger = driver.logger
	case testing.Verbose():
		server.Logger = log.NewLogfmtLogger(log.NewSyncWriter(os.Stderr))
	}

	require.NoError(tb, server.Listen())

	served := make(chan error, 1)

	go func() { served <- server.Serve() }()

	tb.Cleanup(func() {
		require.NoError(tb, server.Stop())
		require.NoError(tb, <-served)

		// The goroutines of another server still running (a parallel test's) cannot be told
		// from this one's: the check runs when this server was the last one running. Tests
		// that run in parallel with this one also start runners of their own ("created by
		// testing.(*T).Run") after IgnoreCurrent; a goroutine a server left behind never runs
		// under testing.tRunner.
		if liveTestServers.Add(-1) == 0 {
			goleak.VerifyNone(tb, ignore, goleak.IgnoreAnyFunction("testing.tRunner"))
		}
	})

	return &testServer{FtpServer: server, driver: driver}
}

// newTestServerMain is newTestServer for a MainDriver with extensions: main turns the test
// driver into the MainDriver the server runs.
func newTestServerMain(t *testing.T, main func(*testDriver) MainDriver, opts ...testOption) *testServer {
	t.Helper()

	return newTestServer(t, append(opts, func(d *testDriver) { d.wrap = main })...)
}

// startShutdown runs Shutdown with a context of timeout; its result arrives on the channel.
func (s *testServer) startShutdown(timeout time.Duration) <-chan error {
	shutdown := make(chan error, 1)

	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()

		shutdown <- s.Shutdown(ctx)
	}()

	return shutdown
}

func (s *testServer) disconnectedCount() int {
	s.driver.mu.Lock()
	defer s.driver.mu.Unlock()

	return s.driver.disconnected
}

// clientContext returns the context of the last client that connected.
func (s *testServer) clientContext() ClientContext {
	s.driver.mu.Lock()
	defer s.driver.mu.Unlock()

	return s.driver.lastClientCtx
}

// --- Options -------------------------------------------------------------------------------------

type testOption func(*testDriver)

// withSettings changes the settings before the server starts.
func withSettings(change func(*Settings)) testOption {
	return func(d *testDriver) { change(d.settings) }
}

// withOsFs serves a fresh temporary directory through afero's BasePathFs, as real deployments
// do, instead of memory.
func withOsFs(tb testing.TB) testOption {
	tb.Helper()

	dir := tb.TempDir()

	return func(d *testDriver) { d.fs = afero.NewBasePathFs(afero.NewOsFs(), dir) }
}

// withFs makes fsys the file system of the test user.
func withFs(fsys afero.Fs) testOption {
	return func(d *testDriver) { d.fs = fsys }
}

// withRootFs serves a fresh temporary directory through rootfs, closed when the test ends.
func withRootFs(tb testing.TB) testOption {
	tb.Helper()

	fsys, err := rootfs.New(tb.TempDir())
	require.NoError(tb, err)
	tb.Cleanup(func() { assert.NoError(tb, fsys.Close()) })

	return withFs(fsys)
}

// withLogger makes logger the server's.
func withLogger(logger log.Logger) testOption {
	return func(d *testDriver) { d.logger = logger }
}

// withTLS gives the test driver a TLS configuration.
func withTLS(tb testing.TB) testOption {
	tb.Helper()

	cert := testCertificate(tb, "ftpkit server")

	return func(d *testDriver) {
		d.tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
}

// withDeflate offers MODE Z at a compression level.
func withDeflate(level int) testOption {
	return withSettings(func(s *Settings) { s.DeflateCompressionLevel = level })
}

// withSharedPorts turns PassiveTransferPortMultiplexing on over n ports, and returns the first.
func withSharedPorts(t *testing.T, n int) (testOption, int) {
	t.Helper()

	start := porttest.QuietRange(t, n)

	return withSettings(func(s *Settings) {
		s.PassiveTransferPortRange = &PortRange{Start: start, End: start + n - 1}
		s.PassiveTransferPortMultiplexing = true
	}), start
}

// keepingListeners turns KeepPassiveListener on, with change applied to the settings too.
func keepingListeners(t *testing.T, change func(*Settings)) testOption {
	t.Helper()

	if platformSockets.queued == nil {
		t.Skip("passive listeners are kept only where the server can see their queue")
	}

	return withSettings(func(s *Settings) {
		s.KeepPassiveListener = true
		change(s)
	})
}

// enableHASH is the option of every test that needs HASH and the X* commands.
func enableHASH(s *Settings) { s.EnableHASH = true }

// --- Servers ready for one kind of test ----------------------------------------------------------

// serverWithFile starts a server holding /f.bin and returns it with its content.
func serverWithFile(t *testing.T, opts ...testOption) (*testServer, []byte) {
	t.Helper()

	s := newTestServer(t, opts...)
	content := testContent(300_000)
	require.NoError(t, writeFile(s.driver.fs, "/f.bin", content))

	return s, content
}

// newEventsServer starts a test server whose driver records events.
func newEventsServer(t *testing.T, opts ...testOption) (*testServer, <-chan seenEvent) {
	t.Helper()

	events := make(chan seenEvent, 64)
	s := newTestServerMain(t, func(d *testDriver) MainDriver { return eventsDriver{d, events} }, opts...)

	return s, events
}

// newAtomicServer starts a server with AtomicUploads, over memory or a directory.
func newAtomicServer(t *testing.T, dir bool) *testServer {
	t.Helper()

	opts := []testOption{withSettings(func(settings *Settings) { settings.AtomicUploads = true })}
	if dir {
		opts = append(opts, withOsFs(t))
	}

	return newTestServer(t, opts...)
}

// newPolicyServer starts a test server for users.
func newPolicyServer(t *testing.T, users map[string]ClientDriver, opts ...testOption) *testServer {
	t.Helper()

	return newTestServerMain(t, func(d *testDriver) MainDriver { return policyUsers{d, users} }, opts...)
}

// benchServer starts a server for a benchmark over a real directory, so downloads can take
// the sendfile path.
func benchServer(b *testing.B, opts ...testOption) *testServer {
	b.Helper()

	return newTestServer(b, append([]testOption{withOsFs(b)}, opts...)...)
}

// jailedServer is a server over rootfs with the served directory inside a directory of its own,
// which holds secret.txt beside it.
type jailedServer struct {
	*testServer

	served, outside string
	before          map[string]outsideEntry
}

// outsideState records every entry of the directory around the served one, but the served
// directory itself.
func (s *jailedServer) outsideState(t *testing.T) map[string]outsideEntry {
	t.Helper()

	entries, err := os.ReadDir(s.outside)
	require.NoError(t, err)

	state := map[string]outsideEntry{}

	for _, entry := range entries {
		p := filepath.Join(s.outside, entry.Name())
		if p == s.served {
			continue
		}

		info, err := os.Lstat(p)
		require.NoError(t, err)

		var data []byte
		if info.Mode().IsRegular() {
			data, err = os.ReadFile(p)
			require.NoError(t, err)
		}

		state[entry.Name()] = outsideEntry{data: string(data), mode: info.Mode(), mtime: info.ModTime()}
	}

	return state
}

// requireOutsideUntouched checks that nothing outside the served directory changed: same
// entries, same bytes, modes and modification times, nothing new.
func (s *jailedServer) requireOutsideUntouched(t *testing.T) {
	t.Helper()

	require.Equal(t, s.before, s.outsideState(t), "the directory around the served one changed")
	require.Equal(t, outsideSecret, s.before["secret.txt"].data)
}

// outsideSecret is the content of the file beside the served directory.
const outsideSecret = "outside secret"

// outsideEntry is what a test checks of an entry outside the served directory.
type outsideEntry struct {
	data  string
	mode  os.FileMode
	mtime time.Time
}

// newJailedServer serves a new directory through rootfs, with links made by links (name to
// target, both slash-separated; a target starting with "@/" is made absolute in the directory
// around the served one) and regular files by files. The outside is recorded once all is made.
func newJailedServer(t *testing.T, links, files map[string]string, opts ...testOption) *jailedServer {
	t.Helper()

	if runtime.GOOS == "windows" {
		t.Skip("these link trees need Unix symbolic links")
	}

	outside := t.TempDir()
	served := filepath.Join(outside, "served")
	require.NoError(t, os.Mkdir(served, 0o755))

	secret := filepath.Join(outside, "secret.txt")
	require.NoError(t, os.WriteFile(secret, []byte(outsideSecret), 0o600))
	// An old time, so that a change made now would show.
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	require.NoError(t, os.Chtimes(secret, old, old))

	for name, content := range files {
		p := filepath.Join(served, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}

	for name, target := range links {
		if rest, ok := strings.CutPrefix(target, "@/"); ok {
			target = filepath.Join(outside, filepath.FromSlash(rest))
		}

		p := filepath.Join(served, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.Symlink(filepath.FromSlash(target), p))
	}

	fsys, err := rootfs.New(served)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, fsys.Close()) })

	s := &jailedServer{testServer: newTestServer(t, append([]testOption{withFs(fsys)}, opts...)...),
		served: served, outside: outside}
	s.before = s.outsideState(t)

	return s
}

// jailDirs returns the served directory of a withOsFs server and the directory around it.
func jailDirs(t *testing.T, s *testServer) (served, outside string) {
	t.Helper()

	jail, ok := s.driver.fs.(*afero.BasePathFs)
	require.True(t, ok, "withOsFs serves a BasePathFs")

	served, err := jail.RealPath("/")
	require.NoError(t, err)

	return served, filepath.Dir(served)
}

// --- Running a test on each file system ----------------------------------------------------------

// onFileSystems runs test against a server over memory and one over a real directory behind
// afero's jail, both with the given options.
func onFileSystems(t *testing.T, test func(t *testing.T, s *testServer), opts ...testOption) {
	t.Helper()

	t.Run("memory", func(t *testing.T) { test(t, newTestServer(t, opts...)) })
	t.Run("os", func(t *testing.T) { test(t, newTestServer(t, append(opts, withOsFs(t))...)) })
}

// atomicFileSystems are the file systems the atomic upload tests run on: memory, and a
// directory (afero's OsFs behind BasePathFs) where the rename is the system's.
var atomicFileSystems = []struct {
	name string
	dir  bool
}{{"memory", false}, {"directory", true}}

// --- jlaffaye/ftp client -------------------------------------------------------------------------

// dialAs logs user in with jlaffaye/ftp.
func (s *testServer) dialAs(tb testing.TB, user string) *ftp.ServerConn {
	tb.Helper()

	conn, err := ftp.Dial(s.Addr(), ftp.DialWithTimeout(5*time.Second))
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = conn.Quit() })
	require.NoError(tb, conn.Login(user, testPass))

	return conn
}

// retrText downloads name and returns its content.
func retrText(t *testing.T, conn *ftp.ServerConn, name string) string {
	t.Helper()

	r, err := conn.Retr(name)
	require.NoError(t, err, "RETR %s", name)

	return string(readAllClose(t, r))
}

var errContentDiffers = errors.New("downloaded content differs")

// retrExpect downloads name and checks it holds want, by hash.
func retrExpect(conn *ftp.ServerConn, name string, want []byte) error {
	r, err := conn.Retr(name)
	if err != nil {
		return err
	}

	got, readErr := io.ReadAll(r)
	if err := errors.Join(readErr, r.Close()); err != nil {
		return err
	}

	if sha256Hex(got) != sha256Hex(want) {
		return errContentDiffers
	}

	return nil
}

// transferEach runs one transfer per connection, all at once: a download of name, which must
// hold content, or an upload of content to name plus the connection's index. It returns how
// long they took together.
func transferEach(t *testing.T, conns []*ftp.ServerConn, upload bool, name string, content []byte,
) time.Duration {
	t.Helper()

	var wg sync.WaitGroup

	errs := make([]error, len(conns))
	start := time.Now()

	for i, conn := range conns {
		wg.Go(func() {
			if upload {
				errs[i] = conn.Stor(name+strconv.Itoa(i), bytes.NewReader(content))

				return
			}

			errs[i] = retrExpect(conn, name, content)
		})
	}

	wg.Wait()

	elapsed := time.Since(start)

	for _, err := range errs {
		require.NoError(t, err)
	}

	return elapsed
}

// --- Raw control client --------------------------------------------------------------------------

// rawClient speaks FTP line by line, for what a client library hides: exact reply codes and
// texts, malformed commands, and sequences no library sends.
type rawClient struct {
	t    testing.TB
	conn net.Conn
	text *textproto.Conn
}

// send writes one command line.
func (rc *rawClient) send(line string) {
	rc.t.Helper()

	require.NoError(rc.t, rc.conn.SetDeadline(time.Now().Add(10*time.Second)))
	require.NoError(rc.t, rc.text.PrintfLine("%s", line))
}

// read reads one (possibly multi-line) reply.
func (rc *rawClient) read() (int, string) {
	rc.t.Helper()

	require.NoError(rc.t, rc.conn.SetDeadline(time.Now().Add(10*time.Second)))
	code, msg, err := rc.text.ReadResponse(0)

	var protoErr textproto.ProtocolError
	if !errors.As(err, &protoErr) {
		require.NoError(rc.t, err)
	}

	return code, msg
}

// cmd sends a command and returns its reply.
func (rc *rawClient) cmd(line string) (int, string) {
	rc.t.Helper()
	rc.send(line)

	return rc.read()
}

// expect sends a command and requires the reply code; it returns the reply text.
func (rc *rawClient) expect(line string, code int) string {
	rc.t.Helper()

	got, msg := rc.cmd(line)
	require.Equal(rc.t, code, got, "reply to %q: %s", line, msg)

	return msg
}

// pasv sends PASV and connects to the announced address.
func (rc *rawClient) pasv() net.Conn {
	rc.t.Helper()

	msg := rc.expect("PASV", StatusEnteringPASV)
	start, end := strings.IndexByte(msg, '('), strings.IndexByte(msg, ')')
	require.Positive(rc.t, start)

	addr, err := parsePORTArg(msg[start+1 : end])
	require.NoError(rc.t, err)

	conn, err := net.DialTimeout("tcp", addr.String(), 5*time.Second)
	require.NoError(rc.t, err)
	rc.t.Cleanup(func() { _ = conn.Close() })

	return conn
}

// port listens on the client side, announces it with PORT or EPRT, and returns a function that
// accepts the server's data connection.
func (rc *rawClient) port(command string) func() net.Conn {
	rc.t.Helper()

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(rc.t, err)
	rc.t.Cleanup(func() { _ = listener.Close() })

	tcpListener, ok := listener.(*net.TCPListener)
	require.True(rc.t, ok)

	port := tcpListener.Addr().(*net.TCPAddr).Port //nolint:errcheck // a TCP listener
	if command == "PORT" {
		rc.expect(fmt.Sprintf("PORT 127,0,0,1,%d,%d", port>>8, port&0xFF), StatusOK)
	} else {
		rc.expect(fmt.Sprintf("EPRT |1|127.0.0.1|%d|", port), StatusOK)
	}

	return func() net.Conn {
		rc.t.Helper()

		require.NoError(rc.t, tcpListener.SetDeadline(time.Now().Add(10*time.Second)))
		conn, err := listener.Accept()
		require.NoError(rc.t, err)
		rc.t.Cleanup(func() { _ = conn.Close() })

		return conn
	}
}

// retrActive downloads name over a data connection the server opens to the client, announced
// with command (PORT or EPRT), requires the 226 after it, and returns the bytes and the port
// the server's connection came from.
func (rc *rawClient) retrActive(command, name string) ([]byte, int) {
	rc.t.Helper()

	accept := rc.port(command)
	rc.expect("RETR "+name, StatusFileStatusOK)

	data := accept()
	from := data.RemoteAddr().(*net.TCPAddr).Port //nolint:errcheck // a TCP connection
	got := readAllClose(rc.t, data)

	code, msg := rc.read()
	require.Equal(rc.t, StatusClosingDataConn, code, "%s: %s", command, msg)

	return got, from
}

// startRETR starts a binary download over PASV and returns its data connection once the first
// bytes have arrived, so the transfer is surely running.
func (rc *rawClient) startRETR(name string) net.Conn {
	rc.t.Helper()

	rc.expect("TYPE I", StatusOK)
	data := rc.pasv()
	assert.Equal(rc.t, "Using transfer connection", rc.expect("RETR "+name, StatusFileStatusOK))

	_, err := io.ReadFull(data, make([]byte, 1000))
	require.NoError(rc.t, err)

	return data
}

// abort sends an ABOR line and requires the 426 of the transfer, then ABOR's own 226.
func (rc *rawClient) abort(line string) {
	rc.t.Helper()

	rc.send(line)
	rc.expectAborted()
}

// expectAborted requires the 426 of an aborted transfer, then ABOR's own 226.
func (rc *rawClient) expectAborted() {
	rc.t.Helper()

	code, msg := rc.read()
	assert.Equal(rc.t, StatusTransferAborted, code, msg)
	assert.Equal(rc.t, "Connection closed; transfer aborted", msg)

	code, msg = rc.read()
	assert.Equal(rc.t, StatusClosingDataConn, code, msg)
	assert.Equal(rc.t, "ABOR successful; closing transfer connection", msg)
}

// rawAs connects and logs user in.
func (s *testServer) rawAs(tb testing.TB, user string) *rawClient {
	tb.Helper()

	rc := s.raw(tb)
	rc.expect("USER "+user, StatusUserOK)
	rc.expect("PASS "+testPass, StatusUserLoggedIn)

	return rc
}

// dialFrom connects to the control port from the local IP from.
func (s *testServer) dialFrom(tb testing.TB, from string) net.Conn {
	tb.Helper()

	dialer := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	conn, err := dialer.Dial("tcp", s.Addr())
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = conn.Close() })

	return conn
}

// strangerIP is a loopback address other than 127.0.0.1 for a test client to connect from, so
// that the server sees a second machine; the PROXY protocol tests make it an upstream they do
// not trust.
const strangerIP = "127.0.0.2"

// rawOver wraps an open control connection; it reads no greeting.
func rawOver(tb testing.TB, conn net.Conn) *rawClient {
	tb.Helper()

	return &rawClient{t: tb, conn: conn, text: textproto.NewConn(conn)}
}

// loginAs logs a raw client in with the test user.
func (rc *rawClient) loginAs() {
	rc.t.Helper()

	rc.expect("USER "+testUser, StatusUserOK)
	rc.expect("PASS "+testPass, StatusUserLoggedIn)
}

// expectClosed requires the server to have closed the control connection.
func (rc *rawClient) expectClosed() {
	rc.t.Helper()

	require.NoError(rc.t, rc.conn.SetReadDeadline(time.Now().Add(10*time.Second)))

	_, err := rc.text.ReadLine()
	require.ErrorIs(rc.t, err, io.EOF)
}

// listing runs a listing command over a fresh passive connection and returns its lines,
// without their CRLF; it requires the 150 and 226 replies around the data.
func (rc *rawClient) listing(command string) []string {
	rc.t.Helper()

	data := rc.pasv()
	rc.expect(command, StatusFileStatusOK)
	raw := string(readAllClose(rc.t, data))

	code, msg := rc.read()
	require.Equal(rc.t, StatusClosingDataConn, code, "final reply to %q: %s", command, msg)

	if raw == "" {
		return nil
	}

	require.True(rc.t, strings.HasSuffix(raw, "\r\n"), "every line of %q ends with CRLF: %q", command, raw)

	return strings.Split(strings.TrimSuffix(raw, "\r\n"), "\r\n")
}

// names returns the last space-separated field of each LIST line (names here have no spaces).
func names(lines []string) []string {
	out := make([]string, 0, len(lines))
	for _, line := range lines {
		out = append(out, line[strings.LastIndexByte(line, ' ')+1:])
	}

	slices.Sort(out)

	return out
}

// lsLine matches a LIST line in the format of `ls -l`: mode, links, owner, group, size, month,
// day, time of day or year, name.
var lsLine = regexp.MustCompile(
	`^([-dlpscb?])([-r][-w][-xsS][-r][-w][-xsS][-r][-w][-xtT]) +\d+ \S+ \S+ +(\d+) ` +
		`([A-Z][a-z]{2}) ([ 1-3]\d) ((?:[ 0-2]\d:[0-5]\d)|(?: \d{4})) (.+)$`)

// mlsxFacts splits an MLSD/MLST entry into its facts and name (RFC 3659 7.2: facts each end
// with ';', then exactly one space, then the name).
func mlsxFacts(t *testing.T, entry string) (map[string]string, string) {
	t.Helper()

	factText, name, found := strings.Cut(entry, " ")
	require.True(t, found, "no space in %q", entry)
	require.True(t, strings.HasSuffix(factText, ";"), "facts must end with ';': %q", entry)

	facts := map[string]string{}
	for _, fact := range strings.Split(strings.TrimSuffix(factText, ";"), ";") {
		key, value, ok := strings.Cut(fact, "=")
		require.True(t, ok, "fact %q of %q", fact, entry)
		facts[strings.ToLower(key)] = value
	}

	return facts, name
}

// mlstName returns the path an MLST reply describes.
func mlstName(t *testing.T, reply string) string {
	t.Helper()

	lines := strings.Split(reply, "\n")
	require.Len(t, lines, 3, reply)

	_, name := mlsxFacts(t, strings.TrimPrefix(lines[1], " "))

	return name
}

// quoteArg quotes a name so that splitQuotedArgs reads it back.
func quoteArg(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// loginBare logs in as user over a bare connection, without buffers, and returns it after the
// 230: many of them cost the client little.
func loginBare(addr, user, pass string) (net.Conn, error) {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}

	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))

	if _, err := conn.Write([]byte("USER " + user + "\r\nPASS " + pass + "\r\n")); err != nil {
		_ = conn.Close()

		return nil, err
	}

	var (
		buf  [256]byte
		seen []byte
	)

	for !bytes.Contains(seen, []byte("\r\n230 ")) {
		n, err := conn.Read(buf[:])
		if err != nil {
			_ = conn.Close()

			return nil, err
		}

		seen = append(seen, buf[:n]...)
	}

	_ = conn.SetDeadline(time.Time{})

	return conn, nil
}

// --- Data connections ----------------------------------------------------------------------------

// pasvReply is the text of a 227 reply as RFC 959 4.1.2 gives it.
var pasvReply = regexp.MustCompile(`^Entering Passive Mode \((\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3})\)$`)

// epsvReply is the text of a 229 reply as RFC 2428 3 gives it.
var epsvReply = regexp.MustCompile(`^Entering Extended Passive Mode \(\|{3}(\d{1,5})\|\)$`)

// pasvAnnounce sends PASV and returns the announced IP and port.
func (rc *rawClient) pasvAnnounce() (string, int) {
	rc.t.Helper()

	msg := rc.expect("PASV", StatusEnteringPASV)
	m := pasvReply.FindStringSubmatch(msg)
	require.NotNil(rc.t, m, "227 text: %q", msg)

	var n [6]int
	for i := range n {
		var err error
		n[i], err = strconv.Atoi(m[i+1])
		require.NoError(rc.t, err)
		require.LessOrEqual(rc.t, n[i], 255, msg)
	}

	return fmt.Sprintf("%d.%d.%d.%d", n[0], n[1], n[2], n[3]), n[4]<<8 | n[5]
}

// epsvPort sends EPSV (or the given variant) and returns the announced port.
func (rc *rawClient) epsvPort(command string) int {
	rc.t.Helper()

	msg := rc.expect(command, StatusEnteringEPSV)
	m := epsvReply.FindStringSubmatch(msg)
	require.NotNil(rc.t, m, "229 text: %q", msg)

	port, err := strconv.Atoi(m[1])
	require.NoError(rc.t, err)

	return port
}

// dialData connects to a port of the server's loopback address, from the local IP from
// ("" for the default one).
func dialData(tb testing.TB, from string, port int) net.Conn {
	tb.Helper()

	dialer := net.Dialer{Timeout: 5 * time.Second}
	if from != "" {
		dialer.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}

	conn, err := dialer.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = conn.Close() })

	return conn
}

// tcpPort returns the port of a TCP address.
func tcpPort(t *testing.T, addr net.Addr) int {
	t.Helper()

	tcp, ok := addr.(*net.TCPAddr)
	require.True(t, ok, "not a TCP address: %v", addr)

	return tcp.Port
}

// dataPort is the server's port of a passive data connection.
func dataPort(t *testing.T, data net.Conn) int {
	t.Helper()

	return tcpPort(t, data.RemoteAddr())
}

// retrOver downloads name over data and requires the 150 and 226 replies around it.
func (rc *rawClient) retrOver(data net.Conn, name string) []byte {
	rc.t.Helper()

	rc.expect("RETR "+name, StatusFileStatusOK)
	require.NoError(rc.t, data.SetDeadline(time.Now().Add(10*time.Second)))
	got := readAllClose(rc.t, data)

	code, msg := rc.read()
	require.Equal(rc.t, StatusClosingDataConn, code, msg)

	return got
}

// retrRaw downloads name over a passive connection, and returns its bytes and the final reply.
func (rc *rawClient) retrRaw(name string) ([]byte, int) {
	rc.t.Helper()

	conn := rc.pasv()
	rc.expect("RETR "+name, StatusFileStatusOK)

	data, err := io.ReadAll(conn)
	require.NoError(rc.t, err)

	code, _ := rc.read()

	return data, code
}

// storeRaw uploads data with STOR over a passive connection and returns the final reply.
func (rc *rawClient) storeRaw(name string, data []byte) (int, string) {
	rc.t.Helper()

	conn := rc.pasv()
	rc.expect("STOR "+name, StatusFileStatusOK)
	_, _ = conn.Write(data) // the server may stop reading early: its reply says why
	_ = conn.Close()

	return rc.read()
}

// download runs command (RETR, LIST...) over a passive connection and returns the raw bytes of
// the data connection, requiring 150 and 226.
func (rc *rawClient) download(command string) []byte {
	rc.t.Helper()

	return rc.downloadOver(rc.pasv(), command)
}

// upload runs command (STOR, APPE) over a passive connection, sends payload as it is and
// returns the final reply.
func (rc *rawClient) upload(command string, payload []byte) (int, string) {
	rc.t.Helper()

	return rc.uploadOver(rc.pasv(), command, payload)
}

// downloadOver is download over a data connection the caller opened.
func (rc *rawClient) downloadOver(data net.Conn, command string) []byte {
	rc.t.Helper()

	rc.expect(command, StatusFileStatusOK)
	raw := readAllClose(rc.t, data)

	code, msg := rc.read()
	require.Equal(rc.t, StatusClosingDataConn, code, "final reply to %q: %s", command, msg)

	return raw
}

// uploadOver is upload over a data connection the caller opened.
func (rc *rawClient) uploadOver(data net.Conn, command string, payload []byte) (int, string) {
	rc.t.Helper()

	rc.expect(command, StatusFileStatusOK)
	_, _ = data.Write(payload) // the server may stop reading early: its reply says why
	_ = data.Close()

	return rc.read()
}

// dataEnding is how a test client ends an upload's data connection.
type dataEnding int

const (
	endCloseNotify dataEnding = iota // TLS close_notify, then FIN: a client that sent everything
	endFIN                           // FIN alone, without close_notify: a forged or cut-off end
	endReset                         // a TCP reset: a crashed client or a broken network
	endStall                         // nothing at all until the server gives up
)

// uploadOptions says how a test upload is sent.
type uploadOptions struct {
	command   string // STOR, APPE or STOU
	protected bool   // PROT P
	deflate   bool   // MODE Z
	ending    dataEnding
}

// uploadEnding sends data to name as opts say, ends the data connection as opts say, and
// returns the final reply.
func (rc *rawClient) uploadEnding(name string, data []byte, opts uploadOptions) (int, string) {
	rc.t.Helper()

	if opts.deflate {
		rc.expect("MODE Z", StatusOK)
		defer rc.expect("MODE S", StatusOK)
	}

	raw := rc.pasv()

	var (
		w         io.Writer = raw
		protected *tls.Conn
	)

	if opts.protected {
		protected = tls.Client(raw, clientTLSConfig())
		w = protected
	}

	rc.expect(strings.TrimSpace(opts.command+" "+name), StatusFileStatusOK)

	var compressed *zlib.Writer
	if opts.deflate {
		compressed = zlib.NewWriter(w)
		w = compressed
	}

	_, err := w.Write(data)
	require.NoError(rc.t, err)

	if compressed != nil {
		require.NoError(rc.t, compressed.Close())
	}

	switch opts.ending {
	case endCloseNotify:
		if protected != nil {
			require.NoError(rc.t, protected.Close())
		} else {
			require.NoError(rc.t, raw.Close())
		}
	case endFIN:
		require.NoError(rc.t, raw.Close())
	case endReset:
		resetConn(rc.t, raw)
	case endStall:
		defer raw.Close()
	}

	return rc.read()
}

// resetConn closes conn with a TCP RST instead of a FIN, as a crashed client or a broken
// network does: the server must not take it for the end of the upload.
func resetConn(tb testing.TB, conn net.Conn) {
	tb.Helper()

	tcp, ok := conn.(*net.TCPConn)
	require.True(tb, ok)
	require.NoError(tb, tcp.SetLinger(0))
	require.NoError(tb, tcp.Close())
}

// occupyPorts listens on n consecutive ports of 127.0.0.1 and returns the first one and the
// listeners, which the test closes to free the ports it wants the server to use.
func occupyPorts(t *testing.T, n int) (int, []net.Listener) {
	t.Helper()

	for range 100 {
		first, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)

		start := tcpPort(t, first.Addr())
		listeners := []net.Listener{first}

		for port := start + 1; port < start+n; port++ {
			l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
			if err != nil {
				break
			}

			listeners = append(listeners, l)
		}

		if len(listeners) == n {
			t.Cleanup(func() {
				for _, l := range listeners {
					_ = l.Close()
				}
			})

			return start, listeners
		}

		for _, l := range listeners {
			_ = l.Close()
		}
	}

	require.FailNow(t, "no free range of ports", "%d ports", n)

	return 0, nil
}

// freePorts closes listeners of occupyPorts for the server to use. Tests call it once their
// control connection is up: a port freed earlier may become the client's own source port.
func freePorts(t *testing.T, listeners ...net.Listener) {
	t.Helper()

	for _, l := range listeners {
		require.NoError(t, l.Close())
	}
}

// --- TLS -----------------------------------------------------------------------------------------

// testCertificate makes a self-signed certificate for the loopback addresses.
func testCertificate(tb testing.TB, commonName string) tls.Certificate {
	tb.Helper()

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(tb, err)

	template := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: commonName},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		DNSNames:     []string{"localhost", "ftpkit.test"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}

	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	require.NoError(tb, err)

	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// clientTLSConfig trusts anything and keeps sessions under one name, so data connections can
// resume the control connection's session as FTPS clients do.
func clientTLSConfig() *tls.Config {
	return &tls.Config{
		InsecureSkipVerify: true, // test server with a throw-away certificate
		ServerName:         "ftpkit.test",
		ClientSessionCache: tls.NewLRUClientSessionCache(16),
	}
}

// startTLS sends AUTH TLS and continues the raw client over TLS.
func (rc *rawClient) startTLS(config *tls.Config) {
	rc.t.Helper()

	rc.expect("AUTH TLS", StatusAuthAccepted)

	tlsConn := tls.Client(rc.conn, config)
	require.NoError(rc.t, tlsConn.Handshake())

	rc.conn = tlsConn
	rc.text = textproto.NewConn(tlsConn)
}

// pasvTLS opens a passive data connection and runs the client side of TLS on it.
func (rc *rawClient) pasvTLS(config *tls.Config) *tls.Conn {
	rc.t.Helper()

	return tls.Client(rc.pasv(), config)
}

// rawProtected connects, starts TLS with config, logs in and protects the data connections
// (PBSZ 0, PROT P).
func (s *testServer) rawProtected(tb testing.TB, config *tls.Config) *rawClient {
	tb.Helper()

	rc := s.raw(tb)
	rc.startTLS(config)
	rc.expect("USER "+testUser, StatusUserOK)
	rc.expect("PASS "+testPass, StatusUserLoggedIn)
	rc.expect("PBSZ 0", StatusOK)
	rc.expect("PROT P", StatusOK)

	return rc
}

// --- External clients and the bundled server -----------------------------------------------------

// clientTimeout bounds each client run, so a hang fails the test instead of the CI job.
const clientTimeout = 60 * time.Second

// requireTool skips the test when a client is missing.
func requireTool(t *testing.T, name string) {
	t.Helper()

	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s is not installed: interoperability test skipped (apt-get install -y curl lftp python3)", name)
	}
}

// runClient runs a client command within clientTimeout and fails the test with its output
// when it fails.
func runClient(t *testing.T, name string, args ...string) string {
	t.Helper()

	out, err := runClientResult(t, name, args...)
	require.NoError(t, err, "%s %s:\n%s", name, strings.Join(args, " "), out)

	return out
}

// runClientResult runs a client command within clientTimeout and returns its output and how
// it ended.
func runClientResult(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()

	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()

	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()

	return string(out), err
}

// bundledServerBinary builds cmd/ftpserver once per test run.
func bundledServerBinary(t *testing.T) string {
	t.Helper()

	bundled.once.Do(func() {
		dir, err := os.MkdirTemp("", "ftpkit-interop-")
		if err != nil {
			bundled.err = err

			return
		}

		bundled.path = filepath.Join(dir, "ftpserver")

		out, err := exec.Command("go", "build", "-o", bundled.path, "./cmd/ftpserver").CombinedOutput() //nolint:gosec // fixed command

		if err != nil {
			bundled.err = fmt.Errorf("building cmd/ftpserver: %w: %s", err, out)
		}
	})

	require.NoError(t, bundled.err)

	return bundled.path
}

var bundled struct {
	once sync.Once
	path string
	err  error
}

var listeningLine = regexp.MustCompile(`^listening on (\S+)`)

// startBundledServer runs the bundled server on root with extra flags and returns the address
// of each listener it announces. The process is ended with SIGTERM when the test ends.
func startBundledServer(t *testing.T, root string, extra ...string) []string {
	t.Helper()

	return startServerBinary(t, bundledServerBinary(t), root, extra...).addrs
}

// serverProcess is a running bundled server.
type serverProcess struct {
	addrs []string // one per listener, in the order announced
	pid   int
	stop  func() // SIGTERM, then a check that it exited 0; also run when the test ends
}

// startServerBinary runs binary, the bundled server, on root with extra flags.
func startServerBinary(t *testing.T, binary, root string, extra ...string) *serverProcess {
	t.Helper()

	args := append([]string{"-listen", "127.0.0.1:0", "-root", root, "-idle-timeout", "30"}, extra...)
	cmd := exec.Command(binary, args...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)

	var stderr lockedBuilder // read while the server logs its transfers

	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())

	exited := make(chan error, 1)

	var once sync.Once

	stop := func() {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)

			select {
			case err := <-exited:
				assert.NoError(t, err, "the bundled server exits 0 on SIGTERM; stderr: %s", stderr.String()) //nolint:testifylint // a cleanup goes on to stop the rest
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				t.Error("the bundled server did not stop on SIGTERM")
			}
		})
	}
	t.Cleanup(stop)

	lines := make(chan string)

	go func() {
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			lines <- scanner.Text()
		}

		close(lines)
		exited <- cmd.Wait()
	}()

	var addrs []string

	timeout := time.After(30 * time.Second)

	for {
		select {
		case line, ok := <-lines:
			require.True(t, ok, "the bundled server exited early; stderr: %s", stderr.String())

			if m := listeningLine.FindStringSubmatch(line); m != nil {
				addrs = append(addrs, m[1])
			}

			if strings.HasPrefix(line, "credentials:") {
				go func() {
					// Drain, so the process never blocks on its stdout.
					for line := range lines {
						_ = line
					}
				}()

				return &serverProcess{addrs: addrs, pid: cmd.Process.Pid, stop: stop}
			}
		case <-timeout:
			require.FailNow(t, "the bundled server did not start", stderr.String())
		}
	}
}

type interopMode struct {
	name   string
	active bool
	tls    bool
}

// makeTree writes a small tree of files of varied sizes and names, and returns its root.
func makeTree(t *testing.T) string {
	t.Helper()

	src := t.TempDir()
	files := map[string]int{
		"empty.txt":              0,
		"small.txt":              100,
		"with space.bin":         70_000,
		"sub/nested.bin":         1 << 20,
		"sub/deeper/big.bin":     3<<20 + 123,
		"sub/deeper/another.txt": 4096,
		// Names clients and servers get wrong (RFC 2640 and shell-like quoting).
		"-leading dash.txt":  10,
		`quote"d 'name'.txt`: 20,
		"#hash.txt":          30,
		"日本語/ファイル.txt":       40,
		"café.bin":           50,
	}

	writeSizedTree(t, src, files)

	return src
}

// writeSizedTree writes each file of files (slash path to size) under root, with content that
// differs from file to file.
func writeSizedTree(t *testing.T, root string, files map[string]int) {
	t.Helper()

	for name, size := range files {
		local := filepath.Join(root, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(local), 0o755))
		require.NoError(t, os.WriteFile(local, testContent(size + len(name))[:size], 0o600))
	}
}

// treeHashes maps each file of a tree to the SHA-256 of its content.
func treeHashes(t *testing.T, root string) map[string]string {
	t.Helper()

	hashes := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}

		data, err := os.ReadFile(path) //nolint:gosec // a temporary tree of the test's own
		if err != nil {
			return err
		}

		rel, _ := filepath.Rel(root, path)
		sum := sha256.Sum256(data)
		hashes[filepath.ToSlash(rel)] = hex.EncodeToString(sum[:])

		return nil
	})
	require.NoError(t, err)

	return hashes
}

// requireEmptyDir checks that the served directory holds nothing any more.
func requireEmptyDir(t *testing.T, dir string) {
	t.Helper()

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)

	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}

	assert.Empty(t, names, "the client deleted the tree")
}

// --- Content and files ---------------------------------------------------------------------------

const mebibyte = 1 << 20

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)

	return hex.EncodeToString(sum[:])
}

// testContent returns n deterministic bytes of mixed text and binary.
func testContent(n int) []byte {
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(i*7 + i/251)
	}

	return data
}

// goDigest is the digest Go's own packages give for data, in the form the server sends.
func goDigest(algo HASHAlgo, data []byte) string {
	switch algo {
	case HASHAlgoCRC32:
		return fmt.Sprintf("%08x", crc32.ChecksumIEEE(data))
	case HASHAlgoMD5:
		return fmt.Sprintf("%x", md5.Sum(data)) //nolint:gosec // G401: the digest under test
	case HASHAlgoSHA1:
		return fmt.Sprintf("%x", sha1.Sum(data)) //nolint:gosec // G401: the digest under test
	case HASHAlgoSHA256:
		return fmt.Sprintf("%x", sha256.Sum256(data))
	case HASHAlgoSHA512:
		return fmt.Sprintf("%x", sha512.Sum512(data))
	}

	return "unknown algorithm"
}

// readAllClose reads a data stream to its end and closes it.
func readAllClose(tb testing.TB, r io.ReadCloser) []byte {
	tb.Helper()

	data, err := io.ReadAll(r)
	require.NoError(tb, err)
	require.NoError(tb, r.Close())

	return data
}

// writeFile puts a file straight into a driver's file system.
func writeFile(fs afero.Fs, name string, data []byte) error {
	return afero.WriteFile(fs, name, data, 0o644)
}

// mappedFile writes content to a new file and opens it for reading at offset (the downloads
// from a file that transfer code sends by mapping or by sendfile).
func mappedFile(tb testing.TB, content []byte, offset int64) *os.File {
	tb.Helper()

	name := filepath.Join(tb.TempDir(), "mapped.bin")
	require.NoError(tb, os.WriteFile(name, content, 0o600))

	file, err := os.Open(name)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = file.Close() })

	_, err = file.Seek(offset, io.SeekStart)
	require.NoError(tb, err)

	return file
}

// --- Assertions ----------------------------------------------------------------------------------

// requireContent requires name's content to be want, compared by hash.
func requireContent(t *testing.T, fs afero.Fs, name string, want []byte) {
	t.Helper()

	got, err := afero.ReadFile(fs, name)
	require.NoError(t, err)
	require.Equal(t, sha256Hex(want), sha256Hex(got), "%s: %d bytes, want %d", name, len(got), len(want))
}

// requireNoUploadTemp requires that no temporary upload file is left in dir.
func requireNoUploadTemp(t *testing.T, fs afero.Fs, dir string) {
	t.Helper()

	requireNoTemp(t, fs, dir, AtomicUploadPrefix)
}

// requireNoTemp checks that dir holds no file whose name starts with prefix, that of the
// temporary files of an upload or a COMB.
func requireNoTemp(t *testing.T, fs afero.Fs, dir, prefix string) {
	t.Helper()

	entries, err := afero.ReadDir(fs, dir)
	require.NoError(t, err)

	for _, entry := range entries {
		assert.False(t, strings.HasPrefix(entry.Name(), prefix), "left behind: %s", entry.Name())
	}
}

// requireOnlyNames requires dir of fsys to hold exactly names.
func requireOnlyNames(t *testing.T, fsys afero.Fs, dir string, names ...string) {
	t.Helper()

	entries, err := afero.ReadDir(fsys, dir)
	require.NoError(t, err)

	got := make([]string, 0, len(entries))
	for _, entry := range entries {
		got = append(got, entry.Name())
	}

	assert.ElementsMatch(t, names, got, "no temporary upload file is left in %s", dir)
}

// requireClosed requires the server to have closed the raw client's connection.
func requireClosed(t *testing.T, rc *rawClient) {
	t.Helper()

	require.NoError(t, rc.conn.SetReadDeadline(time.Now().Add(10*time.Second)))

	_, err := rc.conn.Read(make([]byte, 1))
	require.ErrorIs(t, err, io.EOF)
}

// requireClosedSilently requires that conn is closed by the server without a reply.
func requireClosedSilently(tb testing.TB, conn net.Conn) {
	tb.Helper()

	require.NoError(tb, conn.SetReadDeadline(time.Now().Add(headerAwait)))
	got, err := io.ReadAll(conn)
	require.NoError(tb, err, "the server closes the connection")
	assert.Empty(tb, string(got), "no welcome before a valid header")
}

// headerAwait is how long a test waits for the server to answer or close a connection: long
// enough to catch only a hang.
const headerAwait = 10 * time.Second

// requireUnused requires that data was closed by the server without a byte sent on it.
func requireUnused(t *testing.T, data net.Conn) {
	t.Helper()

	require.NoError(t, data.SetDeadline(time.Now().Add(10*time.Second)))

	n, err := data.Read(make([]byte, 1))
	assert.Zero(t, n)

	if !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("the stale connection was not closed: %v", err)
	}
}

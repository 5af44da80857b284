package ftpserver

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/jlaffaye/ftp"
	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

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

// testServer is a running server and what the tests need to reach it.
type testServer struct {
	*FtpServer
	driver *testDriver
}

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

// liveTestServers counts the servers of newTestServer not yet stopped.
var liveTestServers atomic.Int32

// newTestServer starts a server on 127.0.0.1:0 over an in-memory file system and stops it when
// the test ends, checking that no goroutine of the server outlived it.

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

// rawClient speaks FTP line by line, for what a client library hides: exact reply codes and
// texts, malformed commands, and sequences no library sends.
type rawClient struct {
	t    testing.TB
	conn net.Conn
	text *textproto.Conn
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

// openWrapped opens name on fs and returns the file as wrap makes it: the OpenFile of a test
// file system that watches or steers its files' reads and writes.
func openWrapped(fs afero.Fs, name string, flag int, perm os.FileMode, wrap func(afero.File) afero.File,
) (afero.File, error) {
	file, err := fs.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}

	return wrap(file), nil
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

		require.NoError(rc.t, tcpListener.SetDeadline(time.Now().Add(5*time.Second)))
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

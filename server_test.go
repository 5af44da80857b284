package ftpserver

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestServeWithoutListen(t *testing.T) {
	server := NewFtpServer(&testDriver{settings: &Settings{}})
	require.ErrorIs(t, server.Serve(), ErrNotListening)
	assert.Empty(t, server.Addr())
	require.NoError(t, server.Stop())
}

func TestStopTwiceAndServeReturnsNil(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	server := NewFtpServer(&testDriver{settings: &Settings{ListenAddr: "127.0.0.1:0"}})
	require.NoError(t, server.Listen())

	served := make(chan error, 1)

	go func() { served <- server.Serve() }()

	// A connected client is closed by Stop too.
	conn, err := net.Dial("tcp", server.Addr())
	require.NoError(t, err)

	defer conn.Close()

	line, err := bufio.NewReader(conn).ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "220 ftpkit test server\r\n", line)

	require.NoError(t, server.Stop())
	require.NoError(t, server.Stop())
	require.NoError(t, <-served)

	_, err = net.Dial("tcp", server.Addr())
	require.Error(t, err, "the listener must be closed")
	goleak.VerifyNone(t, ignore)
}

func TestListenOnGivenListener(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)

	s := newTestServer(t, withSettings(func(s *Settings) { s.Listener = listener }))
	assert.Equal(t, listener.Addr().String(), s.Addr())

	conn := s.dial(t)
	require.NoError(t, conn.NoOp())
}

func TestListenIPv6(t *testing.T) {
	probe, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback on this machine:", err)
	}

	_ = probe.Close()

	s := newTestServer(t, withSettings(func(s *Settings) { s.ListenAddr = "[::1]:0" }))
	conn := s.dial(t)

	// jlaffaye uses EPSV, which IPv6 needs: PASV cannot carry the address.
	require.NoError(t, conn.Stor("v6.txt", strings.NewReader("over IPv6")))
	r, err := conn.Retr("v6.txt")
	require.NoError(t, err)

	data := readAllClose(t, r)
	assert.Equal(t, "over IPv6", string(data))

	rc := s.rawLoggedIn(t)
	assert.Contains(t, rc.expect("PASV", StatusCannotOpenDataConnection), "EPSV")
	rc.expect("EPSV 1", StatusNetworkProtocolNotSupported)
	rc.expect("EPSV 2", StatusEnteringEPSV)
}

func TestListenBadAddress(t *testing.T) {
	server := NewFtpServer(&testDriver{settings: &Settings{ListenAddr: "127.0.0.1:bad"}})

	var netErr NetworkError
	require.ErrorAs(t, server.Listen(), &netErr)
}

func TestGetSettingsError(t *testing.T) {
	server := NewFtpServer(settingsErrDriver{&testDriver{}})

	var driverErr DriverError
	require.ErrorAs(t, server.Listen(), &driverErr)
}

type settingsErrDriver struct{ *testDriver }

func (settingsErrDriver) GetSettings() (*Settings, error) {
	return nil, errors.New("no settings today")
}

func TestWelcomeErrorCloses421(t *testing.T) {
	s := newTestServer(t, func(d *testDriver) { d.welcomeErr = errors.New("closed for maintenance") })

	conn, err := net.Dial("tcp", s.Addr())
	require.NoError(t, err)

	defer conn.Close()

	reader := bufio.NewReader(conn)
	line, err := reader.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "421 closed for maintenance\r\n", line)

	_, err = reader.ReadString('\n')
	require.Error(t, err, "the connection must be closed after 421")
}

// TestMaxClients holds every slot the server has, in all or for one address, and requires
// the next connection to be refused with 421 and the reason.
func TestMaxClients(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Settings)
		held   int
		want   string
	}{
		{"total", func(s *Settings) { s.MaxClients = 1 }, 1, "421 Too many clients, try again later\r\n"},
		{"PerIP", func(s *Settings) { s.MaxClientsPerIP = 2 }, 2, "421 Too many connections from your address\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t, withSettings(tc.change))
			for range tc.held {
				s.raw(t)
			}

			conn, err := net.Dial("tcp", s.Addr())
			require.NoError(t, err)

			defer conn.Close()

			line, err := bufio.NewReader(conn).ReadString('\n')
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(line, "421 "), line)
			assert.Equal(t, tc.want, line)
		})
	}
}

func TestShutdownLetsTransferFinish(t *testing.T) {
	s := newTestServer(t)
	content := testContent(8 << 20)
	require.NoError(t, writeFile(s.driver.fs, "/big.bin", content))

	idle := s.rawLoggedIn(t)
	busy := s.rawLoggedIn(t)
	data := busy.pasv()
	busy.expect("TYPE I", StatusOK)
	busy.expect("RETR /big.bin", StatusFileStatusOK)

	// The transfer has started: Shutdown must close the idle client and wait for this one.
	shutdownDone := s.startShutdown(10 * time.Second)

	code, _ := idle.read()
	assert.Equal(t, StatusServiceNotAvailable, code)

	received := readAllClose(t, data)
	assert.Equal(t, sha256Hex(content), sha256Hex(received))

	code, _ = busy.read()
	assert.Equal(t, StatusClosingDataConn, code)
	code, _ = busy.read()
	assert.Equal(t, StatusServiceNotAvailable, code)

	require.NoError(t, <-shutdownDone)
}

func TestShutdownDeadline(t *testing.T) {
	s := newTestServer(t)
	require.NoError(t, writeFile(s.driver.fs, "/big.bin", testContent(32<<20)))

	busy := s.rawLoggedIn(t)
	data := busy.pasv()

	defer data.Close()

	busy.expect("RETR /big.bin", StatusFileStatusOK)

	// The client never reads: the deadline must cut the transfer.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()

	require.ErrorIs(t, s.Shutdown(ctx), context.DeadlineExceeded)
}

// flakyListener fails its first Accepts with a temporary error, as a listener out of file
// descriptors does, then behaves.
type flakyListener struct {
	net.Listener

	failures atomic.Int32
}

type temporaryError struct{}

func (temporaryError) Error() string   { return "accept: too many open files" }
func (temporaryError) Timeout() bool   { return true }
func (temporaryError) Temporary() bool { return true }

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.failures.Add(-1) >= 0 {
		return nil, temporaryError{}
	}

	return l.Listener.Accept()
}

func TestServeBacksOffOnTemporaryErrors(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)

	flaky := &flakyListener{Listener: inner}
	flaky.failures.Store(3)

	s := newTestServer(t, withSettings(func(s *Settings) { s.Listener = flaky }))

	// The accept loop went through three failures and still serves.
	conn := s.dial(t)
	require.NoError(t, conn.NoOp())
	assert.Negative(t, flaky.failures.Load())
}

func TestServeReturnsPermanentErrors(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	require.NoError(t, inner.Close())

	server := NewFtpServer(&testDriver{settings: &Settings{Listener: inner}})
	require.NoError(t, server.Listen())

	var netErr NetworkError
	require.ErrorAs(t, server.Serve(), &netErr)
	require.NoError(t, server.Stop())
}

package ftpserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPassiveMultiplexingManyClients(t *testing.T) {
	const clients, ports = 50, 3

	shared, start := withSharedPorts(t, ports)
	s := newTestServer(t, shared, withSettings(func(s *Settings) { s.ConnectionTimeout = 20 }))

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	var (
		wg   sync.WaitGroup
		errs = make(chan error, clients)
	)

	for i := range clients {
		wg.Go(func() {
			if err := uploadAndDownload(ctx, s.Addr(), i); err != nil {
				errs <- fmt.Errorf("client %d: %w", i, err)
			}
		})
	}

	wg.Wait()
	close(errs)

	for err := range errs {
		require.NoError(t, err)
	}

	require.NoError(t, ctx.Err(), "all clients done in time")

	// Every one of them was served by the three shared ports.
	rc := s.rawLoggedIn(t)
	port := rc.epsvPort("EPSV")
	assert.True(t, port >= start && port < start+ports, "EPSV port %d outside %d-%d", port, start, start+ports-1)
}

// uploadAndDownload stores a file of its own with jlaffaye/ftp, reads it back and compares.
func uploadAndDownload(ctx context.Context, addr string, i int) error {
	conn, err := ftp.Dial(addr, ftp.DialWithContext(ctx), ftp.DialWithTimeout(20*time.Second))
	if err != nil {
		return err
	}

	defer conn.Quit() //nolint:errcheck // the test is over for this client

	if loginErr := conn.Login(testUser, testPass); loginErr != nil {
		return loginErr
	}

	content := testContent(100_000 + 1000*i)
	name := fmt.Sprintf("/client-%d.bin", i)

	if storErr := conn.Stor(name, bytes.NewReader(content)); storErr != nil {
		return storErr
	}

	r, err := conn.Retr(name)
	if err != nil {
		return err
	}

	got, err := io.ReadAll(r)
	if closeErr := r.Close(); err == nil {
		err = closeErr
	}

	if err != nil {
		return err
	}

	if sha256Hex(got) != sha256Hex(content) {
		return errors.New("downloaded content differs")
	}

	return nil
}

func TestPassiveMultiplexingStrayConnections(t *testing.T) {
	shared, start := withSharedPorts(t, 1)
	s, content := serverWithFile(t, shared)

	// Nobody waits: closed.
	requireClosedSilently(t, dialData(t, "", start))

	rc := s.rawLoggedIn(t)
	rc.expect("TYPE I", StatusOK)
	require.Equal(t, start, rc.epsvPort("EPSV"))

	// Someone waits, but not from this address: closed, and the client still gets its own.
	requireClosedSilently(t, dialData(t, strangerIP, start))
	assert.Equal(t, sha256Hex(content), sha256Hex(rc.retrOver(dialData(t, "", start), "/f.bin")))
}

func TestPassiveMultiplexingTimeout(t *testing.T) {
	shared, start := withSharedPorts(t, 1)
	s, _ := serverWithFile(t, shared, withSettings(func(s *Settings) { s.ConnectionTimeout = 1 }))

	rc := s.rawLoggedIn(t)
	rc.expect("TYPE I", StatusOK)
	require.Equal(t, start, rc.epsvPort("EPSV"))
	rc.expect("RETR /f.bin", StatusFileStatusOK)

	code, msg := rc.read()
	assert.Equal(t, StatusCannotOpenDataConnection, code, msg)

	// The late connection finds nobody waiting; the port serves the next PASV.
	requireClosedSilently(t, dialData(t, "", start))
	require.Equal(t, start, rc.epsvPort("EPSV"))
}

func TestPassiveMultiplexingQueuesOneAddress(t *testing.T) {
	shared, start := withSharedPorts(t, 1)
	s, content := serverWithFile(t, shared)

	first := s.rawLoggedIn(t)
	first.expect("TYPE I", StatusOK)
	require.Equal(t, start, first.epsvPort("EPSV"))

	// The one port already waits for a client of 127.0.0.1: the second one's EPSV waits.
	second := s.rawLoggedIn(t)
	second.send("EPSV")
	requireNoReplyYet(t, second)

	// Another address is not held up.
	third := rawOver(t, s.dialFrom(t, strangerIP))
	code, _ := third.read()
	require.Equal(t, StatusServiceReady, code)
	third.expect("USER "+testUser, StatusUserOK)
	third.expect("PASS "+testPass, StatusUserLoggedIn)
	require.Equal(t, start, third.epsvPort("EPSV"))

	// The first client connects: the port is free for the second.
	firstData := dialData(t, "", start)
	code, msg := second.read()
	require.Equal(t, StatusEnteringEPSV, code, msg)
	assert.Equal(t, "Entering Extended Passive Mode (|||"+strconv.Itoa(start)+"|)", msg)

	secondData := dialData(t, "", start)
	thirdData := dialData(t, strangerIP, start)

	for _, transfer := range []struct {
		rc   *rawClient
		data net.Conn
	}{{first, firstData}, {third, thirdData}, {second, secondData}} {
		if transfer.rc != first {
			transfer.rc.expect("TYPE I", StatusOK)
		}

		assert.Equal(t, sha256Hex(content), sha256Hex(transfer.rc.retrOver(transfer.data, "/f.bin")))
	}
}

func TestPassiveMultiplexingWaitTimesOut(t *testing.T) {
	shared, start := withSharedPorts(t, 1)
	s := newTestServer(t, shared, withSettings(func(s *Settings) { s.ConnectionTimeout = 1 }))

	first := s.rawLoggedIn(t)
	require.Equal(t, start, first.epsvPort("EPSV"))

	second := s.rawLoggedIn(t)
	assert.Equal(t, "Could not listen for passive connection: could not find any port to listen to",
		second.expect("EPSV", StatusServiceNotAvailable))

	// A client that gives its PASV up (here by sending another) frees its port.
	require.Equal(t, start, first.epsvPort("EPSV"))
	first.expect("QUIT", StatusClosingControlConn)
	require.Equal(t, start, second.epsvPort("EPSV"))
}

func TestPassiveMultiplexingWithoutIPCheck(t *testing.T) {
	shared, start := withSharedPorts(t, 2)
	s, content := serverWithFile(t, shared, withSettings(func(s *Settings) { s.PasvConnectionsCheck = IPMatchDisabled }))

	// Connections are told apart by port only: two clients, two ports, any source.
	first, second := s.rawLoggedIn(t), s.rawLoggedIn(t)
	first.expect("TYPE I", StatusOK)
	second.expect("TYPE I", StatusOK)

	firstPort, secondPort := first.epsvPort("EPSV"), second.epsvPort("EPSV")
	assert.ElementsMatch(t, []int{start, start + 1}, []int{firstPort, secondPort})

	assert.Equal(t, sha256Hex(content), sha256Hex(second.retrOver(dialData(t, strangerIP, secondPort), "/f.bin")))
	assert.Equal(t, sha256Hex(content), sha256Hex(first.retrOver(dialData(t, "", firstPort), "/f.bin")))
}

func TestPassiveMultiplexingListenErrors(t *testing.T) {
	t.Run("no range", func(t *testing.T) {
		server := NewFtpServer(&testDriver{settings: &Settings{
			ListenAddr: "127.0.0.1:0", PassiveTransferPortMultiplexing: true,
		}})
		require.ErrorIs(t, server.Listen(), errPassiveMuxNeedsRange)
		assert.Empty(t, server.Addr())
	})

	t.Run("port taken", func(t *testing.T) {
		start, _ := occupyPorts(t, 2)
		server := NewFtpServer(&testDriver{settings: &Settings{
			ListenAddr:                      "127.0.0.1:0",
			PassiveTransferPortRange:        &PortRange{Start: start, End: start + 1},
			PassiveTransferPortMultiplexing: true,
		}})

		var netErr NetworkError
		require.ErrorAs(t, server.Listen(), &netErr)
		assert.Empty(t, server.Addr())
	})
}

// wrapCounter implements MainDriverExtensionPassiveWrapper, counting the listeners it wraps.
type wrapCounter struct {
	*testDriver

	wrapped recorder[string]
}

func (w *wrapCounter) WrapPassiveListener(listener net.Listener) (net.Listener, error) {
	w.wrapped.add(listener.Addr().String())

	return listener, nil
}

func TestPassiveMultiplexingWrapsEachListenerOnce(t *testing.T) {
	shared, start := withSharedPorts(t, 3)

	var counter *wrapCounter

	s := newTestServerMain(t, func(d *testDriver) MainDriver {
		counter = &wrapCounter{testDriver: d}

		return counter
	}, shared)

	rc := s.rawLoggedIn(t)
	for range 5 {
		rc.epsvPort("EPSV")
	}

	want := make([]string, 0, 3)
	for port := start; port < start+3; port++ {
		want = append(want, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	}

	assert.ElementsMatch(t, want, counter.wrapped.all())
}

func TestPassiveMultiplexingShutdownWaitsForTransfers(t *testing.T) {
	shared, start := withSharedPorts(t, 1)
	s, content := serverWithFile(t, shared)

	rc := s.rawLoggedIn(t)
	rc.expect("TYPE I", StatusOK)
	require.Equal(t, start, rc.epsvPort("EPSV"))
	rc.expect("RETR /f.bin", StatusFileStatusOK)

	shutdown := make(chan error, 1)

	go func() { shutdown <- s.Shutdown(context.Background()) }()

	// The transfer has started but its connection has not arrived: the shared port stays open
	// until the transfer is over.
	data := dialData(t, "", start)
	require.NoError(t, data.SetDeadline(time.Now().Add(10*time.Second)))
	assert.Equal(t, sha256Hex(content), sha256Hex(readAllClose(t, data)))
	require.NoError(t, <-shutdown)

	_, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(start)), time.Second)
	require.Error(t, err, "the shared port is closed with the server")
}

func TestPassiveMultiplexingStopWhileWaiting(t *testing.T) {
	shared, start := withSharedPorts(t, 1)
	s := newTestServer(t, shared, withSettings(func(s *Settings) { s.ConnectionTimeout = 60 }))

	first := s.rawLoggedIn(t)
	require.Equal(t, start, first.epsvPort("EPSV"))

	second := s.rawLoggedIn(t)
	second.send("EPSV")
	requireNoReplyYet(t, second)

	// The second client waits for the port, and would for a minute: Stop ends the wait.
	begin := time.Now()
	require.NoError(t, s.Stop())
	assert.Less(t, time.Since(begin), 10*time.Second)

	// Closed by the server: an end of stream, or a reset if Stop came before it read the EPSV.
	require.NoError(t, second.conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, err := io.ReadAll(second.conn)

	var netErr net.Error
	if errors.As(err, &netErr) {
		assert.False(t, netErr.Timeout(), "the connection is still open")
	}
}

// requireNoReplyYet checks that rc gets no reply for a moment: its EPSV waits for a port.
func requireNoReplyYet(t *testing.T, rc *rawClient) {
	t.Helper()

	require.NoError(t, rc.conn.SetReadDeadline(time.Now().Add(300*time.Millisecond)))
	_, err := rc.text.ReadLine()

	var netErr net.Error
	require.ErrorAs(t, err, &netErr, "no reply while the port is taken")
	require.True(t, netErr.Timeout())
}

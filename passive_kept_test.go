package ftpserver

import (
	"io"
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ftpkit/ftpserver/internal/porttest"
)

// requireNotListening requires that nothing listens on port any more.
func requireNotListening(t *testing.T, port int) {
	t.Helper()

	conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 5*time.Second)
	if err == nil {
		_ = conn.Close()
	}

	require.ErrorIs(t, err, syscall.ECONNREFUSED, "port %d still listens", port)
}

// keptListenerSession logs in, in TYPE I, to a server that keeps passive listeners and
// serves /f.bin, whose content it returns.
func keptListenerSession(t *testing.T) (*rawClient, []byte) {
	t.Helper()

	s := newTestServer(t, keepingListeners(t, func(*Settings) {}))
	content := testContent(4096)
	require.NoError(t, writeFile(s.driver.fs, "/f.bin", content))

	rc := s.rawLoggedIn(t)
	rc.expect("TYPE I", StatusOK)

	return rc, content
}

// TestKeptPassiveListener announces the same port to each PASV of a session and moves every
// file whole over it.
func TestKeptPassiveListener(t *testing.T) {
	s := newTestServer(t, withOsFs(t), keepingListeners(t, func(*Settings) {}))
	rc := s.rawLoggedIn(t)
	rc.expect("TYPE I", StatusOK)

	port := 0

	for _, size := range []int{0, 4096, 1 << 20} {
		content := testContent(size)
		require.NoError(t, writeFile(s.driver.fs, "/f.bin", content))

		data := rc.pasv()
		if port == 0 {
			port = dataPort(t, data)
		}

		assert.Equal(t, port, dataPort(t, data), "the same port again")
		assert.Equal(t, sha256Hex(content), sha256Hex(rc.retrOver(data, "/f.bin")), "size %d", size)
	}

	t.Run("a second session has its own", func(t *testing.T) {
		other := s.rawLoggedIn(t)
		data := other.pasv()
		assert.NotEqual(t, port, dataPort(t, data))
		other.expect("ABOR", StatusClosingDataConn)
	})

	t.Run("EPSV announces it too", func(t *testing.T) {
		msg := rc.expect("EPSV", StatusEnteringEPSV)
		assert.Equal(t, "Entering Extended Passive Mode (|||"+strconv.Itoa(port)+"|)", msg)
		rc.expect("ABOR", StatusClosingDataConn)
	})
}

// TestKeptPassiveListenerStaleConnections never moves a transfer over a connection made before
// the PASV that prepared it: PASV closes every connection waiting on the kept listener.
func TestKeptPassiveListenerStaleConnections(t *testing.T) {
	rc, content := keptListenerSession(t)

	t.Run("two PASV in a row", func(t *testing.T) {
		first := rc.pasv()
		second := rc.pasv()
		require.Equal(t, dataPort(t, first), dataPort(t, second))

		assert.Equal(t, sha256Hex(content), sha256Hex(rc.retrOver(second, "/f.bin")))
		requireUnused(t, first)
	})

	t.Run("a refused RETR leaves its connection to the next PASV", func(t *testing.T) {
		first := rc.pasv()
		rc.expect("RETR /missing", StatusActionNotTaken)

		second := rc.pasv()
		assert.Equal(t, sha256Hex(content), sha256Hex(rc.retrOver(second, "/f.bin")))
		requireUnused(t, first)
	})

	t.Run("connections made between transfers", func(t *testing.T) {
		port := dataPort(t, rc.pasv())
		rc.expect("ABOR", StatusClosingDataConn)

		var stale []net.Conn
		for range maxStaleConnections + 2 { // more than one re-arm closes: the listener is replaced
			stale = append(stale, dialData(t, "", port))
		}

		data := rc.pasv()
		assert.Equal(t, sha256Hex(content), sha256Hex(rc.retrOver(data, "/f.bin")))

		for _, conn := range stale {
			requireUnused(t, conn)
		}
	})

	t.Run("a transfer that waited in vain", func(t *testing.T) {
		data := rc.pasv()
		require.NoError(t, data.Close())

		rc.expect("PASV", StatusEnteringPASV) // its connection is never made
		rc.send("RETR /f.bin")
		code, msg := rc.read()
		require.Equal(t, StatusFileStatusOK, code, msg)
		rc.abort("ABOR")

		data = rc.pasv()
		assert.Equal(t, sha256Hex(content), sha256Hex(rc.retrOver(data, "/f.bin")))
	})
}

// TestKeptPassiveListenerReleased closes the kept listener when the session leaves passive
// mode, starts over or ends.
func TestKeptPassiveListenerReleased(t *testing.T) {
	s := newTestServer(t, keepingListeners(t, func(*Settings) {}))
	require.NoError(t, writeFile(s.driver.fs, "/f.bin", []byte("x")))

	for _, tc := range []struct {
		name  string
		leave func(rc *rawClient)
	}{
		{"PORT", func(rc *rawClient) { rc.port("PORT") }},
		{"REIN", func(rc *rawClient) { rc.expect("REIN", StatusServiceReady) }},
		{"QUIT", func(rc *rawClient) {
			rc.expect("QUIT", StatusClosingControlConn)
			_, err := io.ReadAll(rc.conn)
			require.NoError(t, err)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := s.rawLoggedIn(t)
			data := rc.pasv()
			port := dataPort(t, data)
			rc.retrOver(data, "/f.bin")

			tc.leave(rc)
			requireNotListening(t, port)
		})
	}
}

// TestKeptPassiveListenerPortRange keeps a listener only where the range has a port for every
// client: with one port and two sessions, each transfer gets the port in turn.
func TestKeptPassiveListenerPortRange(t *testing.T) {
	content := []byte("x")

	t.Run("one port, two sessions", func(t *testing.T) {
		start := porttest.QuietRange(t, 1)
		s := newTestServer(t, keepingListeners(t, func(s *Settings) {
			s.PassiveTransferPortRange = &PortRange{Start: start, End: start}
		}))
		require.NoError(t, writeFile(s.driver.fs, "/f.bin", content))

		sessions := []*rawClient{s.rawLoggedIn(t), s.rawLoggedIn(t)}

		for range 2 {
			for _, rc := range sessions {
				data := rc.pasv()
				assert.Equal(t, start, dataPort(t, data))
				assert.Equal(t, content, rc.retrOver(data, "/f.bin"))
			}
		}
	})

	t.Run("a port for each client", func(t *testing.T) {
		start := porttest.QuietRange(t, 2)
		s := newTestServer(t, keepingListeners(t, func(s *Settings) {
			s.PassiveTransferPortRange = &PortRange{Start: start, End: start + 1}
			s.MaxClients = 2
		}))
		require.NoError(t, writeFile(s.driver.fs, "/f.bin", content))

		sessions := []*rawClient{s.rawLoggedIn(t), s.rawLoggedIn(t)}
		ports := map[int]int{}

		for range 2 {
			for i, rc := range sessions {
				data := rc.pasv()
				if ports[i] == 0 {
					ports[i] = dataPort(t, data)
				}

				assert.Equal(t, ports[i], dataPort(t, data), "session %d keeps its port", i)
				assert.Equal(t, content, rc.retrOver(data, "/f.bin"))
			}
		}

		assert.NotEqual(t, ports[0], ports[1])
	})
}

// TestKeptPassiveListenerTheft refuses a connection from another IP on a kept listener, as on
// any passive listener, and the client's own connection then gets the file.
func TestKeptPassiveListenerTheft(t *testing.T) {
	rc, content := keptListenerSession(t)
	port := dataPort(t, rc.pasv())
	rc.expect("ABOR", StatusClosingDataConn)

	rc.expect("PASV", StatusEnteringPASV)
	thief := dialData(t, "127.0.0.2", port)
	data := dialData(t, "", port)

	assert.Equal(t, sha256Hex(content), sha256Hex(rc.retrOver(data, "/f.bin")))
	requireUnused(t, thief)
}

// TestKeptListenerClosedTwice leaves a kept listener alone on a handler's second Close: a
// transfer closes its handler again after its reply, when the next PASV may be waiting on the
// same listener.
func TestKeptListenerClosedTwice(t *testing.T) {
	listener, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)

	defer listener.Close()

	handler := &passiveTransferHandler{listener: listener, kept: listener, timeout: 5 * time.Second}
	require.NoError(t, handler.Close())

	// The next transfer's wait, as its Open sets it.
	require.NoError(t, listener.SetDeadline(time.Now().Add(10*time.Second)))
	dialData(t, "", tcpPort(t, listener.Addr()))

	require.NoError(t, handler.Close())

	conn, err := listener.Accept()
	require.NoError(t, err, "the second Close ended the next transfer's wait")
	require.NoError(t, conn.Close())
}

// TestKeptPassiveListenerBehindWrapper keeps the listener a MainDriverExtensionPassiveWrapper
// returns as it is, and not one it wraps, whose queue the server cannot see.
func TestKeptPassiveListenerBehindWrapper(t *testing.T) {
	for _, asIs := range []bool{true, false} {
		wrapper := &passiveWrapperDriver{}
		wrapper.asIs.Store(asIs)

		s := newTestServerMain(t, func(d *testDriver) MainDriver {
			wrapper.testDriver = d

			return wrapper
		}, keepingListeners(t, func(*Settings) {}))
		require.NoError(t, writeFile(s.driver.fs, "/f.bin", testContent(4096)))

		rc := s.rawLoggedIn(t)
		rc.expect("TYPE I", StatusOK)

		ports := map[int]bool{}

		for range 3 {
			data := rc.pasv()
			ports[dataPort(t, data)] = true
			assert.Equal(t, sha256Hex(testContent(4096)), sha256Hex(rc.retrOver(data, "/f.bin")))
		}

		if asIs {
			assert.Len(t, ports, 1, "a listener returned as it is is kept")
			assert.EqualValues(t, 1, wrapper.wraps.Load(), "and wrapped once")
		} else {
			assert.Len(t, ports, 3, "a wrapped listener is not kept")
			assert.EqualValues(t, 3, wrapper.wraps.Load())
		}
	}
}

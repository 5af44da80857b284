package ftpserver

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ftpkit/ftpserver/internal/porttest"
)

func TestPASVReplyFormat(t *testing.T) {
	s, content := serverWithFile(t)
	rc := s.rawLoggedIn(t)
	rc.expect("TYPE I", StatusOK)

	ip, port := rc.pasvAnnounce()
	assert.Equal(t, "127.0.0.1", ip, "the address the client reached")
	assert.Equal(t, sha256Hex(content), sha256Hex(rc.retrOver(dialData(t, "", port), "/f.bin")))

	// Each PASV opens a new listener and closes the one it replaces.
	_, first := rc.pasvAnnounce()
	_, second := rc.pasvAnnounce()
	assert.NotEqual(t, first, second)
	assert.Equal(t, sha256Hex(content), sha256Hex(rc.retrOver(dialData(t, "", second), "/f.bin")))
}

func TestEPSVReplyFormat(t *testing.T) {
	s, content := serverWithFile(t)
	rc := s.rawLoggedIn(t)
	rc.expect("TYPE I", StatusOK)

	port := rc.epsvPort("EPSV")
	assert.Equal(t, sha256Hex(content), sha256Hex(rc.retrOver(dialData(t, "", port), "/f.bin")))

	port = rc.epsvPort("EPSV 1")
	assert.Equal(t, sha256Hex(content), sha256Hex(rc.retrOver(dialData(t, "", port), "/f.bin")))

	// RFC 2428 3: 522 names the families the server can use on this connection.
	assert.Equal(t, "Network protocol not supported, use (1)", rc.expect("EPSV 2", StatusNetworkProtocolNotSupported))
	assert.Equal(t, "Network protocol not supported, use (1)", rc.expect("EPSV 3", StatusNetworkProtocolNotSupported))
	rc.expect("EPSV x", StatusSyntaxErrorParameters)
}

func TestEPSVAll(t *testing.T) {
	s, content := serverWithFile(t)
	rc := s.rawLoggedIn(t)
	rc.expect("TYPE I", StatusOK)
	rc.expect("EPSV ALL", StatusOK)

	// RFC 2428 4: after EPSV ALL every other data connection setup command is refused.
	rc.expect("PASV", StatusBadCommandSequence)
	rc.expect("PORT 127,0,0,1,200,10", StatusBadCommandSequence)
	rc.expect("EPRT |1|127.0.0.1|51210|", StatusBadCommandSequence)

	port := rc.epsvPort("EPSV")
	assert.Equal(t, sha256Hex(content), sha256Hex(rc.retrOver(dialData(t, "", port), "/f.bin")))

	// REIN starts a new session, without EPSV ALL.
	rc.expect("REIN", StatusServiceReady)
	rc.expect("USER "+testUser, StatusUserOK)
	rc.expect("PASS "+testPass, StatusUserLoggedIn)
	rc.pasvAnnounce()
}

func TestPassivePortRange(t *testing.T) {
	start, listeners := occupyPorts(t, 4)
	s, content := serverWithFile(t, withSettings(func(s *Settings) {
		s.PassiveTransferPortRange = &PortRange{Start: start, End: start + 3}
	}))
	rc := s.rawLoggedIn(t)
	rc.expect("TYPE I", StatusOK)
	freePorts(t, listeners...)

	port := 0
	for range 5 {
		_, port = rc.pasvAnnounce()
		assert.True(t, port >= start && port <= start+3, "PASV port %d outside %d-%d", port, start, start+3)

		port = rc.epsvPort("EPSV")
		assert.True(t, port >= start && port <= start+3, "EPSV port %d outside %d-%d", port, start, start+3)
	}

	assert.Equal(t, sha256Hex(content), sha256Hex(rc.retrOver(dialData(t, "", port), "/f.bin")))
}

func TestPassivePortRangeNearlyFull(t *testing.T) {
	const size, free = 8, 5

	start, listeners := occupyPorts(t, size)
	s, content := serverWithFile(t, withSettings(func(s *Settings) {
		s.PassiveTransferPortRange = &PortRange{Start: start, End: start + size - 1}
	}))
	rc := s.rawLoggedIn(t)
	rc.expect("TYPE I", StatusOK)
	freePorts(t, listeners[free])

	// The one free port of the range must be found every time, however the next is chosen.
	for range 10 {
		_, port := rc.pasvAnnounce()
		require.Equal(t, start+free, port)
	}

	port := rc.epsvPort("EPSV")
	require.Equal(t, start+free, port)
	assert.Equal(t, sha256Hex(content), sha256Hex(rc.retrOver(dialData(t, "", port), "/f.bin")))
}

func TestPassivePortRangeFull(t *testing.T) {
	start, _ := occupyPorts(t, 3)
	s := newTestServer(t, withSettings(func(s *Settings) {
		s.PassiveTransferPortRange = &PortRange{Start: start, End: start + 2}
	}))

	rc := s.rawLoggedIn(t)
	want := "Could not listen for passive connection: could not find any port to listen to"
	assert.Equal(t, want, rc.expect("PASV", StatusServiceNotAvailable))
	assert.Equal(t, want, rc.expect("EPSV", StatusServiceNotAvailable))
	rc.expect("NLST", StatusCannotOpenDataConnection)
}

// TestPassivePortMappingRange announces the exposed ports of a PortMappingRange and listens on
// the mapped ones, with a listener per transfer and with the ports shared by multiplexing.
func TestPassivePortMappingRange(t *testing.T) {
	for _, tc := range []struct {
		name         string
		multiplexing bool
	}{
		{"listener", false},
		{"multiplexing", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			listened := porttest.QuietRange(t, 2)
			// The exposed ports live on a NAT in front of the server: nothing here listens on them.
			exposed := listened - 1000

			s, content := serverWithFile(t, withSettings(func(s *Settings) {
				s.PassiveTransferPortRange = &PortMappingRange{ExposedStart: exposed, ListenedStart: listened, Count: 2}
				s.PassiveTransferPortMultiplexing = tc.multiplexing
			}))
			rc := s.rawLoggedIn(t)
			rc.expect("TYPE I", StatusOK)

			_, port := rc.pasvAnnounce()
			require.True(t, port == exposed || port == exposed+1, "announced %d, want the exposed %d or %d", port,
				exposed, exposed+1)
			// The NAT maps exposed+i to listened+i.
			assert.Equal(t, sha256Hex(content), sha256Hex(rc.retrOver(dialData(t, "", listened+port-exposed), "/f.bin")))

			port = rc.epsvPort("EPSV")
			require.True(t, port == exposed || port == exposed+1, "announced %d", port)
			assert.Equal(t, sha256Hex(content), sha256Hex(rc.retrOver(dialData(t, "", listened+port-exposed), "/f.bin")))
		})
	}
}

var errNoPublicIP = errors.New("no public IP known")

func TestPublicHostAndResolver(t *testing.T) {
	const publicHost, resolved = "192.0.2.10", "198.51.100.7"

	tests := []struct {
		name       string
		publicHost string
		resolver   func(ClientContext) (string, error)
		want       string
	}{
		{name: "PublicHost", publicHost: publicHost, want: publicHost},
		{name: "resolver wins", publicHost: publicHost, want: resolved,
			resolver: func(ClientContext) (string, error) { return resolved, nil }},
		{name: "resolver error falls back to PublicHost", publicHost: publicHost, want: publicHost,
			resolver: func(ClientContext) (string, error) { return "", errNoPublicIP }},
		{name: "resolver error falls back to local address", want: "127.0.0.1",
			resolver: func(ClientContext) (string, error) { return "", errNoPublicIP }},
		{name: "resolver garbage falls back", want: "127.0.0.1",
			resolver: func(ClientContext) (string, error) { return "not an IP", nil }},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var asked atomic.Value

			s, content := serverWithFile(t, withSettings(func(s *Settings) {
				s.PublicHost = tt.publicHost
				if tt.resolver != nil {
					s.PublicIPResolver = func(cc ClientContext) (string, error) {
						asked.Store(cc.RemoteAddr().String())

						return tt.resolver(cc)
					}
				}
			}))
			rc := s.rawLoggedIn(t)
			rc.expect("TYPE I", StatusOK)

			ip, port := rc.pasvAnnounce()
			assert.Equal(t, tt.want, ip)

			if tt.resolver != nil {
				assert.Equal(t, rc.conn.LocalAddr().String(), asked.Load(), "the resolver is asked about this client")
			}

			// The listener is on the local address whatever is announced.
			assert.Equal(t, sha256Hex(content), sha256Hex(rc.retrOver(dialData(t, "", port), "/f.bin")))
		})
	}
}

// refuseThenServe requires that the server closes thief's connection to its passive port
// without data, then serves content to a connection from the client's address and replies 226.
func (rc *rawClient) refuseThenServe(thief net.Conn, port int, content []byte) {
	t := rc.t
	t.Helper()

	require.NoError(t, thief.SetDeadline(time.Now().Add(10*time.Second)))

	stolen, err := io.ReadAll(thief)
	var netErr net.Error
	require.False(t, errors.As(err, &netErr) && netErr.Timeout(), "the thief's connection must be closed")
	assert.Empty(t, stolen)

	data := dialData(t, "", port)
	require.NoError(t, data.SetDeadline(time.Now().Add(10*time.Second)))
	assert.Equal(t, sha256Hex(content), sha256Hex(readAllClose(t, data)))

	code, msg := rc.read()
	require.Equal(t, StatusClosingDataConn, code, msg)
}

func TestPassiveConnectionTheft(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		s, content := serverWithFile(t)
		rc := s.rawLoggedIn(t)
		rc.expect("TYPE I", StatusOK)

		_, port := rc.pasvAnnounce()
		rc.expect("RETR /f.bin", StatusFileStatusOK)

		// Linux routes all of 127/8 to lo: 127.0.0.2 is another host as far as the server knows.
		rc.refuseThenServe(dialData(t, "127.0.0.2", port), port, content)
	})

	t.Run("refused when queued before RETR", func(t *testing.T) {
		// The serve goroutine finds the thief's connection waiting (transferAtOnce) and must
		// still wait for the client's.
		s, content := serverWithFile(t, withOsFs(t))
		rc := s.rawLoggedIn(t)
		rc.expect("TYPE I", StatusOK)

		_, port := rc.pasvAnnounce()
		thief := dialData(t, "127.0.0.2", port)
		rc.expect("RETR /f.bin", StatusFileStatusOK)
		rc.refuseThenServe(thief, port, content)
	})

	t.Run("IPMatchDisabled", func(t *testing.T) {
		s, content := serverWithFile(t, withSettings(func(s *Settings) { s.PasvConnectionsCheck = IPMatchDisabled }))
		rc := s.rawLoggedIn(t)
		rc.expect("TYPE I", StatusOK)

		_, port := rc.pasvAnnounce()
		other := dialData(t, "127.0.0.2", port)
		assert.Equal(t, sha256Hex(content), sha256Hex(rc.retrOver(other, "/f.bin")))
	})
}

func TestActiveBounceRefused(t *testing.T) {
	s := newTestServer(t)
	rc := s.rawLoggedIn(t)

	// The ports are never connected to: the commands are refused before.
	mustBeYours := "Data connection must go to your own address"
	assert.Equal(t, mustBeYours, rc.expect("PORT 127,0,0,2,200,10", StatusSyntaxErrorParameters))
	assert.Equal(t, mustBeYours, rc.expect("EPRT |1|127.0.0.2|51210|", StatusSyntaxErrorParameters))
	assert.Equal(t, mustBeYours, rc.expect("PORT 192,0,2,1,200,10", StatusSyntaxErrorParameters))

	privileged := "Data connection to a privileged port refused"
	assert.Equal(t, privileged, rc.expect("PORT 127,0,0,1,0,25", StatusSyntaxErrorParameters))
	assert.Equal(t, privileged, rc.expect("EPRT |1|127.0.0.1|1023|", StatusSyntaxErrorParameters))

	// Nothing was prepared by the refused commands.
	require.NoError(t, writeFile(s.driver.fs, "/f", []byte("x")))
	rc.expect("RETR /f", StatusCannotOpenDataConnection)

	rc.expect("PORT 127,0,0,1,4,0", StatusOK) // 1024, the first unprivileged port
}

func TestActiveBounceAllowedWhenDisabled(t *testing.T) {
	s, content := serverWithFile(t, withSettings(func(s *Settings) { s.ActiveConnectionsCheck = IPMatchDisabled }))
	rc := s.rawLoggedIn(t)
	rc.expect("TYPE I", StatusOK)
	rc.expect("PORT 127,0,0,1,0,25", StatusOK)

	for _, command := range []string{"PORT", "EPRT"} {
		listener, err := net.Listen("tcp", "127.0.0.2:0")
		require.NoError(t, err)
		t.Cleanup(func() { _ = listener.Close() })

		port := tcpPort(t, listener.Addr())
		if command == "PORT" {
			rc.expect(fmt.Sprintf("PORT 127,0,0,2,%d,%d", port>>8, port&0xFF), StatusOK)
		} else {
			rc.expect(fmt.Sprintf("EPRT |1|127.0.0.2|%d|", port), StatusOK)
		}

		rc.expect("RETR /f.bin", StatusFileStatusOK)

		data, err := listener.Accept()
		require.NoError(t, err)
		assert.Equal(t, sha256Hex(content), sha256Hex(readAllClose(t, data)), command)

		code, msg := rc.read()
		require.Equal(t, StatusClosingDataConn, code, msg)
	}
}

func TestPORTAndEPRTSyntax(t *testing.T) {
	s := newTestServer(t)
	rc := s.rawLoggedIn(t)

	for _, bad := range []string{
		"PORT 127,0,0,1", "PORT 127,0,0,1,0,0", "PORT 127,0,0,256,4,1", "PORT a,b,c,d,e,f", "PORT 127.0.0.1:2000",
		"EPRT 127.0.0.1:2000", "EPRT |1|127.0.0.1|", "EPRT |1|127.0.0.1|0|", "EPRT |1|127.0.0.1|65536|",
		"EPRT |1|::1|2000|", "EPRT |2|127.0.0.1|2000|", "EPRT |1|localhost|2000|", "EPRT |x|127.0.0.1|2000|",
		"EPRT |1|127.0.0.1|2000", "EPRT |1|127.0.0.1|2000|x",
	} {
		rc.expect(bad, StatusSyntaxErrorParameters)
	}

	// RFC 2428 2: an unknown family gets 522 and the list of the families the server knows.
	assert.Equal(t, "Network protocol not supported, use (1,2)",
		rc.expect("EPRT |3|127.0.0.1|2000|", StatusNetworkProtocolNotSupported))
}

func TestDataConnectionTimeout(t *testing.T) {
	s := newTestServer(t, withSettings(func(s *Settings) { s.ConnectionTimeout = 1 }))
	require.NoError(t, writeFile(s.driver.fs, "/f", []byte("x")))

	rc := s.rawLoggedIn(t)

	rc.pasvAnnounce() // the client never connects
	rc.expect("RETR /f", StatusFileStatusOK)

	code, msg := rc.read()
	assert.Equal(t, StatusCannotOpenDataConnection, code)
	assert.Equal(t, "Cannot open data connection", msg)

	rc.expect("NOOP", StatusOK)
}

func TestPassiveWrapper(t *testing.T) {
	wrapper := &passiveWrapperDriver{}
	s := newTestServerMain(t, func(d *testDriver) MainDriver {
		wrapper.testDriver = d

		return wrapper
	})
	content := testContent(100_000)
	require.NoError(t, writeFile(s.driver.fs, "/wrapped.bin", content))

	rc := s.rawLoggedIn(t)
	rc.expect("TYPE I", StatusOK)

	_, port := rc.pasvAnnounce()
	assert.Equal(t, sha256Hex(content), sha256Hex(rc.retrOver(dialData(t, "", port), "/wrapped.bin")))
	port = rc.epsvPort("EPSV")
	assert.Equal(t, sha256Hex(content), sha256Hex(rc.retrOver(dialData(t, "", port), "/wrapped.bin")))

	assert.EqualValues(t, 2, wrapper.wraps.Load(), "each passive listener is wrapped")
	assert.EqualValues(t, 2, wrapper.accepts.Load(), "the wrapped listener is the one used")

	wrapper.fail.Store(true)
	assert.Equal(t, "Could not listen for passive connection: driver error: wrapping passive listener: wrapping refused",
		rc.expect("PASV", StatusServiceNotAvailable))
	rc.expect("EPSV", StatusServiceNotAvailable)
	rc.expect("RETR /wrapped.bin", StatusCannotOpenDataConnection)
}

package ftpserver

import (
	"net"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ftpkit/ftpserver/internal/porttest"
)

// loggedInFrom connects from the local IP from and logs in.
func (s *testServer) loggedInFrom(tb testing.TB, from string) *rawClient {
	tb.Helper()

	rc := rawOver(tb, s.dialFrom(tb, from))
	code, msg := rc.read()
	require.Equal(tb, StatusServiceReady, code, msg)
	rc.expect("USER "+testUser, StatusUserOK)
	rc.expect("PASS "+testPass, StatusUserLoggedIn)

	return rc
}

// The shared ports give each EPSV the least used port its address holds no slot on, not the
// next one in turn: with one port free of slots, a client of another address gets that one.
func TestPassiveMultiplexingLeastUsedPort(t *testing.T) {
	shared, _ := withSharedPorts(t, 3)
	s := newTestServer(t, shared)

	// Three sessions of 127.0.0.1 hold one slot on each port.
	var first [3]*rawClient

	ports := map[int]bool{}

	var order [3]int

	for i := range first {
		first[i] = s.rawLoggedIn(t)
		order[i] = first[i].epsvPort("EPSV")
		ports[order[i]] = true
	}

	require.Len(t, ports, 3, "one address gets a port of its own per session: %v", order)

	// Every port holds one slot: the next address starts where the search left off, on the
	// port the first session got.
	stranger := s.loggedInFrom(t, strangerIP)
	require.Equal(t, order[0], stranger.epsvPort("EPSV"))

	// The third session leaves passive mode, which frees its slot: its port is now the least
	// used, though the search starts on the second one's.
	first[2].port("EPRT")

	other := s.loggedInFrom(t, strangerIP)
	assert.Equal(t, order[2], other.epsvPort("EPSV"))
}

// A PORT or EPRT data connection comes from the control port minus one (RFC 959 3.2), unless
// ActiveTransferPortNon20 lets it come from any port.
func TestActiveSourcePort(t *testing.T) {
	for _, anyPort := range []bool{false, true} {
		t.Run("ActiveTransferPortNon20="+strconv.FormatBool(anyPort), func(t *testing.T) {
			// The control port is the second of two free ports, so the first is there to dial from.
			control := porttest.QuietRange(t, 2) + 1

			s, content := serverWithFile(t, withSettings(func(s *Settings) {
				s.ListenAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(control))
				s.ActiveTransferPortNon20 = anyPort
			}))
			rc := s.rawLoggedIn(t)
			rc.expect("TYPE I", StatusOK)

			for _, command := range []string{"PORT", "EPRT"} {
				got, from := rc.retrActive(command, "/f.bin")
				assert.Equal(t, sha256Hex(content), sha256Hex(got), command)

				if anyPort {
					assert.NotEqual(t, control-1, from, command)
				} else {
					assert.Equal(t, control-1, from, command)
				}
			}
		})
	}
}

package ftpserver

import (
	"bytes"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ftpkit/ftpserver/internal/porttest"
)

// loginFrom logs in with jlaffaye/ftp from the local address ip, control and data connections
// alike.
func (s *testServer) loginFrom(t *testing.T, ip string) *ftp.ServerConn {
	t.Helper()

	dialer := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}

	return s.dial(t, ftp.DialWithDialer(dialer))
}

// passiveRange serves passive connections on n free ports of its own.
func passiveRange(t *testing.T, n int, change func(*Settings)) testOption {
	t.Helper()

	start := porttest.QuietRange(t, n)

	return withSettings(func(s *Settings) {
		s.PassiveTransferPortRange = PortRange{Start: start, End: start + n - 1}
		change(s)
	})
}

// requireTransfers uploads and downloads a file over conn and compares the bytes.
func requireTransfers(t *testing.T, conn *ftp.ServerConn, name string) {
	t.Helper()

	content := testContent(64 << 10)
	require.NoError(t, conn.Stor(name, bytes.NewReader(content)))

	r, err := conn.Retr(name)
	require.NoError(t, err)
	assert.Equal(t, sha256Hex(content), sha256Hex(readAllClose(t, r)))
}

// TestPassivePortsExhaustedFromOneAddress: sessions from one address that send PASV or EPSV
// and never connect cannot take every port of the range; a client from another address still
// gets one and transfers, and a port given back lets the address prepare one again.
func TestPassivePortsExhaustedFromOneAddress(t *testing.T) {
	s := newTestServer(t, passiveRange(t, 4, func(*Settings) {}))

	var holders []*rawClient

	for i := range 4 {
		rc := s.rawLoggedIn(t)
		verb := [...]string{"PASV", "EPSV"}[i%2]

		if i >= 2 {
			// The default allows one address half the range.
			requireRefusedPassive(t, rc, verb, 2)

			continue
		}

		code, msg := rc.cmd(verb)
		require.Contains(t, []int{StatusEnteringPASV, StatusEnteringEPSV}, code, msg)

		holders = append(holders, rc)
	}

	requireTransfers(t, s.loginFrom(t, strangerIP), "/other.bin")

	// PORT gives the holder's passive port up.
	holders[0].port("PORT")
	s.rawLoggedIn(t).expect("EPSV", StatusEnteringEPSV)
}

// TestPassivePortsPerSession: a session holds one prepared port at most, however many PASV and
// EPSV it sends, and a port stops counting once its connection is accepted.
func TestPassivePortsPerSession(t *testing.T) {
	s := newTestServer(t, passiveRange(t, 2, func(*Settings) {}))
	content := testContent(100_000)
	require.NoError(t, writeFile(s.driver.fs, "/f.bin", content))

	rc := s.rawLoggedIn(t)
	rc.expect("TYPE I", StatusOK)

	for range 10 {
		rc.expect("PASV", StatusEnteringPASV)
		rc.expect("EPSV", StatusEnteringEPSV)
	}

	// The other port of the range is free for another address.
	requireTransfers(t, s.loginFrom(t, strangerIP), "/other.bin")

	// The address holds its one port (a range of two allows one): another session of it waits.
	other := s.rawLoggedIn(t)
	requireRefusedPassive(t, other, "PASV", 1)

	assert.Equal(t, sha256Hex(content), sha256Hex(rc.retrOver(rc.pasv(), "/f.bin")))
	other.expect("PASV", StatusEnteringPASV)
}

// eventSignal is a server logger that tells, on seen, of each line of one event.
type eventSignal struct {
	event string
	seen  chan struct{}
}

func newEventSignal(event string) *eventSignal {
	return &eventSignal{event: event, seen: make(chan struct{}, 16)}
}

func (e *eventSignal) Log(keyvals ...any) error {
	for i := 0; i+1 < len(keyvals); i += 2 {
		if keyvals[i] == "event" && keyvals[i+1] == e.event {
			select {
			case e.seen <- struct{}{}:
			default:
			}
		}
	}

	return nil
}

// wait waits for the event to be logged.
func (e *eventSignal) wait(t *testing.T) {
	t.Helper()

	select {
	case <-e.seen:
	case <-time.After(10 * time.Second):
		t.Fatalf("no %q logged", e.event)
	}
}

// requireRefusedPassive requires the reply to a PASV or EPSV beyond MaxPassivePortsPerIP.
func requireRefusedPassive(t *testing.T, rc *rawClient, verb string, limit int) {
	t.Helper()

	assert.Equal(t, "Too many passive ports waiting for a connection from your address ("+strconv.Itoa(limit)+
		"); connect to one or try again later", rc.expect(verb, StatusCannotOpenDataConnection))
}

// shortPassiveTimeout gives up an unused passive port after a fifth of a second, and lets a
// transfer command wait for its connection far longer, so that only PassivePortTimeout can end
// the waits of these tests in time.
func shortPassiveTimeout(s *Settings) {
	s.PassivePortTimeout = 200 * time.Millisecond
	s.ConnectionTimeout = 60
}

const expiredReply = "Passive port closed after 200ms without a connection; send PASV or EPSV again"

// TestPassivePortTimeout: a port nobody takes a connection on is closed after
// PassivePortTimeout, whether a transfer command came or not; the transfer command gets 425 and
// the port serves another client.
func TestPassivePortTimeout(t *testing.T) {
	s := newTestServer(t, passiveRange(t, 1, func(s *Settings) {
		shortPassiveTimeout(s)
		s.MaxPassivePortsPerIP = -1
	}))
	content := testContent(100_000)
	require.NoError(t, writeFile(s.driver.fs, "/f.bin", content))

	t.Run("before the transfer command", func(t *testing.T) {
		rc := s.rawLoggedIn(t)
		_, port := rc.pasvAnnounce()

		// A connection the server never takes: the port's closing resets it.
		data := dialData(t, "", port)
		require.NoError(t, data.SetReadDeadline(time.Now().Add(10*time.Second)))
		_, err := data.Read(make([]byte, 1))
		var netErr net.Error
		require.False(t, errors.As(err, &netErr) && netErr.Timeout(), "the port is still open: %v", err)

		assert.Equal(t, expiredReply, rc.expect("RETR /f.bin", StatusCannotOpenDataConnection))

		// The only port of the range serves the next client.
		requireTransfers(t, s.dial(t), "/next.bin")
		rc.expect("TYPE I", StatusOK)
		assert.Equal(t, sha256Hex(content), sha256Hex(rc.retrOver(rc.pasv(), "/f.bin")))
	})

	t.Run("while the transfer command waits", func(t *testing.T) {
		rc := s.rawLoggedIn(t)
		rc.expect("PASV", StatusEnteringPASV)
		rc.expect("RETR /f.bin", StatusFileStatusOK)

		code, msg := rc.read()
		assert.Equal(t, StatusCannotOpenDataConnection, code)
		assert.Equal(t, "Cannot open data connection", msg)
	})
}

// TestPassivePortTimeoutMultiplexed: a shared port's slot nobody connects to is freed after
// PassivePortTimeout for the next client of its address, which was waiting for it.
func TestPassivePortTimeoutMultiplexed(t *testing.T) {
	shared, start := withSharedPorts(t, 1)
	s, content := serverWithFile(t, shared, withSettings(shortPassiveTimeout))

	first, second := s.rawLoggedIn(t), s.rawLoggedIn(t)
	require.Equal(t, start, first.epsvPort("EPSV"))

	// Waits for first's slot, which only its timeout frees.
	second.expect("TYPE I", StatusOK)
	require.Equal(t, start, second.epsvPort("EPSV"))
	assert.Equal(t, sha256Hex(content), sha256Hex(second.retrOver(dialData(t, "", start), "/f.bin")))

	assert.Equal(t, expiredReply, first.expect("RETR /f.bin", StatusCannotOpenDataConnection))
}

// TestPassivePortTimeoutKeptListener: a kept listener stays the session's, but a PASV nobody
// connects to stops counting against its address after PassivePortTimeout, and its transfer
// command gets 425.
func TestPassivePortTimeoutKeptListener(t *testing.T) {
	expired := newEventSignal("passive_port_expired")
	s := newTestServer(t, withLogger(expired), keepingListeners(t, func(s *Settings) {
		shortPassiveTimeout(s)
		s.MaxPassivePortsPerIP = 1
	}))
	content := testContent(100_000)
	require.NoError(t, writeFile(s.driver.fs, "/f.bin", content))

	first, second := s.rawLoggedIn(t), s.rawLoggedIn(t)
	first.expect("TYPE I", StatusOK)
	data := first.pasv()
	port := dataPort(t, data)

	requireRefusedPassive(t, second, "EPSV", 1)
	expired.wait(t)
	second.expect("EPSV", StatusEnteringEPSV)

	assert.Equal(t, expiredReply, first.expect("RETR /f.bin", StatusCannotOpenDataConnection))
	// ABOR gives second's port up, so that first may prepare one again.
	second.expect("ABOR", StatusClosingDataConn)

	// The connection made for the given-up PASV is never used: the next PASV closes it.
	next := first.pasv()
	assert.Equal(t, port, dataPort(t, next))
	requireUnused(t, data)
	assert.Equal(t, sha256Hex(content), sha256Hex(first.retrOver(next, "/f.bin")))
}

// TestPassivePortsMultiplexedPerAddress: with shared ports too, an address holds at most
// MaxPassivePortsPerIP slots waiting for a connection; a PASV beyond them is refused at once
// rather than queued.
func TestPassivePortsMultiplexedPerAddress(t *testing.T) {
	refused := &logRecorder{}
	shared, _ := withSharedPorts(t, 4)
	s := newTestServer(t, shared, withLogger(refused), withSettings(func(s *Settings) { s.MaxPassivePortsPerIP = 2 }))

	s.rawLoggedIn(t).expect("EPSV", StatusEnteringEPSV)
	s.rawLoggedIn(t).expect("PASV", StatusEnteringPASV)
	requireRefusedPassive(t, s.rawLoggedIn(t), "EPSV", 2)
	assert.Equal(t, []string{"too many from this address"}, refused.values("passive_port_refused", "reason"))

	requireTransfers(t, s.loginFrom(t, strangerIP), "/other.bin")
}

func TestPassivePortLimitDefaults(t *testing.T) {
	tests := []struct {
		name     string
		settings Settings
		perIP    int
	}{
		{"any port", Settings{}, DefaultMaxPassivePortsPerIP},
		{"a range of 4", Settings{PassiveTransferPortRange: PortRange{Start: 3000, End: 3003}}, 2},
		{"a range of 3", Settings{PassiveTransferPortRange: &PortRange{Start: 3000, End: 3002}}, 2},
		{"a range of 1", Settings{PassiveTransferPortRange: PortRange{Start: 3000, End: 3000}}, 1},
		{"a large range", Settings{PassiveTransferPortRange: PortRange{Start: 3000, End: 3999}}, 128},
		{"a mapped range", Settings{PassiveTransferPortRange: PortMappingRange{
			ExposedStart: 4000, ListenedStart: 3000, Count: 10,
		}}, 5},
		{"multiplexed", Settings{
			PassiveTransferPortRange: PortRange{Start: 3000, End: 3003}, PassiveTransferPortMultiplexing: true,
		}, DefaultMaxPassivePortsPerIP},
		{"a getter of the driver's", Settings{PassiveTransferPortRange: driverPorts{}}, DefaultMaxPassivePortsPerIP},
		{"a nil range", Settings{PassiveTransferPortRange: (*PortRange)(nil)}, DefaultMaxPassivePortsPerIP},
		{"set", Settings{MaxPassivePortsPerIP: 40, PassiveTransferPortRange: PortRange{Start: 3000, End: 3003}}, 40},
		{"no limit", Settings{MaxPassivePortsPerIP: -1}, -1},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.settings.withDefaults()
			assert.Equal(t, tt.perIP, got.MaxPassivePortsPerIP)
			assert.Equal(t, DefaultPassivePortTimeout, got.PassivePortTimeout)
		})
	}

	assert.Equal(t, -time.Second, Settings{PassivePortTimeout: -time.Second}.withDefaults().PassivePortTimeout)
}

// TestPassivePortsWithoutLimits: with both settings negative, as in ftpserverlib, one address
// may take every port of the range and keep it until it connects.
func TestPassivePortsWithoutLimits(t *testing.T) {
	s := newTestServer(t, passiveRange(t, 2, func(s *Settings) {
		s.MaxPassivePortsPerIP = -1
		s.PassivePortTimeout = -1
	}))

	s.rawLoggedIn(t).expect("PASV", StatusEnteringPASV)
	s.rawLoggedIn(t).expect("EPSV", StatusEnteringEPSV)
	assert.Equal(t, "Could not listen for passive connection: could not find any port to listen to",
		s.rawLoggedIn(t).expect("PASV", StatusServiceNotAvailable))
}

// TestInteropCurlWhilePassivePortsExhausted: curl, from another address, uploads and downloads
// a file while sessions from 127.0.0.1 hold all the ports they may.
func TestInteropCurlWhilePassivePortsExhausted(t *testing.T) {
	requireTool(t, "curl")

	s := newTestServer(t, passiveRange(t, 4, func(*Settings) {}))

	s.rawLoggedIn(t).expect("PASV", StatusEnteringPASV)
	s.rawLoggedIn(t).expect("EPSV", StatusEnteringEPSV)
	requireRefusedPassive(t, s.rawLoggedIn(t), "EPSV", 2)

	content := testContent(200_000)
	src, dst := filepath.Join(t.TempDir(), "up.bin"), filepath.Join(t.TempDir(), "down.bin")
	require.NoError(t, os.WriteFile(src, content, 0o600))

	base := []string{"-sS", "--fail", "-u", testUser + ":" + testPass, "--max-time", "30", "--interface", strangerIP}
	runClient(t, "curl", append(base, "-T", src, "ftp://"+s.Addr()+"/up.bin")...)
	runClient(t, "curl", append(base, "-o", dst, "ftp://"+s.Addr()+"/up.bin")...)

	got, err := os.ReadFile(dst)
	require.NoError(t, err)
	assert.Equal(t, sha256Hex(content), sha256Hex(got))
}

package ftpserver

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"net/textproto"
	"strconv"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"
	"github.com/pires/go-proxyproto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The PROXY protocol tests play the load balancer themselves: 127.0.0.1 is the trusted
// upstream, 127.0.0.2 a machine that is not, and the header names the client. Linux routes all
// of 127.0.0.0/8 to the loopback interface, so a net.Dialer with a LocalAddr of 127.0.0.x is
// a client of its own address.
const (
	balancerIP = "127.0.0.1"
	realClient = "127.0.0.9" // a client the tests can also connect from
	v1Header   = "PROXY TCP4 203.0.113.7 127.0.0.1 5555 21\r\n"
	v1Remote   = "203.0.113.7:5555"
	v1Local    = "127.0.0.1:21"
)

// withProxyProtocol turns the PROXY protocol on, trusting upstreams.
func withProxyProtocol(mode ProxyProtocolMode, untrusted ProxyUntrustedPolicy, upstreams ...string) testOption {
	return withSettings(func(s *Settings) {
		s.ProxyProtocol = mode
		s.ProxyUntrusted = untrusted
		s.ProxyAllowedUpstreams = upstreams
	})
}

// addrDriver records the addresses ClientConnected sees.
type addrDriver struct {
	*testDriver

	remotes recorder[string]
	locals  recorder[string]
}

func (d *addrDriver) ClientConnected(cc ClientContext) (string, error) {
	d.remotes.add(cc.RemoteAddr().String())
	d.locals.add(cc.LocalAddr().String())

	return d.testDriver.ClientConnected(cc)
}

// newProxyServer starts a server whose driver records the addresses it is shown.
func newProxyServer(t *testing.T, opts ...testOption) (*testServer, *addrDriver) {
	t.Helper()

	var recorded *addrDriver

	s := newTestServerMain(t, func(d *testDriver) MainDriver {
		recorded = &addrDriver{testDriver: d}

		return recorded
	}, opts...)

	return s, recorded
}

// proxied connects as the balancer, sends header, and reads the greeting.
func (s *testServer) proxied(tb testing.TB, header []byte) *rawClient {
	tb.Helper()

	conn := s.dialFrom(tb, balancerIP)
	_, err := conn.Write(header)
	require.NoError(tb, err)

	rc := rawOver(tb, conn)
	code, msg := rc.read()
	require.Equal(tb, StatusServiceReady, code, msg)

	return rc
}

// proxyV2 builds a version 2 header for a TCP connection from src to dst.
func proxyV2(tb testing.TB, src, dst string) []byte {
	tb.Helper()

	srcAddr, err := net.ResolveTCPAddr("tcp", src)
	require.NoError(tb, err)
	dstAddr, err := net.ResolveTCPAddr("tcp", dst)
	require.NoError(tb, err)

	header, err := proxyproto.HeaderProxyFromAddrs(2, srcAddr, dstAddr).Format()
	require.NoError(tb, err)

	return header
}

func TestProxyProtocolHeaders(t *testing.T) {
	s, drv := newProxyServer(t, withProxyProtocol(ProxyProtocolRequired, ProxyUntrustedRefuse, "127.0.0.0/8"))

	tests := []struct {
		name   string
		header []byte
		remote string
		local  string
	}{
		{"v1 TCP4", []byte(v1Header), v1Remote, v1Local},
		{"v1 TCP6", []byte("PROXY TCP6 2001:db8::7 2001:db8::1 6000 21\r\n"), "[2001:db8::7]:6000", "[2001:db8::1]:21"},
		{"v2 TCP4", proxyV2(t, "198.51.100.20:40000", "192.0.2.1:2121"), "198.51.100.20:40000", "192.0.2.1:2121"},
		{"v2 TCP6", proxyV2(t, "[2001:db8::20]:40001", "[2001:db8::1]:21"), "[2001:db8::20]:40001", "[2001:db8::1]:21"},
	}

	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := s.proxied(t, tt.header)
			rc.expect("USER "+testUser, StatusUserOK)
			rc.expect("PASS "+testPass, StatusUserLoggedIn)

			require.Len(t, drv.remotes.all(), i+1)
			assert.Equal(t, tt.remote, drv.remotes.all()[i], "ClientConnected sees the client, not the balancer")
			assert.Equal(t, tt.local, drv.locals.all()[i], "and the address the client connected to")
		})
	}
}

func TestProxyProtocolAnnouncesDestination(t *testing.T) {
	s, content := serverWithFile(t, withProxyProtocol(ProxyProtocolRequired, ProxyUntrustedRefuse, balancerIP),
		withSettings(func(s *Settings) { s.PasvConnectionsCheck = IPMatchDisabled }))

	// The client reached the balancer at 192.0.2.1; the passive listener is on this machine.
	rc := s.proxied(t, proxyV2(t, "198.51.100.20:40000", "192.0.2.1:21"))
	rc.expect("USER "+testUser, StatusUserOK)
	rc.expect("PASS "+testPass, StatusUserLoggedIn)
	rc.expect("TYPE I", StatusOK)

	ip, port := rc.pasvAnnounce()
	assert.Equal(t, "192.0.2.1", ip, "PASV announces the address the client connected to")
	// The balancer would forward 192.0.2.1:port here; the test connects directly.
	assert.Equal(t, sha256Hex(content), sha256Hex(rc.retrOver(dialData(t, "", port), "/f.bin")))
}

func TestProxyProtocolUntrusted(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		s, drv := newProxyServer(t, withProxyProtocol(ProxyProtocolRequired, ProxyUntrustedRefuse, balancerIP))

		rc := rawOver(t, s.dialFrom(t, strangerIP))
		code, msg := rc.read()
		assert.Equal(t, StatusServiceNotAvailable, code)
		assert.Equal(t, "Connect through the load balancer", msg)
		requireClosedSilently(t, rc.conn)

		// Even with a header: only trusted upstreams may send one.
		conn := s.dialFrom(t, strangerIP)
		_, err := conn.Write([]byte(v1Header))
		require.NoError(t, err)
		code, _ = rawOver(t, conn).read()
		assert.Equal(t, StatusServiceNotAvailable, code)

		// The balancer is still served.
		s.proxied(t, []byte(v1Header))
		assert.Equal(t, []string{v1Remote}, drv.remotes.all(), "the driver never saw the refused ones")
	})

	t.Run("direct", func(t *testing.T) {
		s, drv := newProxyServer(t, withProxyProtocol(ProxyProtocolRequired, ProxyUntrustedDirect, balancerIP))

		conn := s.dialFrom(t, strangerIP)
		rc := rawOver(t, conn)
		code, _ := rc.read()
		require.Equal(t, StatusServiceReady, code)

		// A header from anyone else is just an unknown command: nobody can claim an address.
		rc.expect(v1Header[:len(v1Header)-2], StatusSyntaxErrorNotRecognised)
		rc.expect("USER "+testUser, StatusUserOK)
		rc.expect("PASS "+testPass, StatusUserLoggedIn)

		assert.Equal(t, []string{conn.LocalAddr().String()}, drv.remotes.all(), "its socket address")
	})
}

func TestProxyProtocolBadHeaders(t *testing.T) {
	s, drv := newProxyServer(t, withProxyProtocol(ProxyProtocolRequired, ProxyUntrustedRefuse, balancerIP),
		withSettings(func(s *Settings) { s.ProxyHeaderTimeout = 300 * time.Millisecond }))

	udp, err := (&proxyproto.Header{
		Version:           2,
		Command:           proxyproto.PROXY,
		TransportProtocol: proxyproto.UDPv4,
		SourceAddr:        &net.UDPAddr{IP: net.ParseIP("203.0.113.7"), Port: 53},
		DestinationAddr:   &net.UDPAddr{IP: net.ParseIP("192.0.2.1"), Port: 53},
	}).Format()
	require.NoError(t, err)

	tests := []struct {
		name  string
		first []byte
	}{
		{"FTP without a header", []byte("USER test\r\n")},
		{"malformed v1", []byte("PROXY TCP4 not-an-address 127.0.0.1 5555 21\r\n")},
		{"v2 for UDP", udp},
		{"nothing within the header timeout", nil},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := s.dialFrom(t, balancerIP)
			_, err := conn.Write(tt.first)
			require.NoError(t, err)
			requireClosedSilently(t, conn)
		})
	}

	assert.Empty(t, drv.remotes.all())
}

func TestProxyProtocolSilentUpstreamBlocksNobody(t *testing.T) {
	s, _ := newProxyServer(t, withProxyProtocol(ProxyProtocolRequired, ProxyUntrustedRefuse, balancerIP),
		withSettings(func(s *Settings) { s.ProxyHeaderTimeout = time.Hour }))

	silent := make([]net.Conn, 3)
	for i := range silent {
		silent[i] = s.dialFrom(t, balancerIP)
	}

	// Greeted at once, though three connections before it have not sent their headers and
	// would not time out for an hour.
	start := time.Now()
	s.proxied(t, []byte(v1Header))
	assert.Less(t, time.Since(start), headerAwait)

	// Stop does not wait for the headers either: it closes those connections.
	start = time.Now()
	require.NoError(t, s.Stop())
	assert.Less(t, time.Since(start), headerAwait)

	for _, conn := range silent {
		requireClosedSilently(t, conn)
	}
}

func TestProxyProtocolOptional(t *testing.T) {
	const timeout = 300 * time.Millisecond

	s, drv := newProxyServer(t, withProxyProtocol(ProxyProtocolOptional, ProxyUntrustedRefuse, balancerIP),
		withSettings(func(s *Settings) { s.ProxyHeaderTimeout = timeout }))

	s.proxied(t, []byte(v1Header))

	// Without a header, the connection is greeted once the header timeout has passed.
	start := time.Now()
	conn := s.dialFrom(t, balancerIP)
	code, _ := rawOver(t, conn).read()
	require.Equal(t, StatusServiceReady, code)
	assert.GreaterOrEqual(t, time.Since(start), timeout)

	assert.Equal(t, []string{v1Remote, conn.LocalAddr().String()}, drv.remotes.all())
}

func TestProxyProtocolClientLimitsUseTheClient(t *testing.T) {
	s, _ := newProxyServer(t, withProxyProtocol(ProxyProtocolRequired, ProxyUntrustedRefuse, balancerIP),
		withSettings(func(s *Settings) { s.MaxClientsPerIP = 1 }))

	// All come from the balancer's address; the limit counts the clients behind it.
	s.proxied(t, []byte(v1Header))
	s.proxied(t, []byte("PROXY TCP4 203.0.113.8 127.0.0.1 5555 21\r\n"))

	conn := s.dialFrom(t, balancerIP)
	_, err := conn.Write([]byte("PROXY TCP4 203.0.113.7 127.0.0.1 5556 21\r\n"))
	require.NoError(t, err)

	code, msg := rawOver(t, conn).read()
	assert.Equal(t, StatusServiceNotAvailable, code)
	assert.Equal(t, "Too many connections from your address", msg)
}

// proxiedFTP logs in with jlaffaye/ftp through a pretend balancer: the control connection
// comes from 127.0.0.1 with a PROXY header naming realClient, and data connections come from
// dataFrom, the real client (a direct passive connection) or the balancer (one it forwards).
func proxiedFTP(t *testing.T, s *testServer, dataFrom string) *ftp.ServerConn {
	t.Helper()

	first := true
	dial := func(network, address string) (net.Conn, error) {
		isControl, from := first, dataFrom
		if isControl {
			first, from = false, balancerIP
		}

		dialer := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}

		conn, err := dialer.Dial(network, address)
		if err != nil || !isControl {
			return conn, err
		}

		header := fmt.Sprintf("PROXY TCP4 %s 127.0.0.1 40000 21\r\n", realClient)
		if _, err := conn.Write([]byte(header)); err != nil {
			_ = conn.Close()

			return nil, err
		}

		return conn, nil
	}

	conn, err := ftp.Dial(s.Addr(), ftp.DialWithTimeout(5*time.Second), ftp.DialWithDialFunc(dial))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Quit() })
	require.NoError(t, conn.Login(testUser, testPass))

	return conn
}

func TestProxyProtocolTransfers(t *testing.T) {
	content := testContent(500_000)

	tests := []struct {
		name     string
		check    DataConnectionRequirement
		dataFrom string
		works    bool
	}{
		{"from the client, IP checked", IPMatchRequired, realClient, true},
		{"through the balancer, IP checked", IPMatchRequired, balancerIP, false},
		{"through the balancer, IP not checked", IPMatchDisabled, balancerIP, true},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t, withProxyProtocol(ProxyProtocolRequired, ProxyUntrustedRefuse, balancerIP),
				withSettings(func(s *Settings) {
					s.PasvConnectionsCheck = tt.check
					s.ConnectionTimeout = 1
				}))
			conn := proxiedFTP(t, s, tt.dataFrom)

			err := conn.Stor("/up.bin", bytes.NewReader(content))
			if !tt.works {
				var protoErr *textproto.Error
				require.ErrorAs(t, err, &protoErr, "the balancer's connection is taken for a theft")
				assert.Equal(t, StatusCannotOpenDataConnection, protoErr.Code)

				return
			}

			require.NoError(t, err)
			r, err := conn.Retr("/up.bin")
			require.NoError(t, err)
			assert.Equal(t, sha256Hex(content), sha256Hex(readAllClose(t, r)))
		})
	}
}

func TestProxyProtocolActiveChecksTheClient(t *testing.T) {
	s, content := serverWithFile(t, withProxyProtocol(ProxyProtocolRequired, ProxyUntrustedRefuse, balancerIP),
		withSettings(func(s *Settings) { s.ActiveTransferPortNon20 = true }))
	rc := s.proxied(t, fmt.Appendf(nil, "PROXY TCP4 %s 127.0.0.1 40000 21\r\n", realClient))
	rc.expect("USER "+testUser, StatusUserOK)
	rc.expect("PASS "+testPass, StatusUserLoggedIn)
	rc.expect("TYPE I", StatusOK)

	// The balancer's address is not the client's: a bounce attempt.
	assert.Equal(t, "Data connection must go to your own address",
		rc.expect("EPRT |1|127.0.0.1|40001|", StatusSyntaxErrorParameters))

	listener, err := net.Listen("tcp", net.JoinHostPort(realClient, "0"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = listener.Close() })

	port := tcpPort(t, listener.Addr())
	rc.expect("EPRT |1|"+realClient+"|"+strconv.Itoa(port)+"|", StatusOK)
	rc.expect("RETR /f.bin", StatusFileStatusOK)

	data, err := listener.Accept()
	require.NoError(t, err)
	require.NoError(t, data.SetDeadline(time.Now().Add(10*time.Second)))
	assert.Equal(t, sha256Hex(content), sha256Hex(readAllClose(t, data)))

	code, msg := rc.read()
	assert.Equal(t, StatusClosingDataConn, code, msg)
}

func TestProxyProtocolSettingsErrors(t *testing.T) {
	tests := []struct {
		name      string
		upstreams []string
	}{
		{"no upstream", nil},
		{"bad CIDR", []string{"10.0.0.0/33"}},
		{"bad address", []string{"balancer.example.com"}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server := NewFtpServer(&testDriver{settings: &Settings{
				ListenAddr:            "127.0.0.1:0",
				ProxyProtocol:         ProxyProtocolRequired,
				ProxyAllowedUpstreams: tt.upstreams,
			}})
			err := server.Listen()
			require.Error(t, err)
			assert.Empty(t, server.Addr(), "nothing left listening")
			require.NoError(t, server.Stop())
		})
	}

	set, err := parseUpstreams([]string{" 10.0.0.0/8 ", "::ffff:192.0.2.1", "2001:db8::/32"})
	require.NoError(t, err)
	assert.True(t, set.contains(&net.TCPAddr{IP: net.ParseIP("10.1.2.3")}))
	assert.True(t, set.contains(&net.TCPAddr{IP: net.ParseIP("192.0.2.1")}), "IPv4-mapped is IPv4")
	assert.True(t, set.contains(&net.TCPAddr{IP: net.ParseIP("2001:db8::5")}))
	assert.False(t, set.contains(&net.TCPAddr{IP: net.ParseIP("192.0.2.2")}))
	assert.False(t, set.contains(&net.UnixAddr{Name: "/tmp/sock", Net: "unix"}))
}

func TestProxyProtocolImplicitTLS(t *testing.T) {
	s, drv := newProxyServer(t, withTLS(t), withProxyProtocol(ProxyProtocolRequired, ProxyUntrustedRefuse, balancerIP),
		withSettings(func(s *Settings) { s.TLSRequired = ImplicitEncryption }))

	// The header comes first, in clear; the TLS handshake follows it, as HAProxy sends them.
	conn := s.dialFrom(t, balancerIP)
	_, err := conn.Write(proxyV2(t, "198.51.100.20:40000", "192.0.2.1:990"))
	require.NoError(t, err)

	tlsConn := tls.Client(conn, clientTLSConfig())
	rc := rawOver(t, tlsConn)
	code, _ := rc.read()
	require.Equal(t, StatusServiceReady, code)
	rc.expect("USER "+testUser, StatusUserOK)
	rc.expect("PASS "+testPass, StatusUserLoggedIn)

	assert.Equal(t, []string{"198.51.100.20:40000"}, drv.remotes.all())
}

func FuzzParseUpstreams(f *testing.F) {
	for _, seed := range []string{"10.0.0.0/8", "192.0.2.1", "::1", "2001:db8::/32", "::ffff:10.0.0.1/104", "x", "1.2.3.4/"} {
		f.Add(seed, "10.1.2.3")
	}

	f.Fuzz(func(t *testing.T, entry, remote string) {
		set, err := parseUpstreams([]string{entry})
		if err != nil {
			assert.Nil(t, set)

			return
		}

		require.Len(t, set, 1)

		ip := net.ParseIP(remote)
		if ip == nil {
			return
		}

		// Whatever the entry, IPv4 and its IPv4-mapped IPv6 form are trusted alike.
		v4 := ip.To4()
		if v4 == nil {
			return
		}

		assert.Equal(t, set.contains(&net.TCPAddr{IP: v4}), set.contains(&net.TCPAddr{IP: v4.To16()}))
	})
}

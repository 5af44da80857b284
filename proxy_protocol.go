package ftpserver

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/pires/go-proxyproto"
)

// errProxyNoUpstreams refuses PROXY protocol settings that trust nobody.
var errProxyNoUpstreams = errors.New("ProxyProtocol needs ProxyAllowedUpstreams")

// errProxyTransport refuses a PROXY header for anything but a TCP connection.
var errProxyTransport = errors.New("PROXY header for a protocol other than TCP")

// upstreamSet is the addresses allowed to send a PROXY header.
type upstreamSet []netip.Prefix

// parseUpstreams reads Settings.ProxyAllowedUpstreams: CIDRs ("10.0.0.0/8") or single
// addresses ("192.0.2.10", "::1").
func parseUpstreams(entries []string) (upstreamSet, error) {
	set := make(upstreamSet, 0, len(entries))

	for _, entry := range entries {
		entry = strings.TrimSpace(entry)

		if strings.Contains(entry, "/") {
			prefix, err := netip.ParsePrefix(entry)
			if err != nil {
				return nil, fmt.Errorf("ProxyAllowedUpstreams: %w", err)
			}

			set = append(set, prefix.Masked())

			continue
		}

		addr, err := netip.ParseAddr(entry)
		if err != nil {
			return nil, fmt.Errorf("ProxyAllowedUpstreams: %w", err)
		}

		addr = addr.Unmap()
		set = append(set, netip.PrefixFrom(addr, addr.BitLen()))
	}

	if len(set) == 0 {
		return nil, errProxyNoUpstreams
	}

	return set, nil
}

// contains tells whether addr, a connection's remote address, is a trusted upstream.
func (u upstreamSet) contains(addr net.Addr) bool {
	ip, ok := addrIP(addr)
	if !ok {
		return false
	}

	for _, prefix := range u {
		if prefix.Contains(ip) {
			return true
		}
	}

	return false
}

// addrIP returns the IP of a TCP address, IPv4-mapped IPv6 addresses as IPv4.
func addrIP(addr net.Addr) (netip.Addr, bool) {
	ip, err := netip.ParseAddr(remoteIP(addr))
	if err != nil {
		return netip.Addr{}, false
	}

	return ip.Unmap(), true
}

// validateProxyHeader accepts headers of TCP connections, over IPv4 or IPv6, and LOCAL ones
// (a balancer's own health check, served with the socket's addresses). Anything else would
// leave the client without an IP for the data connection checks.
func validateProxyHeader(header *proxyproto.Header) error {
	if header.Command.IsLocal() {
		return nil
	}

	if header.TransportProtocol != proxyproto.TCPv4 && header.TransportProtocol != proxyproto.TCPv6 {
		return fmt.Errorf("%w: %#x", errProxyTransport, byte(header.TransportProtocol))
	}

	return nil
}

// proxyListener is the control listener with the PROXY protocol on. Its own goroutine accepts
// connections and reads the header of each trusted one in a goroutine of its own, bounded by
// the header timeout, so that a balancer's connection that sends nothing holds neither the
// accept loop nor Serve. Accept returns connections whose header has been read: from then on
// RemoteAddr and LocalAddr are the client's and the address it connected to, as the header
// says, for the connection filter, the client limits, the welcome and the data connection
// checks alike.
type proxyListener struct {
	net.Listener

	trusted   upstreamSet
	policy    proxyproto.Policy
	untrusted ProxyUntrustedPolicy
	timeout   time.Duration
	logger    log.Logger

	ready    chan accepted // connections ready for Accept, and accept errors
	done     chan struct{} // closed by Close
	loopDone chan struct{} // closed when the accept goroutine ends
	pending  connSet       // connections whose header is being read
	wg       sync.WaitGroup
	once     sync.Once
}

// accepted is what the accept goroutine hands to Accept.
type accepted struct {
	conn net.Conn
	err  error
}

// newProxyListener wraps inner, whose connections come from the upstreams of settings, and
// starts accepting.
func newProxyListener(inner net.Listener, settings *Settings, trusted upstreamSet, logger log.Logger,
) *proxyListener {
	l := &proxyListener{
		Listener:  inner,
		trusted:   trusted,
		policy:    proxyproto.REQUIRE,
		untrusted: settings.ProxyUntrusted,
		timeout:   settings.ProxyHeaderTimeout,
		logger:    logger,
		ready:     make(chan accepted),
		done:      make(chan struct{}),
		loopDone:  make(chan struct{}),
	}

	if settings.ProxyProtocol == ProxyProtocolOptional {
		l.policy = proxyproto.USE
	}

	l.wg.Add(1)

	go l.acceptLoop()

	return l
}

// Accept returns the next connection whose PROXY header has been read, or a direct one.
func (l *proxyListener) Accept() (net.Conn, error) {
	select {
	case a := <-l.ready:
		return a.conn, a.err
	case <-l.done:
	case <-l.loopDone:
	}

	return nil, newNetworkError("accepting", net.ErrClosed)
}

// Close stops accepting, closes the connections whose header is still awaited, and waits for
// the listener's goroutines.
func (l *proxyListener) Close() error {
	var err error

	l.once.Do(func() {
		close(l.done)
		err = l.Listener.Close()
		l.pending.closeAll()
		l.wg.Wait()
	})

	if err != nil {
		return fmt.Errorf("closing listener: %w", err)
	}

	return nil
}

// acceptLoop accepts socket connections until the listener fails or is closed. An accept
// error goes to Serve, which pauses on temporary ones before it calls Accept again; this loop
// waits for that call, so it never spins.
func (l *proxyListener) acceptLoop() {
	defer l.wg.Done()
	defer close(l.loopDone)

	for {
		conn, err := l.Listener.Accept()
		if err != nil {
			if !l.hand(accepted{err: err}) || !isTemporary(err) {
				return
			}

			continue
		}

		l.route(conn)
	}
}

// route sorts a new connection by its source: a trusted upstream's has its header read, any
// other is refused or served as direct.
func (l *proxyListener) route(conn net.Conn) {
	if !l.trusted.contains(conn.RemoteAddr()) {
		if l.untrusted == ProxyUntrustedDirect {
			l.hand(accepted{conn: conn})

			return
		}

		level.Warn(l.logger).Log("event", "refused", "remote", conn.RemoteAddr(), "reason", "not a PROXY upstream")
		refuseConn(conn, "Connect through the load balancer")

		return
	}

	if !l.pending.add(conn) {
		_ = conn.Close()

		return
	}

	l.wg.Add(1)

	go func() {
		defer l.wg.Done()
		defer l.pending.remove(conn)

		proxied := proxyproto.NewConn(conn,
			proxyproto.WithPolicy(l.policy),
			proxyproto.ValidateHeader(validateProxyHeader),
			proxyproto.SetReadHeaderTimeout(l.timeout))

		// go-proxyproto reads the header at the first Read or address lookup; a read of
		// nothing makes it happen here, with its error, and consumes no data.
		if _, err := proxied.Read(nil); err != nil {
			level.Warn(l.logger).Log("event", "proxy_header_refused", "upstream", conn.RemoteAddr(), "err", err)
			_ = conn.Close()

			return
		}

		l.hand(accepted{conn: proxied})
	}()
}

// hand gives a to Accept, or closes its connection when the listener is closed first; it
// tells which.
func (l *proxyListener) hand(a accepted) bool {
	select {
	case l.ready <- a:
		return true
	case <-l.done:
		if a.conn != nil {
			_ = a.conn.Close()
		}

		return false
	}
}

// socketConn returns the TCP connection under a control connection, for socket options.
func socketConn(conn net.Conn) net.Conn {
	if proxied, ok := conn.(*proxyproto.Conn); ok {
		return proxied.Raw()
	}

	return conn
}

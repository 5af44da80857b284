package ftpserver

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net"
	"strconv"
	"time"

	"github.com/go-kit/log/level"
)

// passiveTransferHandler is a data connection the client opens to a listener of ours.
type passiveTransferHandler struct {
	listener net.Listener
	timeout  time.Duration
	clientIP net.IP // nil when PasvConnectionsCheck is IPMatchDisabled
	onTheft  func(addr net.Addr)

	held heldConn
}

// Open accepts the client's connection. A connection from another IP than the control
// connection's is closed and waited past, so a third party can neither steal the data nor,
// by connecting first, deny it to the client.
func (p *passiveTransferHandler) Open() (net.Conn, error) {
	timer := time.AfterFunc(p.timeout, func() { _ = p.listener.Close() })
	defer timer.Stop()

	for {
		conn, err := p.listener.Accept()
		if err != nil {
			return nil, newNetworkError("accepting data connection", err)
		}

		if p.take(conn) {
			return p.held.keep(conn)
		}
	}
}

// take tells whether conn is the client's data connection, and then closes the listener (one
// connection per PASV); it closes one from another IP.
func (p *passiveTransferHandler) take(conn net.Conn) bool {
	if p.clientIP != nil && !net.ParseIP(remoteIP(conn.RemoteAddr())).Equal(p.clientIP) {
		p.onTheft(conn.RemoteAddr())
		_ = conn.Close()

		return false
	}

	_ = p.listener.Close()

	return true
}

// queuedAcceptWait bounds the accept of a connection the listener's queue was seen to hold: a
// client that reset it in between must not hold up the serve goroutine.
const queuedAcceptWait = 100 * time.Millisecond

// openQueued implements queuedOpener for a plain TCP listener (not one a driver wrapped, whose
// Accept may read from the connection). A refused connection from another IP is closed, and
// Open then waits for the client's.
func (p *passiveTransferHandler) openQueued() (net.Conn, bool) {
	listener, ok := p.listener.(*net.TCPListener)
	if !ok || !connectionQueued(listener) {
		return nil, false
	}

	_ = listener.SetDeadline(time.Now().Add(queuedAcceptWait))
	conn, err := listener.Accept()
	_ = listener.SetDeadline(time.Time{})

	if err != nil || !p.take(conn) {
		return nil, false
	}

	conn, err = p.held.keep(conn)

	return conn, err == nil
}

// Close implements transferHandler.
func (p *passiveTransferHandler) Close() error {
	return p.held.close(p.listener.Close)
}

// Channel implements transferHandler.
func (p *passiveTransferHandler) Channel() DataChannel {
	return DataChannelPassive
}

// listenPassive opens the listener of a PASV/EPSV on the control connection's local IP, within
// the configured port range, and lets the driver wrap it. It returns the listener and the port
// to announce (which differs from the listened one behind a mapping NAT).
func (c *clientHandler) listenPassive() (net.Listener, int, error) {
	localIP := net.ParseIP(remoteIP(c.socketLocalAddr()))

	listener, exposed, err := listenInRange(localIP, c.settings.PassiveTransferPortRange)
	if errors.Is(err, errNilPortRange) {
		level.Warn(c.logger).Log("event", "passive_port_range_invalid", "err", err,
			"setting", fmt.Sprintf("PassiveTransferPortRange is a nil %T", c.settings.PassiveTransferPortRange))
	}

	if err != nil {
		return nil, 0, err
	}

	if wrapper, ok := c.server.driver.(MainDriverExtensionPassiveWrapper); ok {
		wrapped, err := wrapper.WrapPassiveListener(listener)
		if err != nil {
			_ = listener.Close()

			return nil, 0, newDriverError("wrapping passive listener", err)
		}

		listener = wrapped
	}

	return listener, exposed, nil
}

// listenInRange listens on ip at a port from the PassiveTransferPortRange setting (any port
// when nil).
func listenInRange(ip net.IP, setting PasvPortGetter) (net.Listener, int, error) {
	ports, err := portRangeOf(setting)
	if err != nil {
		return nil, 0, err
	}

	if ports == nil {
		listener, err := listenData(net.JoinHostPort(ip.String(), "0"))
		if err != nil {
			return nil, 0, newNetworkError("listening for passive connection", err)
		}

		return listener, listener.Addr().(*net.TCPAddr).Port, nil //nolint:forcetypeassert,errcheck // a TCP listener
	}

	for exposed, listened := range candidatePorts(ports) {
		listener, err := listenData(net.JoinHostPort(ip.String(), strconv.Itoa(listened)))
		if err == nil {
			return listener, exposed, nil
		}
	}

	return nil, 0, ErrNoAvailableListeningPort
}

// dataListenConfig is how passive listeners are opened. Without keep-alive probes, since a
// data connection lives for one transfer and a stalled one is caught by TransferStallTimeout;
// that saves four system calls on each accepted connection. Without Multipath TCP, which
// Go otherwise asks the kernel for on Linux: an MPTCP listener costs more to open and to set
// up for each transfer, and a data connection gains nothing from it.
var dataListenConfig = func() *net.ListenConfig {
	config := &net.ListenConfig{KeepAlive: -1}
	config.SetMultipathTCP(false)

	return config
}()

// listenData opens a passive listener on addr.
func listenData(addr string) (net.Listener, error) {
	return dataListenConfig.Listen(context.Background(), "tcp", addr) //nolint:wrapcheck // callers wrap it
}

// candidatePorts yields the (exposed, listened) port pairs a passive listener tries, from ports
// as portRangeOf returns them. The package's ranges pick a port at random, so asking them
// NumberAttempts times would often miss the one free port of a nearly full range (a third of the
// time for 8 ports with 7 taken): they are walked instead, every port once, from the random pick
// on. Any other PasvPortGetter is asked NumberAttempts times.
func candidatePorts(ports PasvPortGetter) iter.Seq2[int, int] {
	return func(yield func(int, int) bool) {
		for range max(ports.NumberAttempts(), 1) {
			exposed, listened, ok := ports.FetchNext()
			if !ok {
				return
			}

			switch r := ports.(type) {
			case PortRange:
				walkRange(exposed-r.Start, r.NumberAttempts(), func(i int) bool {
					return yield(r.Start+i, r.Start+i)
				})

				return
			case PortMappingRange:
				walkRange(exposed-r.ExposedStart, r.Count, func(i int) bool {
					return yield(r.ExposedStart+i, r.ListenedStart+i)
				})

				return
			}

			if !yield(exposed, listened) {
				return
			}
		}
	}
}

// walkRange calls try with each index of a range of size indices, from first on and wrapping
// around, until try returns false.
func walkRange(first, size int, try func(i int) bool) {
	for i := range size {
		if !try((first + i) % size) {
			return
		}
	}
}

// preparePassive opens a passive listener and makes it the prepared data connection.
func (c *clientHandler) preparePassive() (int, error) {
	// The connection this one replaces is closed first: its listener may hold the only free
	// port of the range, and a client that sends PASV again must get it back.
	c.closeData()

	if mux := c.server.passiveMux; mux != nil {
		return c.prepareSharedPassive(mux)
	}

	listener, port, err := c.listenPassive()
	if err != nil {
		return 0, err
	}

	handler := &passiveTransferHandler{
		listener: listener,
		timeout:  seconds(c.settings.ConnectionTimeout),
		onTheft: func(addr net.Addr) {
			level.Warn(c.logger).Log("event", "passive_connection_refused", "from", addr)
		},
	}

	if c.settings.PasvConnectionsCheck == IPMatchRequired {
		handler.clientIP = net.ParseIP(remoteIP(c.RemoteAddr()))
	}

	c.setData(handler)

	return port, nil
}

// replyPassiveFailed answers a PASV or EPSV that could not listen: 421, which RFC 959 5.4 lists
// for PASV where it has no 425; the session goes on.
func (c *clientHandler) replyPassiveFailed(err error) {
	if errors.Is(err, errNilPortRange) {
		// A driver's misconfiguration rather than a failure to listen: 500, as ftpserverlib
		// answers it (logged by listenPassive).
		c.replyError(StatusSyntaxErrorNotRecognised, "Cannot open passive connection", err)

		return
	}

	level.Warn(c.logger).Log("event", "passive_listen_failed", "err", err)
	c.reply(StatusServiceNotAvailable, "Could not listen for passive connection: "+clientErrorText(err))
}

// handlePASV opens a passive listener and announces it (RFC 959 4.1.2). PASV can only carry
// an IPv4 address; IPv6 clients use EPSV.
func (c *clientHandler) handlePASV(string) {
	ip := c.passiveIP()
	if ip.To4() == nil {
		c.reply(StatusCannotOpenDataConnection, "PASV needs an IPv4 address, use EPSV")

		return
	}

	port, err := c.preparePassive()
	if err != nil {
		c.replyPassiveFailed(err)

		return
	}

	addr, err := formatPASVAddr(ip, port)
	if err != nil {
		c.closeData()
		c.replyError(StatusCannotOpenDataConnection, "Cannot open passive connection", err)

		return
	}

	c.reply(StatusEnteringPASV, "Entering Passive Mode ("+addr+")")
}

// passiveIP is the address announced by PASV: the driver's resolver, else PublicHost, else
// the address the client reached us on.
func (c *clientHandler) passiveIP() net.IP {
	if resolver := c.settings.PublicIPResolver; resolver != nil {
		public, err := resolver(c)
		if ip := net.ParseIP(public); err == nil && ip != nil {
			return ip
		}

		level.Warn(c.logger).Log("event", "public_ip_resolver_failed", "ip", public, "err", err)
	}

	if ip := net.ParseIP(c.settings.PublicHost); ip != nil {
		return ip
	}

	return net.ParseIP(remoteIP(c.LocalAddr()))
}

// handleEPSV opens a passive listener and announces its port only (RFC 2428 3); "EPSV ALL"
// makes it the only data connection command accepted from then on.
func (c *clientHandler) handleEPSV(param string) {
	family, all, err := parseEPSVArg(param)

	switch {
	case errors.Is(err, errUnsupportedNetworkProtocol):
		c.reply(StatusNetworkProtocolNotSupported, "Network protocol not supported, use ("+c.addressFamily()+")")

		return
	case err != nil:
		c.reply(StatusSyntaxErrorParameters, "Bad EPSV argument")

		return
	case all:
		c.epsvAll = true
		c.reply(StatusOK, "EPSV ALL accepted")

		return
	case family != 0 && strconv.Itoa(family) != c.addressFamily():
		c.reply(StatusNetworkProtocolNotSupported, "Network protocol not supported, use ("+c.addressFamily()+")")

		return
	}

	port, err := c.preparePassive()
	if err != nil {
		c.replyPassiveFailed(err)

		return
	}

	c.reply(StatusEnteringEPSV, "Entering Extended Passive Mode (|||"+strconv.Itoa(port)+"|)")
}

// addressFamily is the RFC 2428 family number of the control connection: "1" or "2".
func (c *clientHandler) addressFamily() string {
	if net.ParseIP(remoteIP(c.LocalAddr())).To4() != nil {
		return "1"
	}

	return "2"
}

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
	// kept is the listener when it outlives this transfer (KeepPassiveListener): the handler
	// never closes it, and a deadline ends a wait on it.
	kept *net.TCPListener
	// queued sees whether a connection waits on the listener (socketOptions.queued); nil
	// where it cannot, and then the connection is always opened by Open.
	queued func(*net.TCPListener) bool

	waitingPort
}

// Open accepts the client's connection. A connection from another IP than the control
// connection's is closed and waited past, so a third party can neither steal the data nor,
// by connecting first, deny it to the client.
func (p *passiveTransferHandler) Open() (net.Conn, error) {
	if p.kept != nil {
		if !p.held.whileOpen(func() { _ = p.kept.SetDeadline(time.Now().Add(p.timeout)) }) {
			return nil, newNetworkError("accepting data connection", net.ErrClosed)
		}
	} else {
		timer := time.AfterFunc(p.timeout, func() { _ = p.listener.Close() })
		defer timer.Stop()
	}

	for {
		conn, err := p.listener.Accept()
		if err != nil {
			return nil, newNetworkError("accepting data connection", err)
		}

		if p.take(conn) {
			// Settled once kept: a timer that fires in between then finds the connection and
			// leaves it alone.
			kept, err := p.held.keep(conn)
			p.pending.settle()

			return kept, err
		}
	}
}

// take tells whether conn is the client's data connection, and then closes the listener unless
// it is kept (one connection per PASV); it closes one from another IP.
func (p *passiveTransferHandler) take(conn net.Conn) bool {
	if p.clientIP != nil && !net.ParseIP(remoteIP(conn.RemoteAddr())).Equal(p.clientIP) {
		p.onTheft(conn.RemoteAddr())
		_ = conn.Close()

		return false
	}

	if p.kept == nil {
		_ = p.listener.Close()
	}

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
	if !ok || p.queued == nil || !p.queued(listener) {
		return nil, false
	}

	_ = listener.SetDeadline(time.Now().Add(queuedAcceptWait))
	conn, err := listener.Accept()
	_ = listener.SetDeadline(time.Time{})

	if err != nil || !p.take(conn) {
		return nil, false
	}

	conn, err = p.held.keep(conn)
	p.pending.settle()

	return conn, err == nil
}

// Close implements transferHandler.
func (p *passiveTransferHandler) Close() error {
	defer p.pending.settle()

	return p.held.close(p.closeListener)
}

// giveUp implements passivePort: a listener of its own is closed, a kept one stops waiting.
func (p *passiveTransferHandler) giveUp() bool {
	return p.held.expire(p.closeListener)
}

// closeListener closes the listener or, when it is kept, ends a wait on it.
func (p *passiveTransferHandler) closeListener() error {
	if p.kept == nil {
		return p.listener.Close() //nolint:wrapcheck // heldConn wraps it
	}

	return p.kept.SetDeadline(aLongTimeAgo) //nolint:wrapcheck // heldConn wraps it
}

// aLongTimeAgo is a deadline in the past: it ends a wait at once.
var aLongTimeAgo = time.Unix(1, 0)

// keptListener is a session's passive listener kept between its transfers
// (KeepPassiveListener), and the port its PASV and EPSV announce.
type keptListener struct {
	listener *net.TCPListener
	port     int
	queued   func(*net.TCPListener) bool // socketOptions.queued, never nil for a kept listener
}

// maxStaleConnections bounds the waiting connections a re-armed listener closes; a listener
// that holds more is replaced.
const maxStaleConnections = 8

// rearm readies the kept listener for the next transfer by closing every connection that waits
// on it: none was made for the PASV about to be answered. It tells whether the queue is empty.
func (k *keptListener) rearm() bool {
	for range maxStaleConnections {
		if !k.queued(k.listener) {
			return true
		}

		_ = k.listener.SetDeadline(time.Now().Add(queuedAcceptWait))

		conn, err := k.listener.Accept()
		if err != nil {
			return false
		}

		_ = conn.Close()
	}

	return !k.queued(k.listener)
}

// releaseListener closes the kept passive listener, if any.
func (d *dataChannel) releaseListener() {
	if d.kept != nil {
		_ = d.kept.listener.Close()
		d.kept = nil
	}
}

// keepsListener tells whether this session may keep its passive listener between transfers
// (see KeepPassiveListener): only where it can see a listener's queue to empty it, and where a
// kept port deprives no other session of one. The caller keeps only a *net.TCPListener, not
// one a MainDriverExtensionPassiveWrapper wrapped.
func (d *dataChannel) keepsListener() bool {
	settings := d.env.settings
	if !settings.KeepPassiveListener || d.env.sockets.queued == nil {
		return false
	}

	ports, err := portRangeOf(settings.PassiveTransferPortRange)

	switch r := ports.(type) {
	case nil:
		return err == nil
	case PortRange:
		return settings.MaxClients > 0 && r.End-r.Start+1 >= settings.MaxClients
	case PortMappingRange:
		return settings.MaxClients > 0 && r.Count >= settings.MaxClients
	}

	return false
}

// passiveListener returns the listener of the next passive transfer and the port to announce:
// the kept one, emptied, else a new one, kept when keepsListener allows. kept is the listener
// when it outlives the transfer.
func (d *dataChannel) passiveListener() (listener net.Listener, kept *net.TCPListener, port int, err error) {
	if d.kept != nil {
		if d.kept.rearm() {
			return d.kept.listener, d.kept.listener, d.kept.port, nil
		}

		d.releaseListener()
	}

	listener, port, err = d.listenPassive()
	if err != nil {
		return nil, nil, 0, err
	}

	if tcp, ok := listener.(*net.TCPListener); ok && d.keepsListener() {
		d.kept = &keptListener{listener: tcp, port: port, queued: d.env.sockets.queued}

		return tcp, tcp, port, nil
	}

	return listener, nil, port, nil
}

// Channel implements transferHandler.
func (p *passiveTransferHandler) Channel() DataChannel {
	return DataChannelPassive
}

// listenPassive opens the listener of a PASV/EPSV on the control connection's local IP, within
// the configured port range, and lets the driver wrap it. It returns the listener and the port
// to announce (which differs from the listened one behind a mapping NAT).
func (d *dataChannel) listenPassive() (net.Listener, int, error) {
	localIP := net.ParseIP(remoteIP(d.env.local))

	listener, exposed, err := listenInRange(localIP, d.env.settings.PassiveTransferPortRange)
	if errors.Is(err, errNilPortRange) {
		level.Warn(d.env.logger).Log("event", "passive_port_range_invalid", "err", err,
			"setting", fmt.Sprintf("PassiveTransferPortRange is a nil %T", d.env.settings.PassiveTransferPortRange))
	}

	if err != nil {
		return nil, 0, err
	}

	if d.env.wrapListener != nil {
		wrapped, err := d.env.wrapListener(listener)
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

		return listener, listener.Addr().(*net.TCPAddr).Port, nil //nolint:errcheck // a TCP listener
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

// preparePassive opens a passive listener, or reserves a slot of the shared ones, and makes it
// the prepared data connection; it returns the port to announce. It fails with
// errTooManyPassivePorts when the client's address holds MaxPassivePortsPerIP ports already.
func (d *dataChannel) preparePassive() (int, error) {
	// The connection this one replaces is closed first: its listener may hold the only free
	// port of the range, and a client that sends PASV again must get it back; its place in
	// the address's budget is given back too.
	d.closePrepared()

	// Counted once open: a PASV waiting for a shared slot holds no port yet.
	port, announced, err := d.openPassivePort()
	if err != nil {
		return 0, err
	}

	pending, err := d.holdPassivePort()
	if err != nil {
		_ = port.Close()

		return 0, err
	}

	d.armPassivePort(port, announced, pending)

	return announced, nil
}

// openPassivePort opens a passive listener, or reserves a slot of the shared ones; it returns
// the port to announce.
func (d *dataChannel) openPassivePort() (passivePort, int, error) {
	timeout := seconds(d.env.settings.ConnectionTimeout)

	if mux := d.env.mux; mux != nil {
		return mux.prepare(d.env.remote, timeout, d.env.closed)
	}

	listener, kept, port, err := d.passiveListener()
	if err != nil {
		return nil, 0, err
	}

	logger := d.env.logger
	handler := &passiveTransferHandler{
		listener: listener,
		kept:     kept,
		timeout:  timeout,
		queued:   d.env.sockets.queued,
		onTheft: func(addr net.Addr) {
			level.Warn(logger).Log("event", "passive_connection_refused", "from", addr)
		},
	}

	if d.env.settings.PasvConnectionsCheck == IPMatchRequired {
		handler.clientIP = net.ParseIP(remoteIP(d.env.remote))
	}

	return handler, port, nil
}

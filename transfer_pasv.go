package ftpserver

import (
	"net"
	"time"
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

// Channel implements transferHandler.
func (p *passiveTransferHandler) Channel() DataChannel {
	return DataChannelPassive
}

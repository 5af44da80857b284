package ftpserver

import (
	"errors"
	"net"
	"sync"
)

// transferHandler is a data connection being prepared by PASV/EPSV (passive) or PORT/EPRT
// (active). Transfer code only opens and closes it, so it never cares which kind it has.
type transferHandler interface {
	// Open waits for (passive) or makes (active) the data connection, within the
	// ConnectionTimeout. It is called once.
	Open() (net.Conn, error)
	// Close closes the connection and any listener; it unblocks a pending Open or a transfer
	// in progress, and is safe to call more than once and concurrently with Open.
	Close() error
	// Channel tells which kind of data connection this is.
	Channel() DataChannel
}

// queuedOpener is a transferHandler whose connection may already be waiting to be taken.
type queuedOpener interface {
	// openQueued returns the data connection when the client's is already queued, without
	// waiting; it reports false, having opened nothing, in any other case.
	openQueued() (net.Conn, bool)
}

// heldConn keeps the data connection a transferHandler opened, so that Close, called from
// another goroutine (ABOR, Stop), reaches it; a connection opened after Close is refused.
type heldConn struct {
	mu      sync.Mutex
	conn    net.Conn
	closed  bool
	expired bool // closed by expire, before any connection came
}

// whileOpen runs fn under the lock unless Close came first, and tells which.
func (h *heldConn) whileOpen(fn func()) bool {
	h.mu.Lock()
	defer h.mu.Unlock()

	if h.closed {
		return false
	}

	fn()

	return true
}

// keep records conn, or closes it when Close came first.
func (h *heldConn) keep(conn net.Conn) (net.Conn, error) {
	if h.whileOpen(func() { h.conn = conn }) {
		return conn, nil
	}

	_ = conn.Close()

	return nil, errTransferAborted
}

// expire closes the handler as close does, but only while it holds no connection: a passive
// port nobody connected to is given up. It tells whether it did.
func (h *heldConn) expire(closeOwn func() error) bool {
	h.mu.Lock()
	defer h.mu.Unlock()

	if h.closed || h.conn != nil {
		return false
	}

	h.closed, h.expired = true, true
	_ = closeOwn()

	return true
}

// wasExpired tells whether expire closed the handler.
func (h *heldConn) wasExpired() bool {
	h.mu.Lock()
	defer h.mu.Unlock()

	return h.expired
}

// close marks the handler closed, runs its own closing step (a listener, a dial) and closes
// the connection. Only the first call does: a transfer closes its handler more than once, and
// by the later calls a kept listener may serve the next transfer.
func (h *heldConn) close(closeOwn func() error) error {
	h.mu.Lock()
	defer h.mu.Unlock()

	if h.closed {
		return nil
	}

	h.closed = true

	err := closeOwn()
	if h.conn != nil {
		// The transfer has usually closed its connection already.
		if connErr := h.conn.Close(); !errors.Is(connErr, net.ErrClosed) {
			err = errors.Join(err, connErr)
		}
	}

	if err != nil && !errors.Is(err, net.ErrClosed) {
		return newNetworkError("closing data connection", err)
	}

	return nil
}

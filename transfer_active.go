package ftpserver

import (
	"context"
	"net"
	"syscall"
	"time"
)

// activeTransferHandler is a data connection we open to the address a client gave with PORT
// or EPRT.
type activeTransferHandler struct {
	raddr   *net.TCPAddr
	laddr   *net.TCPAddr // nil: any local port
	timeout time.Duration
	// control is the dialer's Control function (socketOptions.dialControl), nil for none.
	control func(network, address string, raw syscall.RawConn) error

	cancel context.CancelFunc // guarded by held's lock
	held   heldConn
}

// Open dials the client from laddr (activeSourceAddr) and, when that fails before the timeout,
// from any port.
func (a *activeTransferHandler) Open() (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), a.timeout)
	defer cancel()

	if !a.held.whileOpen(func() { a.cancel = cancel }) {
		return nil, errTransferAborted
	}

	conn, err := a.dial(ctx, a.laddr)
	if err != nil && a.laddr != nil && ctx.Err() == nil {
		conn, err = a.dial(ctx, nil)
	}

	if err != nil {
		return nil, newNetworkError("dialing "+a.raddr.String(), err)
	}

	return a.held.keep(conn)
}

func (a *activeTransferHandler) dial(ctx context.Context, laddr *net.TCPAddr) (net.Conn, error) {
	dialer := net.Dialer{Control: a.control}
	if laddr != nil {
		dialer.LocalAddr = laddr
	}

	conn, err := dialer.DialContext(ctx, "tcp", a.raddr.String())
	if err != nil {
		return nil, err //nolint:wrapcheck // wrapped by Open
	}

	return conn, nil
}

// Close implements transferHandler: it cancels a dial in progress or closes the connection.
func (a *activeTransferHandler) Close() error {
	return a.held.close(func() error {
		if a.cancel != nil {
			a.cancel()
		}

		return nil
	})
}

// Channel implements transferHandler.
func (a *activeTransferHandler) Channel() DataChannel {
	return DataChannelActive
}

package ftpserver

import (
	"context"
	"errors"
	"net"
	"syscall"
	"time"

	"github.com/go-kit/log/level"
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

// Open dials the client. It first tries the RFC 959 3.2 source port (the control port minus
// one, 20 for a server on 21) when configured, then any port: binding a low port needs
// privileges an embedded server rarely has.
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

var (
	// errBounceAddress refuses a PORT/EPRT target other than the client's own address.
	errBounceAddress = errors.New("data connection must go to your own address")
	// errBouncePort refuses a PORT/EPRT target on a privileged port.
	errBouncePort = errors.New("data connection to a privileged port refused")
)

// prepareActive checks a PORT/EPRT target and makes it the prepared data connection. Unless
// ActiveConnectionsCheck is IPMatchDisabled the target must be the client itself, on an
// unprivileged port: anything else is an FTP bounce attempt (RFC 2577).
func (d *dataChannel) prepareActive(raddr *net.TCPAddr) error {
	settings := d.env.settings

	if settings.ActiveConnectionsCheck == IPMatchRequired {
		var err error

		switch {
		case !raddr.IP.Equal(net.ParseIP(remoteIP(d.env.remote))):
			err = errBounceAddress
		case raddr.Port < 1024:
			err = errBouncePort
		}

		if err != nil {
			level.Warn(d.env.logger).Log("event", "bounce_refused", "target", raddr)

			return err
		}
	}

	handler := &activeTransferHandler{
		raddr: raddr, timeout: seconds(settings.ConnectionTimeout), control: d.env.sockets.dialControl,
	}

	if !settings.ActiveTransferPortNon20 {
		if local, ok := d.env.local.(*net.TCPAddr); ok && local.Port > 1 {
			handler.laddr = &net.TCPAddr{IP: local.IP, Port: local.Port - 1}
		}
	}

	d.prepare(handler)
	d.releaseListener() // the client has left passive mode: its port may serve another

	return nil
}

package ftpserver

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/go-kit/log/level"
)

// activeTransferHandler is a data connection we open to the address a client gave with PORT
// or EPRT.
type activeTransferHandler struct {
	raddr   *net.TCPAddr
	laddr   *net.TCPAddr // nil: any local port
	timeout time.Duration

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
	dialer := net.Dialer{Control: Control}
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

// prepareActive checks a PORT/EPRT target and makes it the prepared data connection. Unless
// ActiveConnectionsCheck is IPMatchDisabled the target must be the client itself, on an
// unprivileged port: anything else is an FTP bounce attempt (RFC 2577).
func (c *clientHandler) prepareActive(raddr *net.TCPAddr) bool {
	if c.settings.ActiveConnectionsCheck == IPMatchRequired {
		clientIP := net.ParseIP(remoteIP(c.RemoteAddr()))
		if !raddr.IP.Equal(clientIP) {
			level.Warn(c.logger).Log("event", "bounce_refused", "target", raddr)
			c.reply(StatusSyntaxErrorParameters, "Data connection must go to your own address")

			return false
		}

		if raddr.Port < 1024 {
			level.Warn(c.logger).Log("event", "bounce_refused", "target", raddr)
			c.reply(StatusSyntaxErrorParameters, "Data connection to a privileged port refused")

			return false
		}
	}

	handler := &activeTransferHandler{raddr: raddr, timeout: seconds(c.settings.ConnectionTimeout)}

	if !c.settings.ActiveTransferPortNon20 {
		if local, ok := c.socketLocalAddr().(*net.TCPAddr); ok && local.Port > 1 {
			handler.laddr = &net.TCPAddr{IP: local.IP, Port: local.Port - 1}
		}
	}

	c.setData(handler)

	return true
}

// handlePORT prepares an active connection to an IPv4 address (RFC 959 4.1.2).
func (c *clientHandler) handlePORT(param string) {
	raddr, err := parsePORTArg(param)
	if err != nil {
		c.reply(StatusSyntaxErrorParameters, "Bad PORT argument")

		return
	}

	if c.prepareActive(raddr) {
		c.reply(StatusOK, "PORT command successful")
	}
}

// handleEPRT prepares an active connection to an IPv4 or IPv6 address (RFC 2428 2).
func (c *clientHandler) handleEPRT(param string) {
	raddr, err := parseEPRTArg(param)

	switch {
	case errors.Is(err, errUnsupportedNetworkProtocol):
		c.reply(StatusNetworkProtocolNotSupported, "Network protocol not supported, use (1,2)")

		return
	case err != nil:
		c.reply(StatusSyntaxErrorParameters, "Bad EPRT argument")

		return
	}

	if c.prepareActive(raddr) {
		c.reply(StatusOK, "EPRT command successful")
	}
}

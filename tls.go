package ftpserver

import (
	"crypto/rand"
	"crypto/tls"
	"errors"
	"net"
	"time"

	"github.com/go-kit/log/level"
)

// errSessionNotReused refuses a protected data connection that did not resume the control
// connection's TLS session, when Settings.TLSRequireSessionReuse is set.
var errSessionNotReused = errors.New("TLS session reuse required")

// sessionTLSConfig returns the driver's TLS configuration, asked anew for each handshake so a
// certificate can rotate, with session tickets sealed by a key of this client's own: a data
// connection can then resume only a session of this control connection, never another
// client's (vsftpd's require_ssl_reuse relies on the same property).
func (c *clientHandler) sessionTLSConfig() (*tls.Config, error) {
	config, err := c.server.tlsConfig()
	if err != nil {
		return nil, err
	}

	c.mu.Lock()
	if !c.hasTicketKey {
		_, _ = rand.Read(c.ticketKey[:])
		c.hasTicketKey = true
	}
	key := c.ticketKey
	c.mu.Unlock()

	config = config.Clone()
	if !config.SessionTicketsDisabled {
		config.SetSessionTicketKeys([][32]byte{key})
	}

	return config, nil
}

// handshake runs the server side of a TLS handshake on conn within ConnectionTimeout.
func (c *clientHandler) handshake(conn net.Conn) (*tls.Conn, error) {
	config, err := c.sessionTLSConfig()
	if err != nil {
		return nil, err
	}

	tlsConn := tls.Server(conn, config)

	_ = tlsConn.SetDeadline(time.Now().Add(seconds(c.settings.ConnectionTimeout)))
	if err := tlsConn.Handshake(); err != nil {
		return nil, newNetworkError("TLS handshake", err)
	}

	_ = tlsConn.SetDeadline(time.Time{})

	return tlsConn, nil
}

// upgradeControlToTLS turns the control connection into TLS, after AUTH TLS or at once with
// implicit TLS. Commands are read from the TLS stream from the next byte on.
func (c *clientHandler) upgradeControlToTLS() error {
	tlsConn, err := c.handshake(c.rawConn)
	if err != nil {
		return err
	}

	c.writeMu.Lock()
	c.conn = tlsConn
	c.reader.reset(tlsConn)
	c.writeMu.Unlock()

	c.mu.Lock()
	c.controlTLS = true
	c.mu.Unlock()

	return nil
}

// handshakeData protects a data connection. RFC 4217 7: the server is the TLS server on the
// data connection too, whichever side opened the TCP connection.
func (c *clientHandler) handshakeData(conn net.Conn) (*tls.Conn, error) {
	tlsConn, err := c.handshake(conn)
	if err != nil {
		return nil, err
	}

	if c.settings.TLSRequireSessionReuse && !tlsConn.ConnectionState().DidResume {
		level.Warn(c.logger).Log("event", "data_tls_refused", "reason", "session not reused")

		return nil, errSessionNotReused
	}

	return tlsConn, nil
}

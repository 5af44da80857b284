package ftpserver

import (
	"crypto/rand"
	"crypto/tls"
	"errors"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
)

// errSessionNotReused refuses a protected data connection that did not resume the control
// connection's TLS session, when Settings.TLSRequireSessionReuse is set.
var errSessionNotReused = errors.New("TLS session reuse required")

// sessionNotReusedText is the text of the 425 that refuses such a data connection, and of the
// log line that reports it: the reason, and what the user or the administrator can do.
const sessionNotReusedText = "TLS session reuse required: the data connection did not resume " +
	"the control connection's TLS session; use a client that reuses it, " +
	"or ask the administrator to make reuse optional"

// alpnFTP is the ALPN protocol identifier of FTP (IANA's registry, RFC 7301 6). Advertising it
// makes a client that offers only other protocols, such as a browser's "http/1.1" sent to the
// FTP port by a cross-protocol attack (ALPACA), fail the handshake; a client that offers no
// protocol at all, as most FTP clients do, is not concerned.
const alpnFTP = "ftp"

// openDataRefusal is the text of the 425 for a data connection that could not be opened.
func openDataRefusal(err error) string {
	if errors.Is(err, errSessionNotReused) {
		return sessionNotReusedText
	}

	return "Cannot open data connection"
}

// sessionTLS runs the TLS handshakes of one session, on its control connection and on its data
// connections, with session tickets sealed by a key of this session's own: a data connection
// can then resume only a session of this control connection, never another client's
// (vsftpd's require_ssl_reuse relies on the same property).
type sessionTLS struct {
	config       func() (*tls.Config, error) // the driver's, asked anew for each handshake
	timeout      time.Duration               // for each handshake
	requireReuse bool                        // Settings.TLSRequireSessionReuse
	logger       log.Logger

	keyOnce   sync.Once
	ticketKey [32]byte
}

// serverConfig returns the driver's TLS configuration, asked anew for each handshake so a
// certificate can rotate, with this session's ticket key and the ALPN protocol "ftp" added.
func (s *sessionTLS) serverConfig() (*tls.Config, error) {
	config, err := s.config()
	if err != nil {
		return nil, err
	}

	s.keyOnce.Do(func() { _, _ = rand.Read(s.ticketKey[:]) })

	config = config.Clone()
	if !config.SessionTicketsDisabled {
		config.SetSessionTicketKeys([][32]byte{s.ticketKey})
	}

	if !slices.Contains(config.NextProtos, alpnFTP) {
		config.NextProtos = append(slices.Clip(config.NextProtos), alpnFTP)
	}

	return config, nil
}

// handshake runs the server side of a TLS handshake on conn within the timeout.
func (s *sessionTLS) handshake(conn net.Conn) (*tls.Conn, error) {
	config, err := s.serverConfig()
	if err != nil {
		return nil, err
	}

	tlsConn := tls.Server(conn, config)

	_ = tlsConn.SetDeadline(time.Now().Add(s.timeout))
	if err := tlsConn.Handshake(); err != nil {
		return nil, newNetworkError("TLS handshake", err)
	}

	_ = tlsConn.SetDeadline(time.Time{})

	return tlsConn, nil
}

// handshakeData protects a data connection. RFC 4217 7: the server is the TLS server on the
// data connection too, whichever side opened the TCP connection.
func (s *sessionTLS) handshakeData(conn net.Conn) (net.Conn, error) {
	tlsConn, err := protectData(conn, s.handshake)
	if err != nil {
		return nil, err
	}

	if s.requireReuse && !tlsConn.ConnectionState().DidResume {
		// At warn, the level a production logger keeps: the client may not show the reply.
		level.Warn(s.logger).Log("event", "data_tls_refused", "reason", sessionNotReusedText)

		return nil, errSessionNotReused
	}

	return tlsConn, nil
}

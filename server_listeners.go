package ftpserver

import (
	"net"

	"github.com/go-kit/log/level"
)

// setUpListeners completes the control listener Listen opened: it opens the shared passive
// ports when PassiveTransferPortMultiplexing is on, and puts the PROXY protocol reader in front
// of the control listener when ProxyProtocol is on. It returns the listener Serve accepts from.
func (s *FtpServer) setUpListeners(listener net.Listener) (net.Listener, error) {
	var trusted upstreamSet

	if s.settings.ProxyProtocol != ProxyProtocolOff {
		var err error

		// Checked first, so that wrong settings leave no port open.
		if trusted, err = parseUpstreams(s.settings.ProxyAllowedUpstreams); err != nil {
			return nil, err
		}
	}

	if s.settings.PassiveTransferPortMultiplexing {
		mux, err := s.newPassiveMux(listener.Addr())
		if err != nil {
			return nil, err
		}

		s.passiveMux = mux
	}

	if trusted == nil {
		return listener, nil
	}

	return newProxyListener(listener, s.settings, trusted, s.Logger), nil
}

// newPassiveMux opens the shared passive listeners on the control listener's host.
func (s *FtpServer) newPassiveMux(control net.Addr) (*passiveMux, error) {
	host, _, err := net.SplitHostPort(control.String())
	if err != nil {
		host = "" // not a TCP listener: every interface
	}

	onStray := func(addr net.Addr) {
		level.Warn(s.Logger).Log("event", "passive_connection_refused", "from", addr, "reason", "nobody waits for it")
	}

	return newPassiveMux(host, s.settings.PassiveTransferPortRange, s.settings.PasvConnectionsCheck == IPMatchRequired,
		s.hooks.wrapPassive, onStray)
}

// closePassiveMux closes the shared passive ports, once the clients are gone.
func (s *FtpServer) closePassiveMux() {
	if s.passiveMux != nil {
		s.passiveMux.Close()
	}
}

package ftpserver

import (
	"errors"
	"fmt"
	"net"

	"github.com/go-kit/log/level"
)

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

// holdPassivePort counts a port about to be prepared against the client address's budget and
// returns what the port holds until its connection comes.
func (d *dataChannel) holdPassivePort() (*pendingPort, error) {
	release, err := d.env.ports.take(remoteIP(d.env.remote))
	if err != nil {
		level.Warn(d.env.logger).Log("event", "passive_port_refused", "reason", "too many from this address",
			"limit", d.env.settings.MaxPassivePortsPerIP)

		return nil, err
	}

	return &pendingPort{release: release}, nil
}

// armPassivePort makes port the prepared connection, holding pending until its connection
// comes, and gives it up after PassivePortTimeout without one.
func (d *dataChannel) armPassivePort(port passivePort, announced int, pending *pendingPort) {
	logger := d.env.logger

	port.hold(pending)
	pending.arm(d.env.settings.PassivePortTimeout, func() {
		if port.giveUp() {
			level.Info(logger).Log("event", "passive_port_expired", "port", announced,
				"timeout", d.env.settings.PassivePortTimeout)
		}
	})

	d.prepared = port
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
	if ports == nil {
		return err == nil
	}

	// A PasvPortGetter of the driver's own has no known size (0).
	return settings.MaxClients > 0 && rangeSize(ports) >= settings.MaxClients
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

	listener, err = wrapPassive(listener, d.env.wrapListener)
	if err != nil {
		return nil, 0, err
	}

	return listener, exposed, nil
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

	d.prepare(&activeTransferHandler{
		raddr:   raddr,
		laddr:   activeSourceAddr(d.env.local, settings.ActiveTransferPortNon20),
		timeout: seconds(settings.ConnectionTimeout),
		control: d.env.sockets.dialControl,
	})
	d.releaseListener() // the client has left passive mode: its port may serve another

	return nil
}

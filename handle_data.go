package ftpserver

import (
	"errors"
	"net"
	"strconv"

	"github.com/go-kit/log/level"
)

// replyPassiveFailed answers a PASV or EPSV that could not listen: 421, which RFC 959 5.4 lists
// for PASV where it has no 425; the session goes on.
func (c *clientHandler) replyPassiveFailed(err error) {
	if errors.Is(err, errNilPortRange) {
		// A driver's misconfiguration rather than a failure to listen: 500, as ftpserverlib
		// answers it (logged by listenPassive).
		c.replyError(StatusSyntaxErrorNotRecognised, "Cannot open passive connection", err)

		return
	}

	if errors.Is(err, errTooManyPassivePorts) {
		// Logged by holdPassivePort. 425, as a refused data connection; RFC 959 lists no such
		// reply for PASV, but clients treat any 4xx as a failed PASV and go on.
		c.reply(StatusCannotOpenDataConnection, passiveRefusalText(c.settings))

		return
	}

	level.Warn(c.logger).Log("event", "passive_listen_failed", "err", err)
	c.reply(StatusServiceNotAvailable, "Could not listen for passive connection: "+clientErrorText(err))
}

// handlePASV opens a passive listener and announces it (RFC 959 4.1.2). PASV can only carry
// an IPv4 address; IPv6 clients use EPSV.
func (c *clientHandler) handlePASV(string) {
	ip := c.passiveIP()
	if ip.To4() == nil {
		c.reply(StatusCannotOpenDataConnection, "PASV needs an IPv4 address, use EPSV")

		return
	}

	port, err := c.data.preparePassive()
	if err != nil {
		c.replyPassiveFailed(err)

		return
	}

	addr, err := formatPASVAddr(ip, port)
	if err != nil {
		c.data.closePrepared()
		c.replyError(StatusCannotOpenDataConnection, "Cannot open passive connection", err)

		return
	}

	c.reply(StatusEnteringPASV, "Entering Passive Mode ("+addr+")")
}

// passiveIP is the address announced by PASV: the driver's resolver, else PublicHost, else
// the address the client reached us on.
func (c *clientHandler) passiveIP() net.IP {
	if resolver := c.settings.PublicIPResolver; resolver != nil {
		public, err := resolver(c)
		if ip := net.ParseIP(public); err == nil && ip != nil {
			return ip
		}

		level.Warn(c.logger).Log("event", "public_ip_resolver_failed", "ip", public, "err", err)
	}

	if ip := net.ParseIP(c.settings.PublicHost); ip != nil {
		return ip
	}

	return net.ParseIP(remoteIP(c.LocalAddr()))
}

// handleEPSV opens a passive listener and announces its port only (RFC 2428 3); "EPSV ALL"
// makes it the only data connection command accepted from then on.
func (c *clientHandler) handleEPSV(param string) {
	family, all, err := parseEPSVArg(param)

	switch {
	case errors.Is(err, errUnsupportedNetworkProtocol):
		c.reply(StatusNetworkProtocolNotSupported, "Network protocol not supported, use ("+c.addressFamily()+")")

		return
	case err != nil:
		c.reply(StatusSyntaxErrorParameters, "Bad EPSV argument")

		return
	case all:
		c.epsvAll = true
		c.reply(StatusOK, "EPSV ALL accepted")

		return
	case family != 0 && strconv.Itoa(family) != c.addressFamily():
		c.reply(StatusNetworkProtocolNotSupported, "Network protocol not supported, use ("+c.addressFamily()+")")

		return
	}

	port, err := c.data.preparePassive()
	if err != nil {
		c.replyPassiveFailed(err)

		return
	}

	c.reply(StatusEnteringEPSV, "Entering Extended Passive Mode (|||"+strconv.Itoa(port)+"|)")
}

// addressFamily is the RFC 2428 family number of the control connection: "1" or "2".
func (c *clientHandler) addressFamily() string {
	if net.ParseIP(remoteIP(c.LocalAddr())).To4() != nil {
		return "1"
	}

	return "2"
}

// handlePORT prepares an active connection to an IPv4 address (RFC 959 4.1.2).
func (c *clientHandler) handlePORT(param string) {
	raddr, err := parsePORTArg(param)
	if err != nil {
		c.reply(StatusSyntaxErrorParameters, "Bad PORT argument")

		return
	}

	c.prepareActive("PORT", raddr)
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

	c.prepareActive("EPRT", raddr)
}

// prepareActive makes raddr the next data connection and answers PORT or EPRT.
func (c *clientHandler) prepareActive(verb string, raddr *net.TCPAddr) {
	switch err := c.data.prepareActive(raddr); {
	case errors.Is(err, errBounceAddress):
		c.reply(StatusSyntaxErrorParameters, "Data connection must go to your own address")
	case errors.Is(err, errBouncePort):
		c.reply(StatusSyntaxErrorParameters, "Data connection to a privileged port refused")
	default:
		c.reply(StatusOK, verb+" command successful")
	}
}

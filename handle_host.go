package ftpserver

import (
	"net/netip"
	"strings"

	"github.com/go-kit/log/level"
)

// maxHostNameLength is the longest domain name, without its final dot (RFC 1035 2.3.4).
const maxHostNameLength = 253

// maxHostLabelLength is the longest label of a domain name (RFC 1035 2.3.4).
const maxHostLabelLength = 63

var _ ClientContextHost = (*clientHandler)(nil)

// handleHOST selects the virtual host of the session (RFC 7151). It must come before USER: the
// host decides which users exist, so a name given after login, or between USER and PASS, is a
// bad sequence (503). The positive reply is 220, the greeting of the chosen host.
func (c *clientHandler) handleHOST(param string) {
	host, ok := parseHOSTArg(param)
	if !ok {
		c.reply(StatusSyntaxErrorParameters, "HOST takes a domain name, an IPv4 address or an [IPv6] address")

		return
	}

	if acceptHost := c.shared.hooks.acceptHost; acceptHost != nil {
		if err := acceptHost(c, host); err != nil {
			level.Info(c.logger).Log("event", "host_refused", "host", host, "err", err)
			// HOST comes before login, so the reply does not repeat the name.
			c.reply(StatusNotImplementedParam, "Unknown host")

			return
		}
	}

	c.mu.Lock()
	c.host = host
	c.mu.Unlock()

	c.reply(StatusServiceReady, "Host accepted")
}

// Host implements ClientContextHost.
func (c *clientHandler) Host() string {
	c.mu.Lock()
	defer c.mu.Unlock()

	return c.host
}

// parseHOSTArg checks the argument of HOST (RFC 7151): a domain name (internationalised names in
// their ASCII "xn--" form), an IPv4 address, or an IPv6 address in brackets; never a port, which
// ProFTPD also refuses with 501. It returns the name in its canonical form: lower case, without a
// final dot, addresses as net/netip prints them.
func parseHOSTArg(arg string) (string, bool) {
	host := strings.ToLower(arg)

	if bracketed, ok := strings.CutPrefix(host, "["); ok {
		literal, closed := strings.CutSuffix(bracketed, "]")

		addr, err := netip.ParseAddr(literal)
		if !closed || err != nil || !addr.Is6() || addr.Zone() != "" {
			return "", false
		}

		return "[" + addr.String() + "]", true
	}

	if addr, err := netip.ParseAddr(host); err == nil {
		// An IPv6 address must come in brackets.
		return addr.String(), addr.Is4()
	}

	host = strings.TrimSuffix(host, ".")

	return host, isHostName(host)
}

// isHostName tells whether name, in lower case and without a final dot, is a domain name of
// letters, digits and hyphens (RFC 1123 2.1).
func isHostName(name string) bool {
	if name == "" || len(name) > maxHostNameLength {
		return false
	}

	for label := range strings.SplitSeq(name, ".") {
		if !isHostLabel(label) {
			return false
		}
	}

	return true
}

// isHostLabel tells whether label is one label of a host name: 1 to 63 letters, digits or
// hyphens, not starting or ending with a hyphen.
func isHostLabel(label string) bool {
	if label == "" || len(label) > maxHostLabelLength || label[0] == '-' || label[len(label)-1] == '-' {
		return false
	}

	for i := range len(label) {
		b := label[i]
		if (b < 'a' || b > 'z') && (b < '0' || b > '9') && b != '-' {
			return false
		}
	}

	return true
}

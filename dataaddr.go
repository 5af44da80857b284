package ftpserver

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// errUnsupportedNetworkProtocol is wrapped by the EPRT and EPSV parsers when the client names an
// address family the server does not handle; RFC 2428 2 and 3 want reply 522 for it, not 501.
// PASV on an IPv6 connection gets it from formatPASVAddr.
var errUnsupportedNetworkProtocol = errors.New("network protocol not supported")

// parsePORTArg parses the argument of PORT, "h1,h2,h3,h4,p1,p2" (RFC 959 4.1.2): four bytes of
// IPv4 address and two of port, high byte first, each in decimal, spaces allowed around them.
// Errors wrap ErrRemoteAddrFormat; port 0 is one. Whether the address may be used (it should
// be the client's own) is for the caller to decide.
func parsePORTArg(param string) (*net.TCPAddr, error) {
	var fields [6]byte
	rest := param
	for i := range fields {
		field, after, found := strings.Cut(rest, ",")
		// A comma must follow every number but the last.
		if found == (i == len(fields)-1) {
			return nil, fmt.Errorf("%w: %q: want six comma-separated numbers", ErrRemoteAddrFormat, param)
		}
		value, ok := parseDecimalByte(strings.TrimSpace(field))
		if !ok {
			return nil, fmt.Errorf("%w: %q: %q is not a number from 0 to 255", ErrRemoteAddrFormat, param, field)
		}
		fields[i], rest = value, after
	}

	port := int(fields[4])<<8 | int(fields[5])
	if port == 0 {
		return nil, fmt.Errorf("%w: %q: port 0", ErrRemoteAddrFormat, param)
	}

	return &net.TCPAddr{IP: net.IPv4(fields[0], fields[1], fields[2], fields[3]).To4(), Port: port}, nil
}

// parseDecimalByte parses one to three decimal digits worth at most 255. strconv.Atoi would
// also take signs and leading zeros without limit.
func parseDecimalByte(s string) (byte, bool) {
	if s == "" || len(s) > 3 {
		return 0, false
	}

	value := 0
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		value = value*10 + int(s[i]-'0')
	}
	if value > 255 {
		return 0, false
	}

	return byte(value), true
}

// parseEPRTArg parses the argument of EPRT, "<d><af><d><addr><d><port><d>" (RFC 2428 2): d is
// a delimiter of the client's choice among the printable ASCII characters 33 to 126, af is 1
// for IPv4 or 2 for IPv6, addr is written as that family is usually written, port is 1 to 65535.
// A numeric family other than 1 or 2 gives an error wrapping errUnsupportedNetworkProtocol;
// every other error wraps ErrRemoteAddrFormat.
func parseEPRTArg(param string) (*net.TCPAddr, error) {
	param = strings.TrimSpace(param)
	if len(param) < 2 || param[0] < 33 || param[0] > 126 {
		return nil, fmt.Errorf("%w: %q: no delimiter", ErrRemoteAddrFormat, param)
	}

	delim := param[:1]
	af, rest, _ := strings.Cut(param[1:], delim)
	addr, rest, _ := strings.Cut(rest, delim)
	port, rest, found := strings.Cut(rest, delim)
	if !found || rest != "" {
		return nil, fmt.Errorf("%w: %q: want |af|address|port| with %q as delimiter", ErrRemoteAddrFormat, param, delim)
	}

	family, err := parseAddressFamily(af)
	if err != nil {
		return nil, fmt.Errorf("EPRT %q: %w", param, err)
	}

	// RFC 2428 2: the address is in the form of the family. net.ParseIP would also take an IPv4
	// address for family 2 or an IPv4-mapped IPv6 one for family 1.
	ip := net.ParseIP(addr)
	isIPv6Text := strings.Contains(addr, ":")
	if ip == nil || (family == 1) == isIPv6Text {
		return nil, fmt.Errorf("%w: %q: %q is not an address of family %d", ErrRemoteAddrFormat, param, addr, family)
	}
	if family == 1 {
		ip = ip.To4()
	}

	portNumber, err := strconv.ParseUint(port, 10, 16)
	if err != nil || portNumber == 0 {
		return nil, fmt.Errorf("%w: %q: %q is not a port from 1 to 65535", ErrRemoteAddrFormat, param, port)
	}

	return &net.TCPAddr{IP: ip, Port: int(portNumber)}, nil
}

// parseAddressFamily parses the af of EPRT and the argument of EPSV: 1 (IPv4) or 2 (IPv6), the
// address family numbers of RFC 2428. Another number wraps errUnsupportedNetworkProtocol;
// anything else wraps ErrRemoteAddrFormat.
func parseAddressFamily(s string) (int, error) {
	number, err := strconv.ParseUint(s, 10, 64)
	switch {
	case err == nil && (number == 1 || number == 2):
		return int(number), nil
	case err == nil, errors.Is(err, strconv.ErrRange):
		// RFC 2428 2: the 522 reply lists the families the server supports.
		return 0, fmt.Errorf("%w: address family %s, use (1,2)", errUnsupportedNetworkProtocol, s)
	default:
		return 0, fmt.Errorf("%w: %q is not an address family", ErrRemoteAddrFormat, s)
	}
}

// formatPASVAddr formats the address of a passive listener as "h1,h2,h3,h4,p1,p2" for the 227
// reply (RFC 959 4.1.2). An IPv4-mapped IPv6 address is written as its IPv4 address; any other
// IPv6 address cannot be written, and the error wraps errUnsupportedNetworkProtocol: the client
// should use EPSV. A port outside 1 to 65535 is an error too.
func formatPASVAddr(ip net.IP, port int) (string, error) {
	ip4 := ip.To4()
	if ip4 == nil {
		return "", fmt.Errorf("PASV for %v: %w", ip, errUnsupportedNetworkProtocol)
	}
	if port < 1 || port > 65535 {
		return "", fmt.Errorf("PASV: port %d out of range", port)
	}

	buf := make([]byte, 0, len("255,255,255,255,255,255"))
	for _, v := range [...]int{int(ip4[0]), int(ip4[1]), int(ip4[2]), int(ip4[3]), port >> 8, port & 0xff} {
		if len(buf) > 0 {
			buf = append(buf, ',')
		}
		buf = strconv.AppendInt(buf, int64(v), 10)
	}

	return string(buf), nil
}

// parseEPSVArg parses the argument of EPSV (RFC 2428 3): none, "ALL" (any case) when the client
// will use EPSV only from now on, or the address family of the connection it wants, 1 or 2.
// A numeric family other than these wraps errUnsupportedNetworkProtocol (reply 522); anything
// else wraps ErrRemoteAddrFormat.
func parseEPSVArg(param string) (family int, all bool, err error) {
	param = strings.TrimSpace(param)
	switch {
	case param == "":
		return 0, false, nil
	case strings.EqualFold(param, "ALL"):
		return 0, true, nil
	}

	family, err = parseAddressFamily(param)
	if err != nil {
		return 0, false, fmt.Errorf("EPSV %q: %w", param, err)
	}

	return family, false, nil
}

// remoteIP returns the IP part of addr as a string, or addr's whole text.
func remoteIP(addr net.Addr) string {
	if tcp, ok := addr.(*net.TCPAddr); ok {
		return tcp.IP.String()
	}

	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}

	return host
}

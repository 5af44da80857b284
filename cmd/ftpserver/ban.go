package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/ftpkit/ftpserver"
)

// maxTrackedAddrs bounds the addresses the ban list remembers, so that failed logins from
// many addresses cannot grow it without limit. When it is full, expired entries are dropped;
// if none has expired, a new address is not tracked (and so not banned) until room is made.
const maxTrackedAddrs = 1 << 16

// errBanned refuses a connection from a banned address; the client reads it after "421 ".
var errBanned = errors.New("too many failed logins from your address, try again later")

// banList bans for a while the addresses that fail to log in too often: maxFailures failed
// logins from one IP within window, over any number of connections, refuse that IP for
// duration: its new connections at connect, and its open ones at their next USER or PASS (the
// library asks the connection filter again there). It implements the library's connection
// filter and login failure extensions, and is safe for concurrent use.
type banList struct {
	maxFailures int
	window      time.Duration
	duration    time.Duration
	exempt      []netip.Prefix   // addresses never counted nor banned
	now         func() time.Time // time.Now, replaced by tests

	mu       sync.Mutex
	failures map[string][]time.Time // per IP, the recent failures, oldest first, at most maxFailures
	banned   map[string]time.Time   // per IP, the end of its ban
}

// newBanList returns a ban list that never bans the addresses of exempt, or nil when
// maxFailures or duration is not positive (no bans).
func newBanList(maxFailures int, window, duration time.Duration, exempt []netip.Prefix) *banList {
	if maxFailures <= 0 || duration <= 0 || window <= 0 {
		return nil
	}

	return &banList{
		maxFailures: maxFailures,
		window:      window,
		duration:    duration,
		exempt:      exempt,
		now:         time.Now,
		failures:    make(map[string][]time.Time),
		banned:      make(map[string]time.Time),
	}
}

// AllowConnection refuses an address while its ban runs.
func (b *banList) AllowConnection(remote net.Addr) error {
	// An exempt address may share its IPv6 /64 with a banned one.
	if b.exempted(remote) {
		return nil
	}

	ip := addrIP(remote)
	now := b.now()

	b.mu.Lock()
	defer b.mu.Unlock()

	until, found := b.banned[ip]
	switch {
	case !found:
		return nil
	case now.Before(until):
		return errBanned
	default:
		delete(b.banned, ip)

		return nil
	}
}

// LoginFailed records a failure of the connection's address and bans it when it reaches
// maxFailures within window. The connection itself goes on: the server's own
// MaxLoginFailures ends it. The failures of an exempt address are not counted.
func (b *banList) LoginFailed(cc ftpserver.ClientContext, _ string, _ error) {
	if b.exempted(cc.RemoteAddr()) {
		return
	}

	ip := addrIP(cc.RemoteAddr())
	now := b.now()

	b.mu.Lock()
	defer b.mu.Unlock()

	recent := b.failures[ip]
	for len(recent) > 0 && now.Sub(recent[0]) >= b.window {
		recent = recent[1:]
	}

	if len(recent) == 0 && !b.roomFor(now) {
		return
	}

	recent = append(recent, now)
	if len(recent) < b.maxFailures {
		b.failures[ip] = recent

		return
	}

	delete(b.failures, ip)
	b.banned[ip] = now.Add(b.duration)
}

// banUntil bans ip, a key of addrIP, until the given time, unless a longer ban of it runs: a
// ban another node of the fleet made, learned from the shared ban store. It tells whether the
// address was not banned before.
func (b *banList) banUntil(ip string, until time.Time) bool {
	now := b.now()

	b.mu.Lock()
	defer b.mu.Unlock()

	current, banned := b.banned[ip]
	if banned && !current.Before(until) {
		return false
	}

	_, counted := b.failures[ip]
	if !banned && !counted && !b.roomFor(now) {
		return false
	}

	delete(b.failures, ip)
	b.banned[ip] = until

	return !banned || !now.Before(current)
}

// roomFor tells whether one more address can be tracked, first dropping expired entries when
// the maps are full. It is called with mu held.
func (b *banList) roomFor(now time.Time) bool {
	if len(b.failures)+len(b.banned) < maxTrackedAddrs {
		return true
	}

	for ip, recent := range b.failures {
		if now.Sub(recent[len(recent)-1]) >= b.window {
			delete(b.failures, ip)
		}
	}

	for ip, until := range b.banned {
		if !now.Before(until) {
			delete(b.banned, ip)
		}
	}

	return len(b.failures)+len(b.banned) < maxTrackedAddrs
}

// exempted tells whether addr is in one of the exempt networks.
func (b *banList) exempted(addr net.Addr) bool {
	ip, ok := addrNetIP(addr)
	if !ok {
		return false
	}

	for _, network := range b.exempt {
		if network.Contains(ip) {
			return true
		}
	}

	return false
}

// addrIP returns the key under which an address is counted: its IPv4 address, or the /64
// network of an IPv6 address, since one IPv6 host usually holds a whole /64 and could
// otherwise change address at every attempt. Another kind of address is kept whole.
func addrIP(addr net.Addr) string {
	ip, ok := addrNetIP(addr)
	if !ok {
		host, _, err := net.SplitHostPort(addr.String())
		if err != nil {
			return addr.String()
		}

		return host
	}

	if ip.Is6() {
		return netip.PrefixFrom(ip, 64).Masked().String()
	}

	return ip.String()
}

// addrNetIP returns the IP address of a TCP address (an IPv4 address mapped into IPv6 as
// IPv4, without zone), and false for an address that holds none.
func addrNetIP(addr net.Addr) (netip.Addr, bool) {
	var ip netip.Addr

	if tcp, isTCP := addr.(*net.TCPAddr); isTCP {
		ip, _ = netip.AddrFromSlice(tcp.IP)
	} else if host, _, err := net.SplitHostPort(addr.String()); err == nil {
		ip, _ = netip.ParseAddr(host)
	}

	if !ip.IsValid() {
		return netip.Addr{}, false
	}

	return ip.Unmap().WithZone(""), true
}

// parseBanExempt parses -ban-exempt: networks in CIDR notation and single addresses,
// separated by commas or spaces; an empty list exempts nobody.
func parseBanExempt(list string) ([]netip.Prefix, error) {
	entries := splitList(list)
	exempt := make([]netip.Prefix, 0, len(entries))

	for _, entry := range entries {
		network, err := parseNetwork(entry)
		if err != nil {
			return nil, err
		}

		exempt = append(exempt, network)
	}

	return exempt, nil
}

// parseNetwork parses a network in CIDR notation, or a single address as a network of one.
func parseNetwork(entry string) (netip.Prefix, error) {
	if strings.Contains(entry, "/") {
		if network, err := netip.ParsePrefix(entry); err == nil {
			return network.Masked(), nil
		}
	} else if ip, err := netip.ParseAddr(entry); err == nil {
		ip = ip.Unmap().WithZone("")

		return netip.PrefixFrom(ip, ip.BitLen()), nil
	}

	return netip.Prefix{}, fmt.Errorf("%q is neither a CIDR nor an IP address", entry)
}

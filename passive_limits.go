package ftpserver

import (
	"errors"
	"strconv"
	"sync"
	"time"
)

// Defaults of the bounds on prepared passive ports.
const (
	// DefaultMaxPassivePortsPerIP is how many prepared passive ports one client address may
	// hold at once (Settings.MaxPassivePortsPerIP), before the cap at half a port range.
	DefaultMaxPassivePortsPerIP = 128
	// DefaultPassivePortTimeout is how long a prepared passive port waits for its connection
	// (Settings.PassivePortTimeout).
	DefaultPassivePortTimeout = 30 * time.Second
)

var (
	// errTooManyPassivePorts refuses a PASV or EPSV from an address that holds
	// MaxPassivePortsPerIP prepared ports already.
	errTooManyPassivePorts = errors.New("too many passive ports waiting for a connection from this address")
	// errPassivePortExpired fails a transfer whose passive port waited PassivePortTimeout for
	// its connection and was given up.
	errPassivePortExpired = errors.New("passive port given up: no connection within the passive port timeout")
)

// passiveLimitDefaults sets the bounds on prepared passive ports left at zero to their defaults.
func (s *Settings) passiveLimitDefaults() {
	if s.MaxPassivePortsPerIP == 0 {
		s.MaxPassivePortsPerIP = maxPassivePortsPerIP(s)
	}

	if s.PassivePortTimeout == 0 {
		s.PassivePortTimeout = DefaultPassivePortTimeout
	}
}

// maxPassivePortsPerIP is the default of Settings.MaxPassivePortsPerIP for these settings:
// DefaultMaxPassivePortsPerIP, and no more than half the ports of a PortRange or
// PortMappingRange the sessions listen on themselves, rounded up, so that one address never
// holds every port of it. Multiplexed ports need no such cap: a client that finds them all
// taken waits for one, and with the IP check they are reserved per address, so that one
// address cannot deprive another. A PasvPortGetter of the driver's own has no known size.
func maxPassivePortsPerIP(s *Settings) int {
	if s.PassiveTransferPortMultiplexing {
		return DefaultMaxPassivePortsPerIP
	}

	ports, _ := portRangeOf(s.PassiveTransferPortRange)

	size := rangeSize(ports)
	if size <= 0 {
		return DefaultMaxPassivePortsPerIP
	}

	return min(DefaultMaxPassivePortsPerIP, (size+1)/2)
}

// passiveBudget counts, per client IP, the passive ports prepared by PASV or EPSV whose data
// connection has not been accepted yet, across all the server's sessions
// (Settings.MaxPassivePortsPerIP). It is created by Listen.
type passiveBudget struct {
	limit int // 0 or less: no limit

	mu    sync.Mutex
	perIP map[string]int
}

func newPassiveBudget(limit int) *passiveBudget {
	return &passiveBudget{limit: limit, perIP: make(map[string]int)}
}

// take counts one more prepared port for ip and returns the function that gives it back, or
// errTooManyPassivePorts when ip holds the limit already. A nil budget counts nothing.
func (b *passiveBudget) take(ip string) (func(), error) {
	if b == nil {
		return func() {}, nil
	}

	b.mu.Lock()
	defer b.mu.Unlock()

	if b.limit > 0 && b.perIP[ip] >= b.limit {
		return nil, errTooManyPassivePorts
	}

	b.perIP[ip]++

	return func() { b.give(ip) }, nil
}

// give forgets one prepared port of ip.
func (b *passiveBudget) give(ip string) {
	b.mu.Lock()
	defer b.mu.Unlock()

	b.perIP[ip]--
	if b.perIP[ip] <= 0 {
		delete(b.perIP, ip)
	}
}

// pendingPort is what a prepared passive port holds until its connection is accepted or it is
// closed: its place in the address's budget, and the timer that gives the port up when nobody
// connects within PassivePortTimeout. A nil pendingPort holds nothing.
type pendingPort struct {
	mu      sync.Mutex
	release func() // nil once settled
	timer   *time.Timer
}

// arm calls settle, then giveUp, when settle has not come within timeout (never when timeout
// is zero or negative): the budget is given back before the port closes, so that whoever sees
// it closed may prepare another.
func (p *pendingPort) arm(timeout time.Duration, giveUp func()) {
	if timeout <= 0 {
		return
	}

	p.mu.Lock()
	defer p.mu.Unlock()

	p.timer = time.AfterFunc(timeout, func() {
		p.settle()
		giveUp()
	})
}

// settle ends the wait: the connection was accepted, or the port closed or given up. Only the
// first call counts.
func (p *pendingPort) settle() {
	if p == nil {
		return
	}

	p.mu.Lock()
	release, timer := p.release, p.timer
	p.release = nil
	p.mu.Unlock()

	if release == nil {
		return
	}

	if timer != nil {
		timer.Stop()
	}

	release()
}

// passivePort is a prepared passive data connection, as PASV or EPSV leave it.
type passivePort interface {
	transferHandler
	// hold gives the port what it holds until its connection comes; it is called once, before
	// the port is shown to another goroutine.
	hold(pending *pendingPort)
	// giveUp closes the port unless its connection was accepted, and tells whether it did.
	giveUp() bool
	// expired tells whether giveUp closed it.
	expired() bool
}

// waitingPort is what both kinds of passive handler share: the data connection they hold once
// it came, and what the port holds until then.
type waitingPort struct {
	held    heldConn
	pending *pendingPort // the port's place in its address's budget, and its timer
}

// hold implements passivePort.
func (w *waitingPort) hold(pending *pendingPort) {
	w.pending = pending
}

// expired implements passivePort.
func (w *waitingPort) expired() bool {
	return w.held.wasExpired()
}

// givenUp tells whether data is a passive port given up for want of a connection.
func givenUp(data transferHandler) bool {
	port, ok := data.(passivePort)

	return ok && port.expired()
}

// passiveRefusalText is the reply to a PASV or EPSV refused by MaxPassivePortsPerIP.
func passiveRefusalText(settings *Settings) string {
	return "Too many passive ports waiting for a connection from your address (" +
		strconv.Itoa(settings.MaxPassivePortsPerIP) + "); connect to one or try again later"
}

// passiveExpiredText is the reply to a transfer command whose passive port was given up.
func passiveExpiredText(settings *Settings) string {
	return "Passive port closed after " + settings.PassivePortTimeout.String() +
		" without a connection; send PASV or EPSV again"
}

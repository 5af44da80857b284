package ftpserver

import (
	"context"
	"errors"
	"iter"
	"math/rand/v2"
	"net"
	"reflect"
	"strconv"
)

// How the port of a data connection is chosen. Each way is walked as it is for the reason
// given here, and nowhere else.
//
// A PASV or EPSV of a session that listens on its own (listenInRange), by the
// PassiveTransferPortRange setting:
//   - None: the system gives any free port.
//   - A PortRange or PortMappingRange, the package's own ranges: FetchNext picks a port at
//     random, so that concurrent PASVs spread over the range instead of racing for its first
//     port, and from that pick on the range is walked in sequence, wrapping around, every port
//     once (candidatePorts, walkRange). Asking FetchNext NumberAttempts times instead would
//     draw with replacement and often miss the one free port of a nearly full range (a third
//     of the time for 8 ports with 7 taken); the walk never does.
//   - A PasvPortGetter of the driver's own: FetchNext is asked up to NumberAttempts times (at
//     least once) and each pair it returns is tried, as PasvPortGetter's contract says. Its
//     size and order are unknown, and it may keep state of its own (a pool, a counter), so
//     the library cannot walk it and follows the contract to the letter.
//
// With PassiveTransferPortMultiplexing, Listen listens once on every port that walk reaches,
// each listened port once (newPassiveMux), and a PASV then takes a slot rather than a port:
// the least used port among those holding no slot of the client's IP, searched from the port
// after the last pick (leastUsed). A port holds one slot per IP, so the ports of that IP are
// skipped; among the rest, the least used, and the next in turn on a tie, spreads the clients
// waiting at once evenly over the listeners, and over whatever forwards each port to this
// machine, instead of piling them on the first ports of the range.
//
// Either way, the driver's MainDriverExtensionPassiveWrapper wraps each listener (wrapPassive).
//
// A PORT or EPRT dials the client first from RFC 959 3.2's default data port, the control
// connection's port minus one (activeSourceAddr), unless ActiveTransferPortNon20, and then,
// when that fails, from any port: binding a low port needs privileges an embedded server
// rarely has (activeTransferHandler.Open).

// errNilPortRange is the error of a PassiveTransferPortRange holding a nil pointer. PASV and
// EPSV answer it 500, as ftpserverlib does (RFC 959 5.4 lists 500 for PASV).
var errNilPortRange = errors.New("passive port range misconfigured")

// portRangeOf returns the ranges of the PassiveTransferPortRange setting p: nil for none (any
// port), and errNilPortRange for a nil pointer in the interface, such as a *PortRange left nil,
// whose methods cannot be called. The package's own ranges come back as values, so that callers
// need to know one type of each.
func portRangeOf(p PasvPortGetter) (PasvPortGetter, error) {
	switch r := p.(type) {
	case nil:
		return nil, nil
	case *PortRange:
		if r == nil {
			return nil, errNilPortRange
		}

		return *r, nil
	case *PortMappingRange:
		if r == nil {
			return nil, errNilPortRange
		}

		return *r, nil
	}

	if v := reflect.ValueOf(p); v.Kind() == reflect.Pointer && v.IsNil() {
		return nil, errNilPortRange
	}

	return p, nil
}

// FetchNext returns a random port of the range; exposed and listened ports are the same.
func (r PortRange) FetchNext() (int, int, bool) {
	if r.Start <= 0 || r.End < r.Start {
		return 0, 0, false
	}

	port := r.Start + rand.IntN(r.End-r.Start+1) //nolint:gosec // a port choice, not a secret

	return port, port, true
}

// NumberAttempts returns the size of the range.
func (r PortRange) NumberAttempts() int {
	return r.End - r.Start + 1
}

// FetchNext returns a random exposed port of the range and the port to listen on for it.
func (r PortMappingRange) FetchNext() (int, int, bool) {
	if r.Count <= 0 || r.ExposedStart <= 0 || r.ListenedStart <= 0 {
		return 0, 0, false
	}

	i := rand.IntN(r.Count) //nolint:gosec // a port choice, not a secret

	return r.ExposedStart + i, r.ListenedStart + i, true
}

// NumberAttempts returns Count.
func (r PortMappingRange) NumberAttempts() int {
	return r.Count
}

// rangeSize is the number of ports of ports, as portRangeOf returns it, when it is one of the
// package's ranges, and 0 for any other PasvPortGetter, whose size is unknown.
func rangeSize(ports PasvPortGetter) int {
	switch r := ports.(type) {
	case PortRange:
		return r.NumberAttempts()
	case PortMappingRange:
		return r.NumberAttempts()
	}

	return 0
}

// candidatePorts yields the (exposed, listened) port pairs a passive listener tries, from ports
// as portRangeOf returns them: the package's ranges walked from a random port on, any other
// PasvPortGetter asked NumberAttempts times.
func candidatePorts(ports PasvPortGetter) iter.Seq2[int, int] {
	return func(yield func(int, int) bool) {
		for range max(ports.NumberAttempts(), 1) {
			exposed, listened, ok := ports.FetchNext()
			if !ok {
				return
			}

			switch r := ports.(type) {
			case PortRange:
				walkRange(exposed-r.Start, r.NumberAttempts(), func(i int) bool {
					return yield(r.Start+i, r.Start+i)
				})

				return
			case PortMappingRange:
				walkRange(exposed-r.ExposedStart, r.Count, func(i int) bool {
					return yield(r.ExposedStart+i, r.ListenedStart+i)
				})

				return
			}

			if !yield(exposed, listened) {
				return
			}
		}
	}
}

// walkRange calls try with each index of a range of size indices, from first on and wrapping
// around, until try returns false.
func walkRange(first, size int, try func(i int) bool) {
	for i := range size {
		if !try((first + i) % size) {
			return
		}
	}
}

// leastUsed returns the index of the port, among n, that free allows and that has the fewest
// slots (used), searching from start on so that a tie goes to the first port after start; -1
// when free allows none.
func leastUsed(n, start int, used func(i int) int, free func(i int) bool) int {
	best := -1

	walkRange(start, n, func(i int) bool {
		if free(i) && (best < 0 || used(i) < used(best)) {
			best = i
		}

		return true
	})

	return best
}

// listenInRange listens on ip at a port from the PassiveTransferPortRange setting (any port
// when nil).
func listenInRange(ip net.IP, setting PasvPortGetter) (net.Listener, int, error) {
	ports, err := portRangeOf(setting)
	if err != nil {
		return nil, 0, err
	}

	if ports == nil {
		listener, err := listenData(net.JoinHostPort(ip.String(), "0"))
		if err != nil {
			return nil, 0, newNetworkError("listening for passive connection", err)
		}

		return listener, listener.Addr().(*net.TCPAddr).Port, nil //nolint:errcheck // a TCP listener
	}

	for exposed, listened := range candidatePorts(ports) {
		listener, err := listenData(net.JoinHostPort(ip.String(), strconv.Itoa(listened)))
		if err == nil {
			return listener, exposed, nil
		}
	}

	return nil, 0, ErrNoAvailableListeningPort
}

// listenShared opens one listener of the multiplexed range and lets the driver wrap it.
func listenShared(host string, port int, wrap func(net.Listener) (net.Listener, error)) (net.Listener, error) {
	addr := net.JoinHostPort(host, strconv.Itoa(port))

	listener, err := listenData(addr)
	if err != nil {
		return nil, newNetworkError("listening for passive connections on "+addr, err)
	}

	return wrapPassive(listener, wrap)
}

// wrapPassive lets the driver's MainDriverExtensionPassiveWrapper, wrap, wrap a passive
// listener, when it has one; the listener is closed when wrapping fails.
func wrapPassive(listener net.Listener, wrap func(net.Listener) (net.Listener, error)) (net.Listener, error) {
	if wrap == nil {
		return listener, nil
	}

	wrapped, err := wrap(listener)
	if err != nil {
		_ = listener.Close()

		return nil, newDriverError("wrapping passive listener", err)
	}

	return wrapped, nil
}

// dataListenConfig is how passive listeners are opened. Without keep-alive probes, since a
// data connection lives for one transfer and a stalled one is caught by TransferStallTimeout;
// that saves four system calls on each accepted connection. Without Multipath TCP, which
// Go otherwise asks the kernel for on Linux: an MPTCP listener costs more to open and to set
// up for each transfer, and a data connection gains nothing from it.
var dataListenConfig = func() *net.ListenConfig {
	config := &net.ListenConfig{KeepAlive: -1}
	config.SetMultipathTCP(false)

	return config
}()

// listenData opens a passive listener on addr.
func listenData(addr string) (net.Listener, error) {
	return dataListenConfig.Listen(context.Background(), "tcp", addr) //nolint:wrapcheck // callers wrap it
}

// activeSourceAddr is the address a PORT or EPRT data connection is dialled from first: the
// control connection's local address, control, at its port minus one, or nil (any port) with
// anyPort (ActiveTransferPortNon20) or a control connection that is not TCP.
func activeSourceAddr(control net.Addr, anyPort bool) *net.TCPAddr {
	if anyPort {
		return nil
	}

	if local, ok := control.(*net.TCPAddr); ok && local.Port > 1 {
		return &net.TCPAddr{IP: local.IP, Port: local.Port - 1}
	}

	return nil
}

package ftpserver

import (
	"errors"
	"net"
	"sync"
	"time"
)

// errPassiveWaitTimeout fails a transfer whose client did not connect within ConnectionTimeout.
var errPassiveWaitTimeout = errors.New("no passive connection within the connection timeout")

// errPassiveMuxNeedsRange refuses PassiveTransferPortMultiplexing without a port range.
var errPassiveMuxNeedsRange = errors.New("PassiveTransferPortMultiplexing needs PassiveTransferPortRange")

// passiveMux serves the passive connections of all a server's clients on the listeners of one
// small port range (Settings.PassiveTransferPortMultiplexing). It is created by Listen and
// closed once the server's clients are gone.
//
// A PASV or EPSV reserves a slot: a port of the range, and the client's IP, chosen so that no
// other slot of that IP is open on that port. A connection arriving on a port goes to the slot
// of its source IP there, so it is never ambiguous which client it belongs to, even for
// clients behind one NAT address; a connection no slot waits for is closed. When every port
// already has a slot of a client's IP, its PASV waits, first come first served among that IP's
// clients, until a slot of the IP is freed by its connection arriving or by its client giving
// up; a range of n ports thus lets n clients of one IP, and any number of IPs, connect at once.
// Without the IP check (PasvConnectionsCheck: IPMatchDisabled) all clients count as one IP.
type passiveMux struct {
	ports   []*sharedPort
	byIP    bool                // slots are per source IP (IPMatchRequired)
	onStray func(addr net.Addr) // told of each connection no slot waits for

	mu     sync.Mutex
	slots  map[slotKey]*passiveSlot
	queues map[string][]*slotRequest // PASVs waiting for a free slot, per IP, oldest first
	next   int                       // port the next search starts from, to spread clients
	closed bool

	done     chan struct{} // closed by Close
	inFlight connSet       // accepted connections not yet matched
	wg       sync.WaitGroup
	once     sync.Once
}

// sharedPort is one listener of the range.
type sharedPort struct {
	exposed  int // port announced to clients
	listener net.Listener
	slots    int // open slots on this port, under passiveMux.mu
}

// slotKey names a slot: a port of the range (its index) and a source IP.
type slotKey struct {
	port int
	ip   string
}

// passiveSlot is one client's reservation of a port, until its connection arrives.
type passiveSlot struct {
	key     slotKey
	exposed int
	conn    chan net.Conn // buffered: the matched connection, sent under passiveMux.mu
}

// slotRequest is a PASV waiting for a slot of its IP to be freed.
type slotRequest struct {
	granted chan *passiveSlot // buffered
}

// newPassiveMux listens on host at every port of ports, each listener wrapped by wrap.
func newPassiveMux(host string, ports PasvPortGetter, byIP bool, wrap func(net.Listener) (net.Listener, error),
	onStray func(net.Addr),
) (*passiveMux, error) {
	ports, err := portRangeOf(ports)
	if err != nil || ports == nil {
		return nil, errPassiveMuxNeedsRange
	}

	m := &passiveMux{
		byIP:    byIP,
		onStray: onStray,
		slots:   make(map[slotKey]*passiveSlot),
		queues:  make(map[string][]*slotRequest),
		done:    make(chan struct{}),
	}

	seen := make(map[int]bool)

	for exposed, listened := range candidatePorts(ports) {
		if seen[listened] {
			continue
		}

		seen[listened] = true

		listener, err := listenShared(host, listened, wrap)
		if err != nil {
			m.closeListeners()

			return nil, err
		}

		m.ports = append(m.ports, &sharedPort{exposed: exposed, listener: listener})
	}

	if len(m.ports) == 0 {
		return nil, errPassiveMuxNeedsRange
	}

	for i := range m.ports {
		m.wg.Add(1)

		go m.acceptLoop(i)
	}

	return m, nil
}

// Close closes the listeners and the connections not yet matched, fails the PASVs waiting for
// a slot, and waits for the mux's goroutines. Slots still open get no connection.
func (m *passiveMux) Close() {
	m.once.Do(func() {
		m.mu.Lock()
		m.closed = true
		m.mu.Unlock()

		close(m.done)
		m.closeListeners()
		m.inFlight.closeAll()
		m.wg.Wait()
	})
}

func (m *passiveMux) closeListeners() {
	for _, port := range m.ports {
		_ = port.listener.Close()
	}
}

// acceptLoop accepts the connections of one port. Each is matched in a goroutine of its own:
// a driver's listener (WrapPassiveListener) may read a PROXY header to tell the source.
func (m *passiveMux) acceptLoop(i int) {
	defer m.wg.Done()

	var backoff time.Duration

	for {
		conn, err := m.ports[i].listener.Accept()
		if err != nil {
			// Any other error is retried after a pause: a port that stopped accepting would
			// fail every client sent to it. A driver's listener may report its closing its own
			// way; the pause ends as soon as the mux is closed.
			if errors.Is(err, net.ErrClosed) || !m.pause(&backoff) {
				return
			}

			continue
		}

		backoff = 0

		if !m.inFlight.add(conn) {
			_ = conn.Close()

			return
		}

		m.wg.Add(1)

		go func() {
			defer m.wg.Done()
			defer m.inFlight.remove(conn)

			m.match(i, conn)
		}()
	}
}

// pause waits a growing delay after a temporary accept error; false when the mux closed.
func (m *passiveMux) pause(backoff *time.Duration) bool {
	*backoff = min(max(2**backoff, 5*time.Millisecond), time.Second)

	timer := time.NewTimer(*backoff)
	defer timer.Stop()

	select {
	case <-timer.C:
		return true
	case <-m.done:
		return false
	}
}

// slotIP is the IP part of a slot key for a client or connection address.
func (m *passiveMux) slotIP(addr net.Addr) string {
	if !m.byIP {
		return ""
	}

	if ip, ok := addrIP(addr); ok {
		return ip.String()
	}

	return addr.String()
}

// match hands conn, accepted on port i, to the slot of its source IP there, or closes it.
func (m *passiveMux) match(i int, conn net.Conn) {
	key := slotKey{port: i, ip: m.slotIP(conn.RemoteAddr())}

	m.mu.Lock()
	defer m.mu.Unlock()

	slot := m.slots[key]
	if slot == nil {
		if !m.closed {
			m.onStray(conn.RemoteAddr())
		}

		_ = conn.Close()

		return
	}

	m.free(slot)
	slot.conn <- conn // buffered, and sent once: never blocks
}

// reserve opens a slot for a client at remote, waiting up to timeout, or until cancel is
// closed, when every port already has a slot of its IP.
func (m *passiveMux) reserve(remote net.Addr, timeout time.Duration, cancel <-chan struct{}) (*passiveSlot, error) {
	ip := m.slotIP(remote)

	m.mu.Lock()

	if m.closed {
		m.mu.Unlock()

		return nil, ErrNoAvailableListeningPort
	}

	if len(m.queues[ip]) == 0 {
		if slot := m.open(ip); slot != nil {
			m.mu.Unlock()

			return slot, nil
		}
	}

	req := &slotRequest{granted: make(chan *passiveSlot, 1)}
	m.queues[ip] = append(m.queues[ip], req)
	m.mu.Unlock()

	timer := time.NewTimer(timeout)
	defer timer.Stop()

	select {
	case slot := <-req.granted:
		return slot, nil
	case <-timer.C:
	case <-cancel:
	case <-m.done:
	}

	m.mu.Lock()
	queued := m.dequeue(ip, req)
	m.mu.Unlock()

	if !queued {
		// Granted while giving up: pass it on.
		m.release(<-req.granted)
	}

	return nil, ErrNoAvailableListeningPort
}

// open creates a slot of ip on the least used port that has none of ip, or returns nil.
// Called with mu held.
func (m *passiveMux) open(ip string) *passiveSlot {
	best := leastUsed(len(m.ports), m.next,
		func(i int) int { return m.ports[i].slots },
		func(i int) bool { return m.slots[slotKey{port: i, ip: ip}] == nil })
	if best < 0 {
		return nil
	}

	m.next = (best + 1) % len(m.ports)
	m.ports[best].slots++

	slot := &passiveSlot{
		key:     slotKey{port: best, ip: ip},
		exposed: m.ports[best].exposed,
		conn:    make(chan net.Conn, 1),
	}
	m.slots[slot.key] = slot

	return slot
}

// free forgets slot and gives its place to the oldest PASV waiting for one of its IP. Called
// with mu held.
func (m *passiveMux) free(slot *passiveSlot) {
	delete(m.slots, slot.key)
	m.ports[slot.key.port].slots--

	ip := slot.key.ip

	for len(m.queues[ip]) > 0 && !m.closed {
		granted := m.open(ip)
		if granted == nil {
			return
		}

		req := m.queues[ip][0]
		m.dequeue(ip, req)
		req.granted <- granted // buffered, and sent once
	}
}

// dequeue removes req from ip's queue and tells whether it was there. Called with mu held.
func (m *passiveMux) dequeue(ip string, req *slotRequest) bool {
	queue := m.queues[ip]

	for i, queued := range queue {
		if queued != req {
			continue
		}

		queue = append(queue[:i], queue[i+1:]...)
		if len(queue) == 0 {
			delete(m.queues, ip)
		} else {
			m.queues[ip] = queue
		}

		return true
	}

	return false
}

// release gives up slot: it is freed if no connection came, and a connection that came but
// was not taken is closed.
func (m *passiveMux) release(slot *passiveSlot) {
	m.mu.Lock()
	if m.slots[slot.key] == slot {
		m.free(slot)
	}
	m.mu.Unlock()

	// A connection is sent under mu, so any there is by now.
	select {
	case conn := <-slot.conn:
		_ = conn.Close()
	default:
	}
}

// sharedPassiveHandler is the data connection of a PASV or EPSV served by the passiveMux.
type sharedPassiveHandler struct {
	mux     *passiveMux
	slot    *passiveSlot
	timeout time.Duration

	closing   chan struct{}
	closeOnce sync.Once
	waitingPort
}

// Open waits, up to the ConnectionTimeout, for the connection of the client's IP on its port.
func (h *sharedPassiveHandler) Open() (net.Conn, error) {
	timer := time.NewTimer(h.timeout)
	defer timer.Stop()

	select {
	case conn := <-h.slot.conn:
		kept, err := h.held.keep(conn)
		h.pending.settle() // once kept, as passiveTransferHandler.Open does

		return kept, err
	case <-timer.C:
		h.mux.release(h.slot)

		return nil, newNetworkError("waiting for passive connection", errPassiveWaitTimeout)
	case <-h.closing:
		if h.held.wasExpired() {
			return nil, newNetworkError("waiting for passive connection", errPassivePortExpired)
		}

		return nil, errTransferAborted
	case <-h.mux.done:
		return nil, newNetworkError("waiting for passive connection", net.ErrClosed)
	}
}

// Close implements transferHandler: it frees the slot, unblocks Open and closes the
// connection.
func (h *sharedPassiveHandler) Close() error {
	defer h.pending.settle()

	return h.held.close(h.closeSlot)
}

// closeSlot unblocks Open and frees the slot.
func (h *sharedPassiveHandler) closeSlot() error {
	h.closeOnce.Do(func() { close(h.closing) })
	h.mux.release(h.slot)

	return nil
}

// giveUp implements passivePort: the slot is freed for the next client of its address.
func (h *sharedPassiveHandler) giveUp() bool {
	return h.held.expire(h.closeSlot)
}

// Channel implements transferHandler.
func (h *sharedPassiveHandler) Channel() DataChannel {
	return DataChannelPassive
}

// prepare reserves a slot for a client at remote and returns the handler of its data
// connection and the port to announce. It waits up to timeout for a free slot, or until
// cancel is closed.
func (m *passiveMux) prepare(remote net.Addr, timeout time.Duration, cancel <-chan struct{},
) (*sharedPassiveHandler, int, error) {
	slot, err := m.reserve(remote, timeout, cancel)
	if err != nil {
		return nil, 0, err
	}

	handler := &sharedPassiveHandler{mux: m, slot: slot, timeout: timeout, closing: make(chan struct{})}

	return handler, slot.exposed, nil
}

package ftpserver

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// connSet is the connections a component must close when it closes: those it reads from in
// goroutines of its own.
type connSet struct {
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// add records conn; after closeAll it records nothing and returns false.
func (s *connSet) add(conn net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()

	if s.closed {
		return false
	}

	if s.conns == nil {
		s.conns = make(map[net.Conn]struct{})
	}

	s.conns[conn] = struct{}{}

	return true
}

func (s *connSet) remove(conn net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()

	delete(s.conns, conn)
}

// closeAll closes every recorded connection, and any added later.
func (s *connSet) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()

	s.closed = true

	for conn := range s.conns {
		_ = conn.Close()
	}
}

// isTemporary tells whether an accept error may go away by itself.
func isTemporary(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}

	// EMFILE, ENFILE, ECONNABORTED and their kin are reported as *net.OpError wrapping an
	// *os.SyscallError; anything that is not net.ErrClosed is worth another try.
	var opErr *net.OpError

	return errors.As(err, &opErr) && !errors.Is(err, net.ErrClosed)
}

// refuseConn sends 421 and closes, bounded in time so a client that does not read cannot
// hold the accept loop.
func refuseConn(conn net.Conn, msg string) {
	_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = fmt.Fprintf(conn, "%d %s\r\n", StatusServiceNotAvailable, msg)
	_ = conn.Close()
}

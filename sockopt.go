package ftpserver

import (
	"net"
	"syscall"
)

// socketOptions are what the server asks of sockets beyond the net package's portable calls.
// A field is nil where the platform has no such call. A server keeps the set of its platform
// (platformSockets).
type socketOptions struct {
	// oobInline keeps TCP urgent data in a control connection's stream.
	oobInline func(net.Conn)
	// dialControl is the Control function of the dialer of active data connections.
	dialControl func(network, address string, raw syscall.RawConn) error
	// queued tells, without waiting, whether a connection waits in a listener's accept queue.
	// Without it no passive listener is kept (KeepPassiveListener) and no transfer starts from
	// the serve goroutine (startAtOnce).
	queued func(*net.TCPListener) bool
}

// portableSockets sets no option and cannot see a listener's queue. It is platformSockets
// outside Unix, and what tests force on Linux to cover that path.
var portableSockets = &socketOptions{}

// keepUrgentInline sets oobInline on conn where the platform has it.
func (o *socketOptions) keepUrgentInline(conn net.Conn) {
	if o.oobInline != nil {
		o.oobInline(conn)
	}
}

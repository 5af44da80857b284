//go:build unix

package ftpserver

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// setOOBInline keeps TCP urgent data in the stream. Python's ftplib sends "ABOR\r\n" as urgent
// data; without this the final byte is taken out of band and the command never completes.
func setOOBInline(conn net.Conn) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return
	}

	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}

	_ = raw.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_OOBINLINE, 1)
	})
}

// Control is a net.Dialer (or net.ListenConfig) Control function that sets SO_REUSEADDR on the
// socket. The server dials active data connections with it, so that RFC 959's fixed source
// port (the control port minus one) serves several clients and is reused at once after a
// transfer. ftpserverlib exports the same name for the same use; its version also sets
// SO_REUSEPORT, which lets another process bind the port too and which an active connection
// does not need. Where the option is not available (not Unix) it does nothing.
func Control(_, _ string, raw syscall.RawConn) error {
	var sockErr error

	err := raw.Control(func(fd uintptr) {
		sockErr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
	})
	if err != nil {
		return err //nolint:wrapcheck // reported by the dialer with context
	}

	return sockErr //nolint:wrapcheck // reported by the dialer with context
}

// platformSockets are the Unix options: urgent data inline, SO_REUSEADDR on active data
// connections, and a listener's queue seen with poll.
var platformSockets = &socketOptions{oobInline: setOOBInline, dialControl: Control, queued: connectionQueued}

// connectionQueued tells, without waiting, whether a connection waits in listener's accept
// queue.
func connectionQueued(listener *net.TCPListener) bool {
	raw, err := listener.SyscallConn()
	if err != nil {
		return false
	}

	queued := false

	_ = raw.Control(func(fd uintptr) {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}} //nolint:gosec // a descriptor fits in int32
		n, err := unix.Poll(fds, 0)
		queued = err == nil && n == 1 && fds[0].Revents&unix.POLLIN != 0
	})

	return queued
}

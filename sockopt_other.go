//go:build !unix

package ftpserver

import (
	"net"
	"syscall"
)

// setOOBInline does nothing where the socket option is not available.
func setOOBInline(net.Conn) {}

// Control is a net.Dialer Control function that sets SO_REUSEADDR on Unix systems; here, where
// the server does not set the option, it does nothing. See the Unix version's documentation.
func Control(_, _ string, _ syscall.RawConn) error { return nil }

// queueVisible tells whether connectionQueued can see a listener's queue.
const queueVisible = false

// connectionQueued reports false: transfers then always open their connection in a goroutine.
func connectionQueued(*net.TCPListener) bool { return false }

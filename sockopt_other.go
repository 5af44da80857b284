//go:build !unix

package ftpserver

import (
	"net"
	"syscall"
)

// setOOBInline does nothing where the socket option is not available.
func setOOBInline(net.Conn) {}

// reuseAddrControl does nothing where the socket option is not available.
func reuseAddrControl(_, _ string, _ syscall.RawConn) error { return nil }

// connectionQueued reports false: transfers then always open their connection in a goroutine.
func connectionQueued(*net.TCPListener) bool { return false }

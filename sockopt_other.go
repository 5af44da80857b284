//go:build !unix

package ftpserver

import "syscall"

// Control is a net.Dialer Control function that sets SO_REUSEADDR on Unix systems; here, where
// the server does not set the option, it does nothing. See the Unix version's documentation.
func Control(_, _ string, _ syscall.RawConn) error { return nil }

// platformSockets is the portable set: no option is set, and no listener's queue is seen, so
// transfers always open their connection in a goroutine.
var platformSockets = portableSockets

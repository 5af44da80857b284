package ftpserver

import (
	"errors"
	"syscall"
)

// isPeerGone tells whether err says that the other end of a connection reset or dropped it.
// A transfer moved by splice or sendfile reports these as an *os.SyscallError rather than a
// *net.OpError, so the errno itself is what shows that the connection, not the file, failed.
func isPeerGone(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) ||
		errors.Is(err, syscall.EPIPE)
}

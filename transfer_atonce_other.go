//go:build !linux

package ftpserver

import (
	"io"
	"net"
	"sync/atomic"
)

// sendWithoutWaiting sends nothing where it has no sendfile to call: the transfer goroutine
// sends the whole file.
func sendWithoutWaiting(net.Conn, io.Reader, *atomic.Int64, int64) (bool, error) {
	return false, nil
}

package ftpserver

import (
	"io"
	"net"
	"os"
	"sync/atomic"
)

// zeroCopy are the ways a download from a file is sent without copying it through a buffer of
// the server. Each reports that it sent nothing where it does not apply, and the transfer then
// goes on the portable way: io.Copy to the connection (which Go itself may hand to the kernel)
// or the pooled buffers. A server keeps the set of its platform (platformCopy).
type zeroCopy struct {
	// sendFile sends file to conn with the kernel's sendfile, from the file's offset to its
	// end, renewing pacing's stall deadline as the kernel takes data; false: it sent nothing.
	sendFile func(conn *net.TCPConn, file *os.File, pacing *copyPacing) (bool, error)
	// mapped sends file from its offset through memory mappings, handing send pieces of chunk
	// bytes, and returns what it sent, leaving the file's offset after it.
	mapped func(file *os.File, chunk int, send func([]byte) error) (int64, error)
	// atOnce sends file to conn from the serve goroutine for as long as the socket takes data
	// without blocking, and tells whether it reached the end (see startAtOnce).
	atOnce func(conn net.Conn, file io.Reader, counter *atomic.Int64, size int64) (bool, error)
}

// portableCopy has none of the paths: every byte goes through io.Copy or a pooled buffer, and
// every transfer runs in its goroutine. It is platformCopy where the server drives no system
// call of its own (outside Linux), and what tests force on Linux to cover that path.
var portableCopy = &zeroCopy{
	sendFile: func(*net.TCPConn, *os.File, *copyPacing) (bool, error) { return false, nil },
	mapped:   func(*os.File, int, func([]byte) error) (int64, error) { return 0, nil },
	atOnce:   func(net.Conn, io.Reader, *atomic.Int64, int64) (bool, error) { return false, nil },
}

//go:build linux

package ftpserver

import (
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
)

// atOnceLimit is the most a download sends from the serve goroutine (transferAtOnce): about a
// millisecond's worth on loopback, so a large file leaves ABOR and STAT waiting no longer
// than that before its transfer goroutine takes over.
const atOnceLimit = transferChunk

// sendWithoutWaiting sends file to conn with sendfile, from the file's offset on, for as long
// as the socket takes data without blocking and up to atOnceLimit bytes, and tells whether it
// reached the end of the file. When it did not, the file's offset is just after what it sent,
// so the transfer goes on from there the usual way. size is what the file holds from its offset
// on, as a stat of the open file told, or -1 when unknown. It sends nothing unless conn is a
// TCP connection and file an *os.File.
func sendWithoutWaiting(conn net.Conn, file io.Reader, counter *atomic.Int64, size int64) (bool, error) {
	tcp, ok := conn.(*net.TCPConn)
	src, isFile := file.(*os.File)

	if !ok || !isFile {
		return false, nil
	}

	out, err := tcp.SyscallConn()
	if err != nil {
		return false, nil // sent the usual way
	}

	in, err := src.SyscallConn()
	if err != nil {
		return false, nil // sent the usual way
	}

	var (
		eof     bool
		sendErr error
	)

	controlErr := in.Control(func(inFd uintptr) {
		writeErr := out.Write(func(outFd uintptr) bool {
			eof, sendErr = sendfileNow(int(outFd), int(inFd), counter, size)

			return true // never wait: what is left goes to the transfer goroutine
		})
		if sendErr == nil && writeErr != nil {
			sendErr = newNetworkError("sending file", writeErr)
		}
	})
	if sendErr == nil && controlErr != nil {
		sendErr = newFileAccessError("reading file", controlErr)
	}

	return eof, sendErr
}

// sendfileNow calls sendfile until the file ends, the socket would block, or atOnceLimit
// bytes are sent; it tells whether the file ended. A call that sends fewer bytes than asked
// stopped at the file's end or at a full socket. When it stops exactly at size, the file's end
// as its stat gave it, the end it met is taken for the file's: that spares the call that would
// only return 0. A file that grew since its stat is sent to its new end, as the calls go on past
// size, and only one that grows at the very moment its old end fills the socket ends there, as
// it would had it grown an instant later. size < 0 is never met.
func sendfileNow(out, in int, counter *atomic.Int64, size int64) (bool, error) {
	for sent := 0; sent < atOnceLimit; {
		asked := atOnceLimit - sent
		n, err := syscall.Sendfile(out, in, nil, asked)

		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EAGAIN):
			return false, nil
		case err != nil:
			return false, newNetworkError("sending file", os.NewSyscallError("sendfile", err))
		case n == 0:
			return true, nil
		}

		sent += n
		counter.Add(int64(n))

		if n < asked && int64(sent) == size {
			return true, nil
		}
	}

	return false, nil
}

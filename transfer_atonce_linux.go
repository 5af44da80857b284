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
// so the transfer goes on from there the usual way. It sends nothing unless conn is a TCP
// connection and file an *os.File.
func sendWithoutWaiting(conn net.Conn, file io.Reader, counter *atomic.Int64) (bool, error) {
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
			eof, sendErr = sendfileNow(int(outFd), int(inFd), counter)

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
// bytes are sent; it tells whether the file ended.
func sendfileNow(out, in int, counter *atomic.Int64) (bool, error) {
	for sent := 0; sent < atOnceLimit; {
		n, err := syscall.Sendfile(out, in, nil, atOnceLimit-sent)

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
	}

	return false, nil
}

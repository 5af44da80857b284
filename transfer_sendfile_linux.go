//go:build linux

package ftpserver

import (
	"errors"
	"net"
	"os"
	"syscall"
)

// sendfileCall is the most one sendfile call is asked to move: Go's own io.Copy asks as much.
const sendfileCall = 4 << 20

// sendFileWatched sends file to conn with sendfile, from the file's offset to its end, and
// renews the stall deadline (pacing.before) each time the kernel takes some of it. A transfer
// then fails only when nothing moves for the stall timeout, however long the whole file takes,
// and pays for a few hundred calls per GiB where one io.Copy per 256 KiB chunk paid for four
// thousand. It reports false, having sent nothing, where it cannot reach the descriptors.
func sendFileWatched(conn *net.TCPConn, file *os.File, pacing *copyPacing) (bool, error) {
	out, err := conn.SyscallConn()
	if err != nil {
		return false, nil // sent the usual way
	}

	in, err := file.SyscallConn()
	if err != nil {
		return false, nil // sent the usual way
	}

	var sendErr error

	pacing.before()

	controlErr := in.Control(func(inFd uintptr) {
		writeErr := out.Write(func(outFd uintptr) bool {
			for {
				n, err := syscall.Sendfile(int(outFd), int(inFd), nil, sendfileCall)
				if n > 0 {
					pacing.counter.Add(int64(n))
					pacing.before() // the deadline of the wait for room, if there is one
				}

				switch {
				case errors.Is(err, syscall.EINTR):
					continue
				case errors.Is(err, syscall.EAGAIN):
					return false // wait until the socket has room, or the deadline
				case err != nil:
					sendErr = newNetworkError("sending file", os.NewSyscallError("sendfile", err))

					return true
				case n == 0:
					return true // the end of the file
				}
			}
		})
		if sendErr == nil && writeErr != nil {
			sendErr = newNetworkError("sending file", writeErr)
		}
	})
	if sendErr == nil && controlErr != nil {
		sendErr = newFileAccessError("reading file", controlErr)
	}

	return true, sendErr
}

//go:build linux

package ftpserver

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"syscall"
)

// mapWindow is how much of a file one mapping covers while it is sent from memory.
const mapWindow = 8 << 20

// mapMinimum is the smallest rest of a file worth mapping: below it a read costs less than
// setting up and tearing down a mapping.
const mapMinimum = 1 << 20

// sendMapped sends file from its current offset to its size at the start, through memory
// mappings of mapWindow, handing each chunk bytes to send. A download that cannot go to the
// kernel's sendfile (TLS, MODE Z, TYPE A) then reads the page cache in place instead of
// copying it into a buffer first. It returns the bytes sent; the file's offset is left after
// them, so the caller sends what remains (what was appended meanwhile) the usual way. It sends
// nothing when the rest is under mapMinimum or the file cannot be mapped.
func sendMapped(file *os.File, chunk int, send func([]byte) error) (sent int64, err error) {
	offset, err := file.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, nil // not seekable: sent the usual way
	}

	info, err := file.Stat()
	if err != nil || !info.Mode().IsRegular() || info.Size()-offset < mapMinimum {
		return 0, nil // not worth mapping: sent the usual way
	}

	// A read of a page past the end of a file that was truncated meanwhile raises SIGBUS; in
	// this goroutine it becomes a panic, which runTransfer answers with errFileShrank.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))

	raw, err := file.SyscallConn()
	if err != nil {
		return 0, nil // no descriptor: sent the usual way
	}

	pageSize := int64(os.Getpagesize())

	for end := info.Size(); offset < end; {
		start := offset &^ (pageSize - 1)
		length := min(int64(mapWindow), end-start)

		n, mapped, sendErr := sendWindow(raw, start, length, offset-start, chunk, send)
		if !mapped {
			break
		}

		sent += n
		offset += n

		if sendErr != nil {
			return sent, sendErr
		}
	}

	if _, err = file.Seek(offset, io.SeekStart); err != nil {
		return sent, fmt.Errorf("seeking after the mapped part: %w", err)
	}

	return sent, nil
}

// sendWindow maps length bytes of the file from start and hands them to send from skip on, in
// pieces of chunk bytes; it reports false when the file could not be mapped. The mapping is
// released however it ends, a fault included.
func sendWindow(raw syscall.RawConn, start, length, skip int64, chunk int, send func([]byte) error,
) (int64, bool, error) {
	var (
		data   []byte
		mapErr error = syscall.EINVAL
	)

	if err := raw.Control(func(fd uintptr) {
		// Populated at once: faulting the pages in one by one costs more.
		data, mapErr = syscall.Mmap(int(fd), start, int(length), syscall.PROT_READ,
			syscall.MAP_SHARED|syscall.MAP_POPULATE)
	}); err != nil || mapErr != nil {
		return 0, false, nil
	}

	defer func() { _ = syscall.Munmap(data) }()

	var sent int64

	for rest := data[skip:]; len(rest) > 0; {
		piece := rest[:min(len(rest), chunk)]
		if err := send(piece); err != nil {
			return sent, true, err
		}

		sent += int64(len(piece))
		rest = rest[len(piece):]
	}

	return sent, true, nil
}

//go:build linux || darwin || freebsd || dragonfly

package main

import (
	"fmt"
	"math"
	"os"

	"golang.org/x/sys/unix"
)

// diskAvailable returns the bytes an unprivileged user may still write on the file system
// holding the open directory dir.
func diskAvailable(dir *os.File) (int64, error) {
	// The errors name no path: the client sees their text, and dir.Name() is the server's.
	conn, err := dir.SyscallConn()
	if err != nil {
		return 0, fmt.Errorf("free space: %w", err)
	}

	var (
		st      unix.Statfs_t
		statErr error
	)

	if err := conn.Control(func(fd uintptr) { statErr = unix.Fstatfs(int(fd), &st) }); err != nil {
		statErr = err
	}

	if statErr != nil {
		return 0, fmt.Errorf("free space: %w", os.NewSyscallError("fstatfs", statErr))
	}

	// The field types differ between systems (and Bavail is signed on some), so both go
	// through toUint64, and the product saturates rather than wraps.
	blocks, size := toUint64(st.Bavail), toUint64(st.Bsize)
	if size != 0 && blocks > math.MaxInt64/size {
		return math.MaxInt64, nil
	}

	return int64(blocks * size), nil //nolint:gosec // G115: bounded by the check above
}

// toUint64 converts a statfs count, treating a negative one as 0.
func toUint64[T int32 | int64 | uint32 | uint64](v T) uint64 {
	if v < 0 {
		return 0
	}

	return uint64(v)
}

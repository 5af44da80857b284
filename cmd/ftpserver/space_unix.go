//go:build linux || darwin || freebsd || dragonfly

package main

import (
	"fmt"
	"math"

	"golang.org/x/sys/unix"
)

// diskAvailable returns the bytes an unprivileged user may still write on the file system
// holding dir.
func diskAvailable(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", dir, err)
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

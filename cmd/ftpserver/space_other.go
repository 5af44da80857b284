//go:build !(linux || darwin || freebsd || dragonfly)

package main

import (
	"errors"
	"fmt"
)

// diskAvailable is not implemented on this system: AVBL on -root fails and the client gets the
// error reply.
func diskAvailable(dir string) (int64, error) {
	return 0, fmt.Errorf("free space of %s: %w", dir, errors.ErrUnsupported)
}

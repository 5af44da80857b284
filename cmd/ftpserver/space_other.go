//go:build !(linux || darwin || freebsd || dragonfly)

package main

import (
	"errors"
	"fmt"
	"os"
)

// diskAvailable is not implemented on this system: AVBL on -root fails and the client gets the
// error reply.
func diskAvailable(*os.File) (int64, error) {
	return 0, fmt.Errorf("free space: %w", errors.ErrUnsupported)
}

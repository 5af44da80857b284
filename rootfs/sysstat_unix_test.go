//go:build unix

package rootfs

import (
	"io/fs"
	"syscall"
)

// hasSystemStat tells whether info carries the system's stat data, as os.Stat's does.
func hasSystemStat(info fs.FileInfo) bool {
	_, ok := info.Sys().(*syscall.Stat_t)

	return ok
}

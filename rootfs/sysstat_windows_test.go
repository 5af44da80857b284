//go:build windows

package rootfs

import (
	"io/fs"
	"syscall"
)

// hasSystemStat tells whether info carries the system's file attributes, as os.Stat's does.
func hasSystemStat(info fs.FileInfo) bool {
	_, ok := info.Sys().(*syscall.Win32FileAttributeData)

	return ok
}

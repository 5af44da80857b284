//go:build unix

package ftpserver

import (
	"os"
	"syscall"
)

// fileIdentity reads the device, inode and owners of fi from the stat data the os package keeps
// in Sys(), also under afero's OsFs and BasePathFs. Other file systems have none: false.
func fileIdentity(fi os.FileInfo) (fileID, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st == nil {
		return fileID{}, false
	}

	return fileID{device: deviceNumber(st.Dev), inode: st.Ino, uid: st.Uid, gid: st.Gid}, true
}

// deviceNumber widens Stat_t.Dev, whose type differs between systems: uint64 on Linux, int32 on
// darwin and OpenBSD, uint32 on DragonFly. Only equality matters to the unique fact.
func deviceNumber[T int32 | uint32 | uint64](dev T) uint64 {
	return uint64(dev)
}

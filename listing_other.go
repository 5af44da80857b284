//go:build !unix

package ftpserver

import "os"

// fileIdentity has no portable source outside Unix: the unique, UNIX.owner and UNIX.group facts
// are left out.
func fileIdentity(os.FileInfo) (fileID, bool) {
	return fileID{}, false
}

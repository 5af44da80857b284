//go:build !linux

package ftpserver

import (
	"net"
	"os"
)

// sendFileWatched sends nothing where the server does not drive sendfile itself: copyData
// hands the file to io.Copy in chunks instead.
func sendFileWatched(*net.TCPConn, *os.File, *copyPacing) (bool, error) {
	return false, nil
}

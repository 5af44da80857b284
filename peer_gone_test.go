package ftpserver

import (
	"fmt"
	"os"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPeerGoneIsANetworkError(t *testing.T) {
	t.Parallel()

	tests := []struct {
		err     error
		network bool
	}{
		// What splice reports when the client resets an upload's data connection.
		{os.NewSyscallError("splice", syscall.ECONNRESET), true},
		{fmt.Errorf("copying: %w", os.NewSyscallError("sendfile", syscall.EPIPE)), true},
		{os.NewSyscallError("accept", syscall.ECONNABORTED), true},
		// A full disk is the file's failure, not the connection's.
		{&os.PathError{Op: "write", Path: "/f", Err: syscall.ENOSPC}, false},
		{os.ErrPermission, false},
	}

	for _, tt := range tests {
		assert.Equal(t, tt.network, isNetworkError(tt.err), "%v", tt.err)
	}
}

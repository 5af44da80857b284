package ftpserver

import (
	"errors"
	"fmt"
	"net"
	"runtime/debug"

	"github.com/go-kit/log/level"
)

// errFilterPanic refuses a connection whose MainDriverExtensionConnectionFilter panicked.
var errFilterPanic = errors.New("connection refused")

// allowConnection asks the driver's MainDriverExtensionConnectionFilter, if it has one,
// whether to serve a new control connection. A panic in the filter refuses the connection
// instead of ending the accept loop.
func (s *FtpServer) allowConnection(remote net.Addr) (err error) {
	filter := s.hooks.filter
	if filter == nil {
		return nil
	}

	defer func() {
		if r := recover(); r != nil {
			level.Error(s.Logger).Log("event", "panic", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = errFilterPanic
		}
	}()

	return filter(remote)
}

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
	filter, ok := s.driver.(MainDriverExtensionConnectionFilter)
	if !ok {
		return nil
	}

	defer func() {
		if r := recover(); r != nil {
			level.Error(s.Logger).Log("event", "panic", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = errFilterPanic
		}
	}()

	return filter.AllowConnection(remote)
}

// refusedAtLogin asks the connection filter again before a USER or PASS is served, so that an
// address banned while this connection was already open gets no further password guesses on
// it. A refusal is answered "421 " and the filter's error, and ends the session; it tells
// whether the command was answered.
func (c *clientHandler) refusedAtLogin(command string) bool {
	err := c.server.allowConnection(c.RemoteAddr())
	if err == nil {
		return false
	}

	level.Warn(c.logger).Log("event", "refused", "remote", c.RemoteAddr(), "reason", "driver", "command", command,
		"err", err)
	c.reply(StatusServiceNotAvailable, clientErrorText(err))
	c.endSession(endRefused)

	return true
}

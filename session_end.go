package ftpserver

import (
	"time"

	"github.com/go-kit/log/level"
)

// endReason says why a session ends. A session records the first reason it is given; later ones
// change nothing, so a Stop that follows a QUIT is not mistaken for the cause.
type endReason int32

// Reasons a session ends, from the client's side to the server's.
const (
	endNone               endReason = iota
	endQuit                         // the client sent QUIT and was answered 221
	endClientGone                   // the control connection broke or the client closed it
	endIdleTimeout                  // no command within IdleTimeout
	endLoginTimeout                 // not logged in within LoginTimeout
	endLoginFailures                // MaxLoginFailures reached
	endCertificateRefused           // the driver refused the client's TLS certificate
	endRefused                      // the connection filter refused the client at USER or PASS
	endTLSRequired                  // the TLS policy forbids logging in over clear text
	endTLSFailed                    // a TLS handshake failed, or commands were sent before it
	endGreetingRefused              // ClientConnected returned an error
	endServerStop                   // Stop, or Shutdown past its deadline
	endServerShutdown               // Shutdown, once no transfer of the session runs
	endClosedByDriver               // the driver called ClientContext.Close
	endPanic                        // a handler or the driver panicked in the serve goroutine
	endLineTooLong                  // a command line passed MaxCommandLineLength (answered 500)
	endHTTPRequest                  // a line that looks like HTTP came before login
	endUserSessions                 // the user already had SessionSettings.MaxSessions sessions
)

// endReasonInfo is the name a reason is logged with and, for a reason whose words are fixed,
// the text of the 421 the serve goroutine sends before closing. Reasons answered in other
// words (a driver's error, the QUIT message, 530 for a refused certificate) are answered where
// they happen, or not at all when the connection is gone, and have no farewell here.
var endReasonInfo = [...]struct {
	name     string
	farewell string
}{
	endNone:               {name: "none"},
	endQuit:               {name: "quit"},
	endClientGone:         {name: "client_gone"},
	endIdleTimeout:        {name: "idle_timeout", farewell: "Idle timeout, closing control connection"},
	endLoginTimeout:       {name: "login_timeout", farewell: "Login timeout, closing control connection"},
	endLoginFailures:      {name: "login_failures", farewell: "Too many failed logins, closing control connection"},
	endCertificateRefused: {name: "certificate_refused"},
	endRefused:            {name: "refused"},
	endTLSRequired:        {name: "tls_required", farewell: "TLS is required"},
	endTLSFailed:          {name: "tls_failed"},
	endGreetingRefused:    {name: "greeting_refused"},
	endServerStop:         {name: "server_stop"},
	endServerShutdown:     {name: "server_shutdown", farewell: "Server is shutting down"},
	endClosedByDriver:     {name: "closed_by_driver"},
	endPanic:              {name: "panic", farewell: "Internal error, closing control connection"},
	endLineTooLong:        {name: "line_too_long"},
	endHTTPRequest:        {name: "http_request", farewell: "This is an FTP server, not an HTTP one; closing"},
	endUserSessions:       {name: "user_sessions"},
}

// String returns the name the disconnect log line gives the reason.
func (r endReason) String() string {
	if r < 0 || int(r) >= len(endReasonInfo) {
		return "unknown"
	}

	return endReasonInfo[r].name
}

// closesAtOnce tells whether the reason closes the control connection from the goroutine that
// gives it, without waiting for the serve goroutine to say goodbye: the server is stopping, or
// the driver asked for it.
func (r endReason) closesAtOnce() bool {
	return r == endServerStop || r == endClosedByDriver
}

// endSession ends the session for reason; it is the one way a session ends, safe from any
// goroutine and idempotent. It records the first reason, ends any wait of the session (login
// failure delay, passive port reservation), and then either closes the control connection
// (closesAtOnce) or wakes the serve goroutine's read, which ends the session once the command
// it runs is answered. Only the serve goroutine says goodbye (finish), so a caller such as
// Shutdown never blocks on a client that does not read its control connection.
func (c *clientHandler) endSession(reason endReason) {
	c.endReason.CompareAndSwap(int32(endNone), int32(reason))
	c.closeOnce.Do(func() { close(c.closed) })

	if reason.closesAtOnce() {
		_ = c.rawConn.Close()

		return
	}

	// Set after the reason: the serve goroutine sets its own deadline and then reads the reason,
	// so it either sees the reason or has its read cut by this deadline.
	_ = c.rawConn.SetReadDeadline(time.Now())
}

// stop ends the session at once for Stop, its transfer included. The connection is closed
// first, so that the 426 of the aborted transfer cannot wait on a client that does not read.
func (c *clientHandler) stop() {
	c.endSession(endServerStop)
	c.data.abort()
}

// ending returns the reason the session ends for, or endNone while it goes on.
func (c *clientHandler) ending() endReason {
	return endReason(c.endReason.Load())
}

// closeWhenIdle ends the session for Shutdown now if no transfer runs, else once the running
// transfer has replied.
func (c *clientHandler) closeWhenIdle() {
	shutdown := func() { c.endSession(endServerShutdown) }

	if c.data.whenIdle(shutdown) {
		shutdown()
	}
}

// finish is the serve goroutine's last step, however the session ended: the farewell of the
// reason, if it has one, then the transfer, the data and control connections are closed and the
// driver and the events are told.
func (c *clientHandler) finish() {
	reason := c.ending()
	if reason == endNone {
		// Every return of serve records a reason; a path that forgets is logged as the client
		// going away rather than as nothing.
		reason = endClientGone
	}

	if farewell := endReasonInfo[reason].farewell; farewell != "" {
		c.reply(StatusServiceNotAvailable, farewell)
	}

	c.data.abort()
	c.data.close()
	c.logout()

	_ = c.conn.Close()

	duration := time.Since(c.start)
	level.Info(c.logger).Log("event", "disconnected", "reason", reason, "duration", duration)
	c.shared.driver.ClientDisconnected(c)
	c.emit(Event{Kind: EventDisconnected, Duration: duration})
}

package ftpserver

import (
	"time"

	"github.com/go-kit/log/level"
)

// loginFailed answers a failed login (msg is the text of the 530): it counts the failure,
// tells the driver, and waits the growing LoginFailureDelay before answering, so that each
// guess costs the guesser more time. The failure that reaches MaxLoginFailures is answered 421
// and ends the session.
func (c *clientHandler) loginFailed(user string, err error, msg string) {
	c.notifyLoginFailure(user, err)

	if !c.delay(loginFailureDelay(c.settings, c.loginFails)) {
		// The session was ended meanwhile (Stop, Shutdown, ClientContext.Close): its reason
		// says goodbye, if anything.
		return
	}

	if limit := c.settings.MaxLoginFailures; limit > 0 && c.loginFails >= limit {
		level.Warn(c.logger).Log("event", "too_many_login_failures", "failures", c.loginFails)
		c.endSession(endLoginFailures)

		return
	}

	c.reply(StatusNotLoggedIn, msg)
}

// notifyLoginFailure counts a failed login, logs it and tells the driver's
// MainDriverExtensionLoginFailures.
func (c *clientHandler) notifyLoginFailure(user string, err error) {
	c.loginFails++
	level.Warn(c.logger).Log("event", "login_failed", "user", user, "remote", c.RemoteAddr(),
		"failures", c.loginFails, "err", err)

	if loginFailed := c.shared.hooks.loginFailed; loginFailed != nil {
		loginFailed(c, user, err)
	}

	c.emit(Event{Kind: EventLoginFailed, User: user, Err: err})
}

// loginFailureDelay is how long the reply to a connection's nth failed login waits:
// LoginFailureDelay doubled n-1 times, capped at MaxLoginFailureDelay.
func loginFailureDelay(s *Settings, failures int) time.Duration {
	d := s.LoginFailureDelay
	if d <= 0 {
		return 0
	}

	// Bounded: d at least doubles each turn until it passes the cap.
	for i := 1; i < failures && d < s.MaxLoginFailureDelay; i++ {
		d *= 2
	}

	return min(d, s.MaxLoginFailureDelay)
}

// delay blocks the session for d without reading from it, and returns early, with false, when
// the session is closed from outside (Stop, Shutdown, ClientContext.Close). A client that
// hangs up is noticed only after d, when the next read fails.
func (c *clientHandler) delay(d time.Duration) bool {
	if d <= 0 {
		return true
	}

	timer := time.NewTimer(d)
	defer timer.Stop()

	select {
	case <-timer.C:
		return true
	case <-c.closed:
		return false
	}
}

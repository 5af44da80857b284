package ftpserver

import (
	"crypto/tls"
	"errors"
	"strings"

	"github.com/go-kit/log/level"
)

// errNoDriver is the failure of an AuthUser that returned neither a driver nor an error.
var errNoDriver = errors.New("driver returned no file system")

func (c *clientHandler) handleUSER(user string) {
	if c.refusedAtLogin("USER") || c.refuseClearText() {
		return
	}

	if preAuthUser := c.shared.hooks.preAuthUser; preAuthUser != nil {
		if err := preAuthUser(c, user); err != nil {
			c.loginFailed(user, err, "User rejected: "+clientErrorText(err))

			return
		}

		// PreAuthUser may have set a stricter TLS policy for this user.
		if c.refuseClearText() {
			return
		}
	}

	c.user = user

	if c.HasTLSForControl() {
		if c.verifyCertificate(user) {
			return
		}
	}

	c.reply(StatusUserOK, "User name okay, need password")
}

// verifyCertificate offers the TLS client certificate to the driver; it tells whether the
// USER command was answered (logged in, or refused and closing).
func (c *clientHandler) verifyCertificate(user string) bool {
	verify := c.shared.hooks.verifyTLS
	if verify == nil {
		return false
	}

	tlsConn, isTLS := c.conn.(*tls.Conn)

	if !isTLS {
		return false
	}

	driver, err := verify(c, user, tlsConn)
	switch {
	case err != nil:
		c.notifyLoginFailure(user, err) // logs it; the connection closes, so no delay
		c.reply(StatusNotLoggedIn, "TLS certificate refused")
		c.endSession(endCertificateRefused)

		return true
	case driver != nil:
		if c.login(driver) {
			c.reply(StatusAuthProceed, "Logged in with TLS certificate")
		}

		return true
	default:
		return false
	}
}

func (c *clientHandler) handlePASS(pass string) {
	switch {
	case c.user == "":
		c.reply(StatusBadCommandSequence, "Send USER first")

		return
	case c.refusedAtLogin("PASS"):
		return
	}

	driver, err := c.shared.driver.AuthUser(c, c.user, pass)
	if err == nil && driver == nil {
		err = errNoDriver
	}

	msg := ""
	if postAuthMessage := c.shared.hooks.postAuthMessage; postAuthMessage != nil {
		msg = postAuthMessage(c, c.user, err)
	}

	if err != nil {
		user := c.user
		c.user = ""
		c.loginFailed(user, err, orDefault(msg, "Login incorrect"))

		return
	}

	if !c.login(driver) {
		return
	}

	level.Info(c.logger).Log("event", "login", "user", c.user)
	c.reply(StatusUserLoggedIn, orDefault(msg, "User logged in, proceed"))
}

// login makes driver the session's file system, resolves the user's policy with it (bandwidth
// limits, SessionSettings) and reports the login; c.user is the user's name. It tells whether
// the user is logged in: a user who has all the sessions SessionSettings.MaxSessions allows is
// answered 421 and the session ends.
func (c *clientHandler) login(driver ClientDriver) bool {
	ext := newClientHooks(c, driver)

	policy, err := resolvePolicy(c.settings, c.shared.bandwidth, c.shared.users, ext, c.user)
	if err != nil {
		level.Warn(c.logger).Log("event", "login_refused", "user", c.user, "remote", c.RemoteAddr(), "err", err)
		c.emit(Event{Kind: EventLoginFailed, User: c.user, Err: err})
		c.reply(StatusServiceNotAvailable, "Too many sessions for this user; try again later")
		c.endSession(endUserSessions)

		return false
	}

	c.mu.Lock()
	c.driver = driver
	c.policy = policy
	c.ext = ext
	c.mu.Unlock()

	c.emit(Event{Kind: EventLoginSucceeded, User: c.user})

	return true
}

// sessionPolicy returns the session's policy: the user's once logged in, else the settings'.
func (c *clientHandler) sessionPolicy() sessionPolicy {
	c.mu.Lock()
	defer c.mu.Unlock()

	return c.policy
}

// logout returns the session to the settings' policy and gives its place among its user's
// sessions back: REIN, or the end of the session.
func (c *clientHandler) logout() {
	c.mu.Lock()
	slot := c.policy.slot
	c.policy = serverPolicy(c.settings)
	c.mu.Unlock()

	slot.release()
}

// handleACCT answers ACCT before login: the account comes after USER and PASS, and is never
// needed once logged in, which the dispatcher answers (RFC 959 4.1.1).
func (c *clientHandler) handleACCT(string) {
	c.reply(StatusBadCommandSequence, "Log in with USER and PASS first")
}

// handleREIN resets the session to just after the greeting (RFC 959 4.1.1). A transfer in
// progress finishes first (the dispatcher waits for it); TLS on the control connection stays,
// and so does what the clientHandler struct lists as kept by REIN.
func (c *clientHandler) handleREIN(string) {
	c.data.close()
	c.sessionState.reset(c.settings)

	c.mu.Lock()
	c.loginState.reset()
	c.mu.Unlock()

	c.logout()
	c.reply(StatusServiceReady, "Service ready for new user")
}

// handleQUIT answers 221 and ends the session; the dispatcher has let a running transfer end
// first (RFC 959 4.1.1).
func (c *clientHandler) handleQUIT(string) {
	msg := "Goodbye"
	if quitMessage := c.shared.hooks.quitMessage; quitMessage != nil {
		msg = orDefault(quitMessage(), msg)
	}

	c.reply(StatusClosingControlConn, msg)
	c.endSession(endQuit)
}

// handleAUTH starts TLS on the control connection (RFC 4217 4). "TLS" and "TLS-C" protect the
// control connection; the legacy "SSL" and "TLS-P" protect data connections too.
func (c *clientHandler) handleAUTH(mechanism string) {
	mechanism = strings.ToUpper(mechanism)

	switch mechanism {
	case "TLS", "TLS-C", "SSL", "TLS-P":
	default:
		c.reply(StatusNotImplementedParam, "Unsupported mechanism, use AUTH TLS")

		return
	}

	if c.HasTLSForControl() {
		c.reply(StatusBadCommandSequence, "TLS is already active")

		return
	}

	if _, err := c.shared.tlsConfig(); err != nil {
		level.Debug(c.logger).Log("event", "tls_unavailable", "err", err)
		c.reply(StatusTLSUnavailable, "TLS is not available")

		return
	}

	// RFC 4217 4: the client must wait for this reply before starting its handshake, so any
	// byte already received was sent in clear text after AUTH and is refused.
	if c.reader.buffered() > 0 {
		c.reply(StatusBadCommandSequence, "Commands sent after AUTH before the handshake; closing")
		c.endSession(endTLSFailed)

		return
	}

	c.reply(StatusAuthAccepted, "AUTH "+mechanism+" OK, starting TLS")

	if err := c.upgradeControlToTLS(); err != nil {
		level.Debug(c.logger).Log("event", "tls_handshake_failed", "err", err)
		c.endSession(endTLSFailed)

		return
	}

	if mechanism == "SSL" || mechanism == "TLS-P" {
		c.setTransferTLS(true)
	}
}

// handlePBSZ: TLS protects the stream itself, so the buffer size is always 0 (RFC 4217 8).
func (c *clientHandler) handlePBSZ(string) {
	c.pbszDone = true
	c.reply(StatusOK, "PBSZ=0")
}

// handlePROT sets the data connection protection (RFC 4217 9): C clear, P private.
func (c *clientHandler) handlePROT(protection string) {
	switch strings.ToUpper(protection) {
	case "C":
		c.setTransferTLS(false)
		c.reply(StatusOK, "OK")
	case "P":
		c.setTransferTLS(true)
		c.reply(StatusOK, "OK")
	case "S", "E":
		c.reply(StatusProtectionLevelNotSupported, "Only C and P are supported")
	default:
		c.reply(StatusNotImplementedParam, "Unknown protection level")
	}
}

// handleCCC refuses to drop TLS from the control connection, as RFC 4217 12.3 allows: a clear
// control connection after login would expose every later command to tampering.
func (c *clientHandler) handleCCC(string) {
	c.reply(StatusPolicyRequiresTLS, "CCC refused: the control connection stays protected")
}

// featAUTH lists AUTH TLS when the driver has a TLS configuration.
func (c *clientHandler) featAUTH() string {
	if _, err := c.shared.tlsConfig(); err != nil {
		return ""
	}

	return "AUTH TLS"
}

// featTLS lists a TLS-related feature when the driver has a TLS configuration.
func (c *clientHandler) featTLS(name string) string {
	if c.featAUTH() == "" {
		return ""
	}

	return name
}

// refusedAtLogin asks the connection filter again before a USER or PASS is served, so that an
// address banned while this connection was already open gets no further password guesses on
// it. A refusal is answered "421 " and the filter's error, and ends the session; it tells
// whether the command was answered.
func (c *clientHandler) refusedAtLogin(command string) bool {
	err := c.shared.allowConnection(c.RemoteAddr())
	if err == nil {
		return false
	}

	level.Warn(c.logger).Log("event", "refused", "remote", c.RemoteAddr(), "reason", "driver", "command", command,
		"err", err)
	c.reply(StatusServiceNotAvailable, clientErrorText(err))
	c.endSession(endRefused)

	return true
}

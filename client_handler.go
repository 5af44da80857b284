package ftpserver

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
)

// clientHandler is one control connection: its protocol state and its serve loop.
//
// Locks: out's lock serialises replies; mu guards the fields below it, which the driver (through
// ClientContext), the transfer goroutine and Stop or Shutdown read. The two are never held
// together, and neither is held while driver code runs: a reply is built first and written
// under out's lock alone, and mu only copies or sets fields. Everything else belongs to the
// serve goroutine, conn included.
type clientHandler struct {
	id       uint32
	shared   *sessionShared // the driver, its extensions and the server's shared registries
	settings *Settings
	logger   log.Logger
	start    time.Time

	data *dataChannel // the data connection and the transfer running on it
	tls  *sessionTLS  // the TLS handshakes of this session, control and data

	conn    net.Conn // control connection, a *tls.Conn after AUTH TLS or with implicit TLS
	rawConn net.Conn // the TCP connection under conn
	reader  *commandReader
	out     *replyWriter // writes to conn

	// How the session ends (session_end.go): the first reason given to endSession, and a
	// channel closed with it to end the session's waits.
	endReason atomic.Int32
	closed    chan struct{}
	closeOnce sync.Once

	// Protocol state owned by the serve goroutine. sessionState is what REIN clears; the
	// fields after it survive REIN: OPTS UTF8, PBSZ with the TLS it belongs to, and the count
	// of failed logins, so that REIN cannot reset a guesser's delay.
	sessionState
	utf8       bool
	pbszDone   bool
	loginFails int

	mu sync.Mutex

	// Under mu: loginState is what REIN clears; the fields after it survive REIN.
	loginState
	debug          bool
	clientVersion  string
	lastCommand    string
	controlTLS     bool
	transferTLS    bool
	tlsRequirement TLSRequirement
	extra          any

	// policy, also under mu, is the settings' until a login resolves the user's
	// (session_settings.go), and again after REIN.
	policy sessionPolicy
}

// sessionState is the protocol state a client builds with commands, owned by the serve
// goroutine. A new session and REIN both start from reset.
type sessionState struct {
	user         string // name given by USER, kept until PASS
	transferType TransferType
	restOffset   int64
	renameFrom   string
	epsvAll      bool
	mode         TransferMode // MODE: TransferModeDeflate makes data connections zlib streams
	mlstFacts    mlstFacts
	hashAlgo     HASHAlgo   // used by HASH, chosen by OPTS HASH until REIN (draft-bryan-ftpext-hash-02 3.2)
	hashRange    *byteRange // set by RANG for the next HASH; nil: the whole file
}

func (st *sessionState) reset(s *Settings) {
	*st = sessionState{
		transferType: s.DefaultTransferType,
		mode:         TransferModeStream,
		mlstFacts:    defaultMLSTFacts,
		hashAlgo:     defaultHashAlgo,
	}
}

// loginState is the part of the session that the driver and the transfer goroutine read too,
// hence under clientHandler.mu; a new session and REIN both start from reset.
type loginState struct {
	driver   ClientDriver // nil until logged in
	path     string
	listPath string
	host     string // virtual host named by HOST (RFC 7151), "" if none; REIN lets the next user choose
	// ext is the driver's extensions, resolved at login (hooks.go); nil until logged in.
	ext *clientHooks
}

func (l *loginState) reset() {
	*l = loginState{path: "/"}
}

func newClientHandler(s *FtpServer, conn net.Conn, id uint32) *clientHandler {
	c := &clientHandler{
		id:             id,
		shared:         s.shared,
		settings:       s.settings,
		start:          time.Now(),
		conn:           conn,
		rawConn:        conn,
		closed:         make(chan struct{}),
		tlsRequirement: s.settings.TLSRequired,
		policy:         serverPolicy(s.settings),
	}
	c.sessionState.reset(s.settings)
	c.loginState.reset()
	c.logger = log.With(s.Logger, "client", id)
	c.reader = newCommandReader(conn, s.settings.MaxCommandLineLength)
	c.out = &replyWriter{timeout: seconds(s.settings.ConnectionTimeout), logger: c.logger, conn: conn}
	c.tls = &sessionTLS{
		config:       s.tlsConfig,
		timeout:      seconds(s.settings.ConnectionTimeout),
		requireReuse: s.settings.TLSRequireSessionReuse,
		logger:       c.logger,
	}
	c.data = newDataChannel(c.dataEnv(), dataHooks{reply: c.reply, replyError: c.replyError, event: c.emit})

	return c
}

// dataEnv describes the session's connection to its data channel.
func (c *clientHandler) dataEnv() dataEnv {
	env := dataEnv{
		settings: c.settings,
		logger:   c.logger,
		buffers:  c.shared.buffers,
		zeroCopy: c.shared.zeroCopy,
		sockets:  c.shared.sockets,
		// Passive listeners and active connections use the socket's own address, which
		// differs from LocalAddr behind a PROXY protocol balancer.
		local:  socketConn(c.rawConn).LocalAddr(),
		remote: c.RemoteAddr(),
		mux:    c.shared.passiveMux,
		ports:  c.shared.passiveIPs,
		closed: c.closed,
	}

	env.wrapListener = c.shared.hooks.wrapPassive

	return env
}

// serve runs the session: greeting, then one command at a time until the session ends
// (endSession). A panic in a handler or in the driver ends this client only.
func (c *clientHandler) serve() {
	defer c.finish()
	defer func() {
		if r := recover(); r != nil {
			level.Error(c.logger).Log("event", "panic", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			c.endSession(endPanic)
		}
	}()

	c.shared.sockets.keepUrgentInline(socketConn(c.rawConn))
	c.emit(Event{Kind: EventConnected, Time: c.start})

	if !c.greet() {
		return
	}

	for {
		_ = c.conn.SetReadDeadline(c.readDeadline())

		// Read after the deadline is set: endSession from another goroutine sets the reason and
		// then a deadline in the past, so it is either seen here or cuts the read below.
		if c.ending() != endNone {
			return
		}

		line, err := c.reader.readLine()
		if err != nil {
			if !c.readFailed(err) {
				return
			}

			continue
		}

		c.handleLine(line)
	}
}

// greet starts implicit TLS when configured and sends the welcome; false closes the client.
func (c *clientHandler) greet() bool {
	if c.settings.TLSRequired == ImplicitEncryption {
		if err := c.upgradeControlToTLS(); err != nil {
			level.Debug(c.logger).Log("event", "tls_handshake_failed", "err", err)
			c.endSession(endTLSFailed)

			return false
		}

		// Implicit FTPS protects data connections from the start too.
		c.setTransferTLS(true)
		c.pbszDone = true
	}

	welcome, err := c.shared.driver.ClientConnected(c)
	if err != nil {
		c.reply(StatusServiceNotAvailable, clientErrorText(err))
		c.endSession(endGreetingRefused)

		return false
	}

	c.reply(StatusServiceReady, welcome)

	return true
}

// readDeadline is when the next command must have arrived: the idle timeout (the user's once
// logged in), and for a client not logged in yet, no later than the login timeout.
func (c *clientHandler) readDeadline() time.Time {
	var deadline time.Time

	if idle := c.sessionPolicy().idle; idle > 0 {
		deadline = time.Now().Add(idle)
	}

	if login := seconds(c.settings.LoginTimeout); login > 0 && !c.loggedIn() {
		loginDeadline := c.start.Add(login)
		if deadline.IsZero() || loginDeadline.Before(deadline) {
			deadline = loginDeadline
		}
	}

	return deadline
}

// readFailed handles a failed command read and tells whether to keep serving.
func (c *clientHandler) readFailed(err error) bool {
	var netErr net.Error

	switch {
	case errors.Is(err, errLineTooLong):
		// Answered as soon as the line passes the limit, without waiting for its end: a client
		// that sends that much without a line end is not speaking FTP, and closing spares the
		// server from reading whatever follows.
		c.reply(StatusSyntaxErrorNotRecognised, "Command line too long")
		c.endSession(endLineTooLong)

		return false
	case errors.As(err, &netErr) && netErr.Timeout():
		switch {
		case c.ending() != endNone:
			// endSession cut the read.
		case c.data.busy():
			return true // a long transfer is not idleness
		case !c.loggedIn() && seconds(c.settings.LoginTimeout) > 0:
			c.endSession(endLoginTimeout)
		default:
			c.endSession(endIdleTimeout)
		}

		return false
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		c.endSession(endClientGone)

		return false
	default:
		level.Debug(c.logger).Log("event", "read_failed", "err", err)
		c.endSession(endClientGone)

		return false
	}
}

// handleLine dispatches one command through the command table.
func (c *clientHandler) handleLine(line string) {
	verb, param := parseCommandLine(line)
	cmd, known := commands[verb]

	if c.Debug() {
		logged := line
		if cmd.secretParam {
			logged = verb + " ****"
		}

		level.Debug(c.logger).Log("event", "command", "line", logged)
	}

	if !known {
		c.unknownCommand(verb, param)

		return
	}

	if !c.admit(verb, param, cmd) {
		return
	}

	c.mu.Lock()
	c.lastCommand = verb
	c.mu.Unlock()

	if cmd.notImplemented != "" {
		c.reply(StatusCommandNotImplemented, verb+" is not implemented, "+cmd.notImplemented)

		return
	}

	if cmd.handleRow != nil {
		cmd.handleRow(c, param, cmd)

		return
	}

	cmd.handle(c, param)
}

// admit applies the rules of the command's table row, in this order, and answers the first one
// the command breaks; it tells whether the command may run.
func (c *clientHandler) admit(verb, param string, cmd *commandDesc) bool {
	switch {
	case cmd.disabled(c.settings):
		c.reply(cmd.disabledRefusal(verb))

		return false
	case !cmd.open && !c.loggedIn():
		c.reply(StatusNotLoggedIn, "Please login with USER and PASS")

		return false
	}

	if cmd.waitsForTransfer(param) {
		// Commands a client pipelines behind a transfer are run after it, in order.
		c.data.wait()
	}

	switch {
	case cmd.bareDisabled(param, c.settings):
		c.reply(StatusCommandNotImplemented, verb+" is disabled on this server")
	case cmd.needsParam && param == "":
		c.reply(StatusSyntaxErrorParameters, verb+" needs an argument")
	case c.refusedHere(cmd):
		// refusedHere has answered.
	case cmd.refusedAfterEPSVAll && c.epsvAll:
		c.reply(StatusBadCommandSequence, "Only EPSV is allowed after EPSV ALL")
	case cmd.changesFiles(param) && c.sessionPolicy().readOnly:
		c.reply(StatusActionNotTaken, "Permission denied: read-only session")
	case cmd.dataConn && !c.transferAllowed():
		// transferAllowed has answered.
	default:
		return true
	}

	return false
}

// refusedHere answers a command the session is not at the step for (its row's sequence rule),
// or whose driver extension the logged-in user's driver lacks; it tells whether it answered.
func (c *clientHandler) refusedHere(cmd *commandDesc) bool {
	var refusal rowReply

	switch {
	case cmd.outOfStep(c):
		refusal = cmd.outOfSequence
	case cmd.lacksExtension(c):
		refusal = cmd.unsupported
	default:
		return false
	}

	c.reply(refusal.code, refusal.text)

	return true
}

// unknownCommand answers a verb the command table does not know. Before login, a line that
// looks like HTTP ends the session: a browser led to the FTP port by another site (the ALPACA
// cross-protocol attack) gets nothing it could run as a page.
func (c *clientHandler) unknownCommand(verb, param string) {
	if !c.loggedIn() && looksLikeHTTP(verb, param) {
		level.Info(c.logger).Log("event", "http_request_refused", "remote", c.RemoteAddr())
		c.endSession(endHTTPRequest)

		return
	}

	c.reply(StatusSyntaxErrorNotRecognised, "Unknown command"+c.echo(quoteVerb(verb)))
}

// echo returns shown, text made of the client's input, after a space once the client is logged
// in, and nothing before: a reply to a client not logged in is fixed text (vsftpd's rule), which
// nobody can make the server reflect to a third party.
func (c *clientHandler) echo(shown string) string {
	if !c.loggedIn() {
		return ""
	}

	return " " + shown
}

// quoteVerb shows an unknown verb safely in a reply.
func quoteVerb(verb string) string {
	const maxShown = 32
	if len(verb) > maxShown {
		verb = verb[:maxShown] + "..."
	}

	return fmt.Sprintf("%q", verb)
}

func (c *clientHandler) loggedIn() bool {
	c.mu.Lock()
	defer c.mu.Unlock()

	return c.driver != nil
}

func (c *clientHandler) fs() ClientDriver {
	c.mu.Lock()
	defer c.mu.Unlock()

	return c.driver
}

// extensions returns the logged-in driver's extensions (hooks.go), nil before login.
func (c *clientHandler) extensions() *clientHooks {
	c.mu.Lock()
	defer c.mu.Unlock()

	return c.ext
}

// pathParam resolves a command's path argument, replying 501 for a malformed one and 553 for
// a name the settings refuse; ok is false when the reply was sent and the handler must stop.
func (c *clientHandler) pathParam(param string) (string, bool) {
	p, err := resolvePath(c.Path(), param, c.settings)

	switch {
	case errors.Is(err, errInvalidPath):
		c.reply(StatusSyntaxErrorParameters, "Invalid path")

		return "", false
	case err != nil:
		c.replyError(StatusActionNotTakenNoFile, "Invalid path", err)

		return "", false
	}

	return p, true
}

// reply sends one reply; a message of several lines becomes a multi-line reply. It is the
// only way handlers answer, so every reply is formatted the same way and logged in one place.
func (c *clientHandler) reply(code int, msg string) {
	c.out.reply(code, msg)

	if c.Debug() {
		level.Debug(c.logger).Log("event", "reply", "code", code, "msg", msg)
	}
}

// startMultiline begins a multi-line reply (STAT, MLST, FEAT, HELP), sent by its end, or in
// parts as it grows when it is long (multilineReply); it must be ended.
func (c *clientHandler) startMultiline(code int, first string) *multilineReply {
	return c.out.startMultiline(code, first)
}

// replyError sends the reply for err: the code from errorCode (fallback when it does not
// know err) and a text that names the operation but not server internals.
func (c *clientHandler) replyError(fallback int, what string, err error) {
	code := errorCode(err, fallback)
	level.Debug(c.logger).Log("event", "command_failed", "cmd", c.GetLastCommand(), "what", what, "err", err)
	c.reply(code, what+": "+clientErrorText(err))
}

// Path implements ClientContext.
func (c *clientHandler) Path() string {
	c.mu.Lock()
	defer c.mu.Unlock()

	return c.path
}

// SetPath implements ClientContext.
func (c *clientHandler) SetPath(value string) {
	c.mu.Lock()
	defer c.mu.Unlock()

	c.path = cleanPath("/", value)
	c.listPath = ""
}

// SetListPath implements ClientContext.
func (c *clientHandler) SetListPath(value string) {
	c.mu.Lock()
	defer c.mu.Unlock()

	c.listPath = cleanPath(c.path, value)
}

// SetDebug implements ClientContext.
func (c *clientHandler) SetDebug(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()

	c.debug = on
}

// Debug implements ClientContext.
func (c *clientHandler) Debug() bool {
	c.mu.Lock()
	defer c.mu.Unlock()

	return c.debug
}

// ID implements ClientContext.
func (c *clientHandler) ID() uint32 {
	return c.id
}

// RemoteAddr implements ClientContext.
func (c *clientHandler) RemoteAddr() net.Addr {
	return c.rawConn.RemoteAddr()
}

// LocalAddr implements ClientContext.
func (c *clientHandler) LocalAddr() net.Addr {
	return c.rawConn.LocalAddr()
}

// GetClientVersion implements ClientContext.
func (c *clientHandler) GetClientVersion() string {
	c.mu.Lock()
	defer c.mu.Unlock()

	return c.clientVersion
}

// Close implements ClientContext: it ends the session as if the connection broke, from any
// goroutine, and can be called more than once.
func (c *clientHandler) Close() error {
	c.endSession(endClosedByDriver)

	return nil
}

// HasTLSForControl implements ClientContext.
func (c *clientHandler) HasTLSForControl() bool {
	c.mu.Lock()
	defer c.mu.Unlock()

	return c.controlTLS
}

// HasTLSForTransfers implements ClientContext.
func (c *clientHandler) HasTLSForTransfers() bool {
	c.mu.Lock()
	defer c.mu.Unlock()

	return c.transferTLS
}

// GetLastCommand implements ClientContext.
func (c *clientHandler) GetLastCommand() string {
	c.mu.Lock()
	defer c.mu.Unlock()

	return c.lastCommand
}

// GetLastDataChannel implements ClientContext.
func (c *clientHandler) GetLastDataChannel() DataChannel {
	return c.data.lastChannel()
}

var (
	// errTLSRequirementTooLate is returned by SetTLSRequirement when the client is already past
	// what the new policy forbids.
	errTLSRequirementTooLate = errors.New("client already logged in without TLS")
	// errInvalidTLSRequirement is returned by SetTLSRequirement for a value that names no policy.
	errInvalidTLSRequirement = errors.New("invalid TLS requirement")
)

// SetTLSRequirement implements ClientContext. Implicit encryption cannot be chosen per client
// (it is decided before the first byte), and a mandatory policy cannot be imposed on a client
// that already logged in over clear text.
func (c *clientHandler) SetTLSRequirement(requirement TLSRequirement) error {
	c.mu.Lock()
	defer c.mu.Unlock()

	switch requirement {
	case ClearOrEncrypted:
	case MandatoryEncryption:
		if c.driver != nil && !c.controlTLS {
			return errTLSRequirementTooLate
		}
	case ImplicitEncryption:
		return fmt.Errorf("TLS requirement %d cannot be set per client: %w", requirement, os.ErrInvalid)
	default:
		return errInvalidTLSRequirement
	}

	c.tlsRequirement = requirement

	return nil
}

// SetExtra implements ClientContext.
func (c *clientHandler) SetExtra(extra any) {
	c.mu.Lock()
	defer c.mu.Unlock()

	c.extra = extra
}

// Extra implements ClientContext.
func (c *clientHandler) Extra() any {
	c.mu.Lock()
	defer c.mu.Unlock()

	return c.extra
}

// emit tells the driver's MainDriverExtensionEvents of an event of this session. It must be
// called without c.mu held: the driver may call the ClientContext's methods.
func (c *clientHandler) emit(event Event) {
	handler := c.shared.hooks.event
	if handler == nil {
		return
	}

	if event.Time.IsZero() {
		event.Time = time.Now()
	}

	handler(c, event)
}

package ftpserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"golang.org/x/time/rate"
)

// dataChannel is the data side of one session, as net/http's response is the per-request side
// of its conn: the data connection prepared by PASV, EPSV, PORT or EPRT, the transfer running
// on it, and the kind of channel used last. It knows nothing of the session that owns it:
// commands reach it through its methods, and it reaches back only through dataHooks.
type dataChannel struct {
	env   dataEnv
	hooks dataHooks
	// transferLog is env.logger at level info, built once rather than at each transfer.
	transferLog log.Logger

	// prepared is the connection made ready for the next transfer; each serves one. Only the
	// serve goroutine touches it.
	prepared transferHandler
	// kept is the passive listener kept between transfers (KeepPassiveListener), or nil. Only
	// the serve goroutine touches it.
	kept *keptListener

	mu      sync.Mutex   // guards the fields below; never held while a hook or a driver runs
	running *transferRun // the transfer in progress, if any
	last    DataChannel  // the kind of the last data connection a transfer used
	onIdle  func()       // set by whenIdle: run once the running transfer has replied
}

// dataEnv is what a data channel needs to know of its session's connection and server. It is
// fixed when the session starts.
type dataEnv struct {
	settings *Settings
	logger   log.Logger
	buffers  *copyBuffers
	zeroCopy *zeroCopy // the server's ways of sending a file without a buffer
	sockets  *socketOptions
	local    net.Addr // the control socket's own address, not the one a PROXY header names
	remote   net.Addr // the client's address
	mux      *passiveMux
	ports    *passiveBudget // prepared passive ports per client IP; nil: no limit
	// wrapListener is the driver's MainDriverExtensionPassiveWrapper, nil without it.
	wrapListener func(net.Listener) (net.Listener, error)
	closed       <-chan struct{} // closed when the session ends, to give up waiting for a port
}

// dataHooks are the only ways a data channel talks back to its session. The channel calls them
// without holding its lock.
type dataHooks struct {
	reply      func(code int, text string)
	replyError func(fallback int, what string, err error)
	event      func(Event) // EventTransferEnded, before the transfer's final reply
}

func newDataChannel(env dataEnv, hooks dataHooks) *dataChannel {
	return &dataChannel{env: env, hooks: hooks, transferLog: level.Info(env.logger)}
}

// transferJob is what a command asks of the data channel once the data connection is open.
type transferJob struct {
	command   string
	path      string
	direction TransferDirection
	opening   string // text of the 150 reply, when the command has its own (STOU)
	// run moves the data and returns the first error.
	run func(x *transferIO) error
	// finish is always called once, after run or when the connection could not be opened,
	// with the error so far; it releases what the job holds (closes the file, tells the
	// driver) and returns the error the client should hear about.
	finish func(err error) error
	// runAtOnce, when set, moves the data from the serve goroutine without ever waiting on the
	// connection, and tells whether it moved all of it; run moves what it left. It is tried
	// only on a plain connection (no TLS, no MODE Z) that was open at once (startAtOnce).
	runAtOnce func(x *transferIO) (bool, error)
	// result, for a job run by startBeside, is its final reply once run and finish succeeded
	// (a checksum's digest); a transfer ends with 226.
	result func() (code int, text string)
	// failure is what the reply to the job's error says it failed to do; default "Issue during
	// transfer".
	failure string
}

// transferSetup is what the session decides about one transfer before it starts.
type transferSetup struct {
	user     string
	ascii    bool                             // the session's TYPE is A
	secure   func(net.Conn) (net.Conn, error) // the PROT P handshake; nil: a clear connection
	deflate  int                              // flate level under MODE Z, 0 in MODE S
	limiters []*rate.Limiter                  // the bandwidth limits of its direction
	stall    time.Duration                    // the stall timeout of its data connection; 0: none
}

// transferIO is what a job moves data through: the open data connection, the transfer's byte
// counter, and its pace, built once per transfer.
type transferIO struct {
	ctx     context.Context // canceled by ABOR, Stop and the end of the transfer
	conn    net.Conn
	counter *atomic.Int64
	limit   *throttle // nil: no bandwidth limit
	stall   time.Duration
	buffers *copyBuffers
	// zeroCopy are the server's ways of sending a file without a buffer (platformCopy).
	zeroCopy *zeroCopy
}

// copy moves src to dst through copyData with the transfer's counter, stall timeout and limit.
func (x *transferIO) copy(dst io.Writer, src io.Reader) error {
	return copyData(x.conn, dst, src, x.counter, x.stall, x.buffers, x.limit, x.zeroCopy)
}

// transferRun is a transfer in progress, run by its own goroutine while the serve goroutine
// keeps reading the control connection for ABOR, STAT, NOOP and QUIT.
type transferRun struct {
	job     transferJob
	setup   transferSetup
	data    transferHandler
	start   time.Time
	bytes   atomic.Int64
	aborted atomic.Bool
	done    chan struct{}
	io      transferIO
	// ctx is canceled when the transfer is aborted or ends; bandwidth waits end with it.
	ctx    context.Context
	cancel context.CancelFunc
}

// prepare makes handler the connection of the next transfer, closing the one it replaces.
func (d *dataChannel) prepare(handler transferHandler) {
	d.closePrepared()
	d.prepared = handler
}

// closePrepared closes the prepared connection, if any, unused.
func (d *dataChannel) closePrepared() {
	if d.prepared != nil {
		_ = d.prepared.Close()
		d.prepared = nil
	}
}

// close closes the prepared connection and releases the kept passive listener: the session
// ends, or REIN starts it over.
func (d *dataChannel) close() {
	d.closePrepared()
	d.releaseListener()
}

// releaseListener closes the kept passive listener, if any.
func (d *dataChannel) releaseListener() {
	if d.kept != nil {
		_ = d.kept.listener.Close()
		d.kept = nil
	}
}

// start replies 150 and runs job on the prepared data connection, in a transfer goroutine
// that sends the final reply. It replies 425 when no data connection was prepared.
func (d *dataChannel) start(job transferJob, setup transferSetup) {
	data := d.prepared
	d.prepared = nil

	switch {
	case data == nil:
		job.finish(errNoDataConn) //nolint:errcheck // the client is answered here
		d.hooks.reply(StatusCannotOpenDataConnection, "Use PASV, EPSV, PORT or EPRT first")

		return
	case givenUp(data):
		_ = data.Close()
		job.finish(errPassivePortExpired) //nolint:errcheck // the client is answered here
		d.hooks.reply(StatusCannotOpenDataConnection, passiveExpiredText(d.env.settings))

		return
	}

	t := d.begin(job, setup, data)

	d.hooks.reply(StatusFileStatusOK, orDefault(job.opening, "Using transfer connection"))

	conn, ended := d.startAtOnce(t)
	if !ended {
		go d.run(t, func() error { return d.overConn(t, conn) })
	}
}

// startBeside runs job in a goroutine beside the session, as start runs a transfer, but with
// no data connection: a checksum reads a file and answers its digest. ABOR, STAT, NOOP, Stop,
// Shutdown and the commands queued behind a transfer treat it as the running transfer. It sends
// no 150, and job.result is its final reply when it succeeds. A prepared data connection stays
// prepared for the next transfer.
func (d *dataChannel) startBeside(job transferJob, user string) {
	t := d.begin(job, transferSetup{user: user}, noDataConn{})

	go d.run(t, func() error { return t.job.run(&t.io) })
}

// begin makes job, with setup, on data, the running transfer.
func (d *dataChannel) begin(job transferJob, setup transferSetup, data transferHandler) *transferRun {
	t := &transferRun{job: job, setup: setup, data: data, start: time.Now(), done: make(chan struct{})}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	t.io = transferIO{
		ctx:      t.ctx,
		counter:  &t.bytes,
		limit:    newThrottle(t.ctx, setup.limiters),
		stall:    setup.stall,
		buffers:  d.env.buffers,
		zeroCopy: d.env.zeroCopy,
	}

	d.mu.Lock()
	d.running = t

	if kind := data.Channel(); kind != 0 {
		d.last = kind
	}
	d.mu.Unlock()

	return t
}

// noDataConn is the transferHandler of a job that runs beside the session without a data
// connection (startBeside).
type noDataConn struct{}

func (noDataConn) Open() (net.Conn, error) { return nil, errNoDataConn }
func (noDataConn) Close() error            { return nil }
func (noDataConn) Channel() DataChannel    { return 0 }

// startAtOnce runs a transfer in the serve goroutine for as long as nothing in it has to wait:
// the client's data connection is already queued on a passive listener, it is plain (no TLS
// handshake, no MODE Z) and the job moves data without blocking. A small download then ends
// here, 226 included, with no transfer goroutine and no handoff to another thread: each such
// handoff costs context switches, which dominate the cost of a small file. It returns the open
// connection when the rest of the transfer must go on in a goroutine, and whether it ended.
func (d *dataChannel) startAtOnce(t *transferRun) (net.Conn, bool) {
	if t.job.runAtOnce == nil || t.setup.secure != nil || t.setup.deflate > 0 {
		return nil, false
	}

	opener, ok := t.data.(queuedOpener)
	if !ok {
		return nil, false
	}

	conn, ok := opener.openQueued()
	if !ok {
		return nil, false
	}

	return d.runAtOnce(t, conn)
}

// runAtOnce is startAtOnce once the connection is open. Ended here, by a panic too, the
// transfer is released as a transfer goroutine releases it.
func (d *dataChannel) runAtOnce(t *transferRun, conn net.Conn) (rest net.Conn, ended bool) {
	defer func() {
		if d.panicked(t, recover()) {
			rest, ended = nil, true
		}

		if ended {
			_ = t.data.Close()
			t.cancel()
			d.ended(t)
		}
	}()

	t.io.conn = conn

	done, err := t.job.runAtOnce(&t.io)
	if !done && err == nil {
		return conn, false
	}

	d.finish(t, closeDataConn(conn, err))

	return nil, true
}

// run is the body of the transfer goroutine: work moves the data, and run answers what it
// returns, or a panic.
func (d *dataChannel) run(t *transferRun, work func() error) {
	defer d.ended(t)
	defer t.cancel()
	// Closed in every case, a panic included, so the client never waits on a dead transfer.
	defer func() { _ = t.data.Close() }()

	defer func() { d.panicked(t, recover()) }()

	d.finish(t, work())
}

// overConn is the work of a transfer goroutine: it opens the prepared data connection, unless
// startAtOnce has, and moves the data.
func (d *dataChannel) overConn(t *transferRun, conn net.Conn) error {
	var err error

	if conn == nil {
		conn, err = openDataConn(t)
	}

	if err != nil {
		return err
	}

	if t.setup.deflate > 0 {
		// Inside TLS under PROT P; TYPE A conversion and REST apply to the data before it.
		conn = newDeflateConn(conn, t.setup.deflate)
	}

	t.io.conn = conn

	return closeDataConn(conn, t.job.run(&t.io))
}

// openDataConn opens the prepared data connection and, under PROT P, runs the TLS handshake
// on it, all within ConnectionTimeout.
func openDataConn(t *transferRun) (net.Conn, error) {
	conn, err := t.data.Open()
	if err != nil {
		return nil, newNetworkError("opening data connection", fmt.Errorf("%w: %w", errOpeningData, err))
	}

	if t.setup.secure == nil {
		return conn, nil
	}

	secured, err := t.setup.secure(conn)
	if err != nil {
		_ = conn.Close()

		return nil, newNetworkError("opening data connection", fmt.Errorf("%w: %w", errOpeningData, err))
	}

	return secured, nil
}

// panicked answers a panic r of a transfer, if r is one, and tells whether it was: a memory
// fault of sendMapped (its file was cut short) fails the transfer with 451, anything else is
// logged and answered 451 too. The session goes on either way.
func (d *dataChannel) panicked(t *transferRun, r any) bool {
	if r == nil {
		return false
	}

	if _, fault := r.(interface{ Addr() uintptr }); fault {
		_ = t.data.Close()
		d.replyResult(t, t.job.finish(errFileShrank))

		return true
	}

	level.Error(d.env.logger).Log("event", "panic", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
	_ = t.job.finish(fmt.Errorf("%w: internal error", errTransferAborted))
	d.hooks.reply(statusLocalError, "Internal error, transfer aborted")

	return true
}

// finish closes the data connection, lets the job release what it holds and sends the final
// reply; an abort overrides the error the transfer ended with.
func (d *dataChannel) finish(t *transferRun, err error) {
	_ = t.data.Close()

	if t.aborted.Load() {
		err = errTransferAborted
	}

	d.replyResult(t, t.job.finish(err))
}

// replyResult sends the final reply of a transfer, after logging it and reporting it as an
// event.
func (d *dataChannel) replyResult(t *transferRun, err error) {
	duration := time.Since(t.start)

	d.transferLog.Log("event", "transfer", "cmd", t.job.command, "path", t.job.path,
		"bytes", t.bytes.Load(), "duration", duration, "err", err)

	// A job with no data connection (a checksum) is no transfer for the driver's events.
	if t.job.direction != noTransfer {
		d.reportEnd(t, duration, err)
	}

	failure := orDefault(t.job.failure, "Issue during transfer")

	switch {
	case err == nil && t.job.result != nil:
		d.hooks.reply(t.job.result())
	case err == nil:
		d.hooks.reply(StatusClosingDataConn, "Closing transfer connection")
	case errors.Is(err, errTransferAborted):
		d.hooks.reply(StatusTransferAborted, "Connection closed; transfer aborted")
	case errors.Is(err, errOpeningData):
		d.hooks.reply(StatusCannotOpenDataConnection, openDataRefusal(err))
	case errors.Is(err, ErrUploadTruncated):
		d.hooks.reply(StatusTransferAborted, uploadTruncatedText)
	case errors.Is(err, ErrUploadRefused):
		d.hooks.replyError(StatusActionNotTaken, "Upload refused", refusalCause(err))
	case isNetworkError(err):
		d.hooks.reply(StatusTransferAborted, "Data connection closed, transfer aborted")
	case errors.Is(err, errFileShrank):
		// The file changed under the transfer: trying again reads it as it is now.
		d.hooks.replyError(statusLocalError, failure, err)
	default:
		// A driver's error is final: 451 would tell clients to try again, and some (goftp) retry
		// an upload for ever.
		d.hooks.replyError(StatusActionNotTaken, failure, err)
	}
}

// reportEnd reports the end of a transfer as an EventTransferEnded.
func (d *dataChannel) reportEnd(t *transferRun, duration time.Duration, err error) {
	d.hooks.event(Event{
		Kind:      EventTransferEnded,
		User:      t.setup.user,
		Command:   t.job.command,
		Path:      t.job.path,
		Direction: t.job.direction,
		ASCII:     t.setup.ascii,
		Bytes:     t.bytes.Load(),
		Duration:  duration,
		Err:       err,
	})
}

// ended forgets the transfer, lets ABOR and queued commands go on, and runs what whenIdle
// left for this moment.
func (d *dataChannel) ended(t *transferRun) {
	d.mu.Lock()
	d.running = nil
	onIdle := d.onIdle
	d.onIdle = nil
	d.mu.Unlock()

	close(t.done)

	if onIdle != nil {
		onIdle()
	}
}

func (d *dataChannel) current() *transferRun {
	d.mu.Lock()
	defer d.mu.Unlock()

	return d.running
}

// busy tells whether a transfer runs.
func (d *dataChannel) busy() bool {
	return d.current() != nil
}

// progress describes the running transfer for STAT: its command, path and bytes so far.
func (d *dataChannel) progress() (command, path string, bytes int64, running bool) {
	t := d.current()
	if t == nil {
		return "", "", 0, false
	}

	return t.job.command, t.job.path, t.bytes.Load(), true
}

// lastChannel is the kind of data connection the last transfer used.
func (d *dataChannel) lastChannel() DataChannel {
	d.mu.Lock()
	defer d.mu.Unlock()

	return d.last
}

// wait blocks until the running transfer, if any, has sent its final reply.
func (d *dataChannel) wait() {
	if t := d.current(); t != nil {
		<-t.done
	}
}

// abort stops the running transfer: closing its data connection unblocks it even when the
// client stopped reading. It returns once the transfer has replied 426, and tells whether
// there was one.
func (d *dataChannel) abort() bool {
	t := d.current()
	if t == nil {
		return false
	}

	t.aborted.Store(true)
	t.cancel()
	_ = t.data.Close()
	<-t.done

	return true
}

// whenIdle runs fn once no transfer runs: it returns true, having run nothing, when none runs
// now (the caller runs fn itself), else it keeps fn for the end of the running transfer.
func (d *dataChannel) whenIdle(fn func()) bool {
	d.mu.Lock()
	defer d.mu.Unlock()

	if d.running == nil {
		return true
	}

	d.onIdle = fn

	return false
}

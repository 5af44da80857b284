package ftpserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
)

// FtpServer accepts control connections and serves each client in its own goroutine. Create
// it with NewFtpServer; several servers can run in one process.
type FtpServer struct {
	// Logger receives the library's key/value log lines, each with an "event" key and a go-kit
	// level; nil or the default logs nothing. Filter it with level.NewFilter. What is logged:
	//   - info: "listening" (once per Serve), "login" (each successful login),
	//     "passive_port_expired" (a PASV nobody connected to, given up), "transfer"
	//     (each finished RETR, STOR, APPE, STOU or listing, with its bytes and duration): a
	//     driver that also logs transfers from MainDriverExtensionEvents logs each twice, so
	//     filter out info or drop its own line; and "disconnected" (each ended session, with
	//     its duration and a "reason": quit, client_gone, idle_timeout, login_timeout,
	//     login_failures, certificate_refused, refused, tls_required, tls_failed,
	//     greeting_refused, server_stop, server_shutdown, closed_by_driver, user_sessions or
	//     panic);
	//   - warn: refusals and abuse ("refused", "login_failed", "login_refused" (a user's
	//     SessionSettings.MaxSessions reached), "too_many_login_failures",
	//     "bounce_refused", "passive_connection_refused", "passive_port_refused", "data_tls_refused",
	//     "proxy_header_refused", "host_refused" at info), and configuration or storage trouble
	//     ("passive_listen_failed", "passive_port_range_invalid", "public_ip_resolver_failed",
	//     "upload_temp_left", "comb_part_left");
	//   - error: "accept_error" and "panic" (a recovered panic of a driver or of the library,
	//     with its stack; the session it happened in ends or goes on as documented there);
	//   - debug: every command and reply, and failures a client causes ("command_failed",
	//     "read_failed", "tls_handshake_failed", "tls_unavailable"). PASS is logged as "****".
	// The logger is called synchronously: a slow logger slows the session that logs.
	Logger log.Logger

	driver   MainDriver
	settings *Settings // read once at Listen

	// mu guards the fields below it up to clientTable. It is never held while a client's lock
	// is taken, a socket is written or driver code runs, so that one client cannot hold up the
	// accept loop or the end of another.
	mu       sync.Mutex
	listener net.Listener
	closing  bool
	done     chan struct{} // closed by Stop and Shutdown

	*clientTable // s.clients and s.perIP, guarded by mu

	copyBuffers *copyBuffers     // transfer buffers, shared by this server's clients
	zeroCopy    *zeroCopy        // how downloads skip the buffers: platformCopy, portableCopy in tests
	sockets     *socketOptions   // platformSockets, portableSockets in tests
	bandwidth   *serverBandwidth // server-wide limiters and per-connection limits, set by Listen
	users       *userLimits      // sessions and shared limiters per user, set by Listen
	passiveMux  *passiveMux      // shared passive ports (PassiveTransferPortMultiplexing), set by Listen
	passiveIPs  *passiveBudget   // prepared passive ports per client IP, set by Listen
	hooks       *mainHooks       // the driver's extensions, resolved by Listen (hooks.go)
	shared      *sessionShared   // what the sessions take from the server, set by Listen

	lastID  atomic.Uint32
	clientW sync.WaitGroup // one per running client goroutine
}

// clientTable holds the server's maps, guarded by FtpServer.mu. It sits behind a pointer so that
// FtpServer stays comparable, as ftpserverlib's is: a map, slice or func field in FtpServer itself
// would make == on two servers a compile error.
type clientTable struct {
	clients map[uint32]*clientHandler
	perIP   map[string]int
}

// NewFtpServer returns a server that asks driver for its settings at Listen.
func NewFtpServer(driver MainDriver) *FtpServer {
	return &FtpServer{
		driver: driver,
		Logger: log.NewNopLogger(),
		clientTable: &clientTable{
			clients: make(map[uint32]*clientHandler),
			perIP:   make(map[string]int),
		},
		done: make(chan struct{}),

		copyBuffers: newCopyBuffers(),
		zeroCopy:    platformCopy,
		sockets:     platformSockets,
	}
}

// Listen reads the settings and opens the control listener: Settings.Listener when set,
// otherwise ListenAddr (IPv4 or IPv6). With ImplicitEncryption the listener speaks TLS. With
// ProxyProtocol it reads PROXY headers; with PassiveTransferPortMultiplexing it also opens the
// shared passive ports, on the control listener's host, and fails if one cannot be opened.
func (s *FtpServer) Listen() error {
	if s.Logger == nil {
		s.Logger = log.NewNopLogger()
	}

	settings, err := s.driver.GetSettings()
	if err != nil {
		return newDriverError("getting settings", err)
	}

	if settings == nil {
		settings = &Settings{}
	}

	s.settings = settings.withDefaults()
	s.bandwidth = newServerBandwidth(s.settings)
	s.users = newUserLimits()
	s.passiveIPs = newPassiveBudget(s.settings.MaxPassivePortsPerIP)

	s.hooks = newMainHooks(s.driver)

	listener := s.settings.Listener
	if listener == nil {
		listener, err = net.Listen("tcp", s.settings.ListenAddr)
		if err != nil {
			return newNetworkError("listening on "+s.settings.ListenAddr, err)
		}
	}

	served, err := s.setUpListeners(listener)
	if err != nil {
		if s.settings.Listener == nil {
			_ = listener.Close()
		}

		return err
	}

	listener = served
	s.shared = s.newSessionShared()

	s.mu.Lock()
	s.listener = listener
	s.mu.Unlock()

	level.Info(s.Logger).Log("event", "listening", "addr", listener.Addr().String())

	return nil
}

// Serve accepts clients until Stop or Shutdown, and then returns nil. Temporary accept errors
// (too many open files, for example) are retried with a growing pause.
func (s *FtpServer) Serve() error {
	s.mu.Lock()
	listener := s.listener
	s.mu.Unlock()

	if listener == nil {
		return ErrNotListening
	}

	var backoff time.Duration

	for {
		conn, err := listener.Accept()
		if err != nil {
			if s.isClosing() {
				return nil
			}

			if !isTemporary(err) {
				return newNetworkError("accepting", err)
			}

			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			level.Error(s.Logger).Log("event", "accept_error", "err", err, "retry_in", backoff)

			if !s.pause(backoff) {
				return nil
			}

			continue
		}

		backoff = 0

		s.startClient(conn)
	}
}

// pause waits d, or less if the server stops; it tells whether the server still runs.
func (s *FtpServer) pause(d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()

	select {
	case <-timer.C:
		return true
	case <-s.done:
		return false
	}
}

// ListenAndServe calls Listen and then Serve.
func (s *FtpServer) ListenAndServe() error {
	if err := s.Listen(); err != nil {
		return err
	}

	return s.Serve()
}

// Addr returns the control listener's address, or "" before Listen.
func (s *FtpServer) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()

	if s.listener == nil {
		return ""
	}

	return s.listener.Addr().String()
}

// Stop closes the listener and every client at once, transfers included, and waits for their
// goroutines to end. It is safe to call more than once and after Shutdown.
func (s *FtpServer) Stop() error {
	err := s.stopAccepting()

	for _, c := range s.clientList() {
		c.stop()
	}

	s.clientW.Wait()
	s.closePassiveMux()

	return err
}

// Shutdown stops accepting clients, closes idle ones with 421 and lets running transfers
// finish; each client is closed when its transfer ends, and a client in the middle of a
// command gets that command's reply first. When ctx is done first, the rest are closed as by
// Stop and ctx's error is returned.
func (s *FtpServer) Shutdown(ctx context.Context) error {
	if err := s.stopAccepting(); err != nil {
		return err
	}

	for _, c := range s.clientList() {
		c.closeWhenIdle()
	}

	finished := make(chan struct{})

	go func() {
		s.clientW.Wait()
		close(finished)
	}()

	select {
	case <-finished:
		s.closePassiveMux()

		return nil
	case <-ctx.Done():
		_ = s.Stop()

		return fmt.Errorf("shutdown: %w", ctx.Err())
	}
}

// clientList copies the clients, so that Stop and Shutdown act on them without s.mu: a
// client's lock or socket must never hold up the accept loop or the end of other sessions.
func (s *FtpServer) clientList() []*clientHandler {
	s.mu.Lock()
	defer s.mu.Unlock()

	clients := make([]*clientHandler, 0, len(s.clients))
	for _, c := range s.clients {
		clients = append(clients, c)
	}

	return clients
}

// stopAccepting marks the server closing and closes its listener, once.
func (s *FtpServer) stopAccepting() error {
	s.mu.Lock()
	defer s.mu.Unlock()

	if s.closing {
		return nil
	}

	s.closing = true
	close(s.done)

	if s.listener == nil {
		return nil
	}

	if err := s.listener.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return newNetworkError("closing listener", err)
	}

	return nil
}

func (s *FtpServer) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()

	return s.closing
}

// startClient registers a new control connection and runs its session. Connections the
// driver's MainDriverExtensionConnectionFilter refuses, then those over the client limits, are
// told 421 and closed here, before any other driver call.
func (s *FtpServer) startClient(conn net.Conn) {
	if err := s.allowConnection(conn.RemoteAddr()); err != nil {
		level.Warn(s.Logger).Log("event", "refused", "remote", conn.RemoteAddr(), "reason", "driver", "err", err)
		refuseConn(conn, clientErrorText(err))

		return
	}

	ip := remoteIP(conn.RemoteAddr())

	s.mu.Lock()

	refusal := ""

	switch {
	case s.closing:
		refusal = "Server is shutting down"
	case s.settings.MaxClients > 0 && len(s.clients) >= s.settings.MaxClients:
		refusal = "Too many clients, try again later"
	case s.settings.MaxClientsPerIP > 0 && s.perIP[ip] >= s.settings.MaxClientsPerIP:
		refusal = "Too many connections from your address"
	}

	if refusal != "" {
		s.mu.Unlock()
		level.Warn(s.Logger).Log("event", "refused", "remote", conn.RemoteAddr(), "reason", refusal)
		refuseConn(conn, refusal)

		return
	}

	c := newClientHandler(s, conn, s.lastID.Add(1))
	s.clients[c.id] = c
	s.perIP[ip]++
	s.clientW.Add(1)
	s.mu.Unlock()

	go func() {
		defer s.clientW.Done()
		defer s.forget(c, ip)

		c.serve()
	}()
}

func (s *FtpServer) forget(c *clientHandler, ip string) {
	s.mu.Lock()
	defer s.mu.Unlock()

	delete(s.clients, c.id)

	s.perIP[ip]--
	if s.perIP[ip] <= 0 {
		delete(s.perIP, ip)
	}
}

// tlsConfig asks the driver for the TLS configuration of a new TLS session.
func (s *FtpServer) tlsConfig() (*tls.Config, error) {
	config, err := s.driver.GetTLSConfig()
	if err != nil {
		return nil, newDriverError("getting TLS config", err)
	}

	if config == nil {
		return nil, newDriverError("getting TLS config", errors.New("no TLS configuration"))
	}

	return config, nil
}

// newSessionShared collects what the sessions of s share; Listen calls it once all of it is set.
func (s *FtpServer) newSessionShared() *sessionShared {
	return &sessionShared{
		driver:          s.driver,
		hooks:           s.hooks,
		buffers:         s.copyBuffers,
		zeroCopy:        s.zeroCopy,
		sockets:         s.sockets,
		bandwidth:       s.bandwidth,
		users:           s.users,
		passiveMux:      s.passiveMux,
		passiveIPs:      s.passiveIPs,
		tlsConfig:       s.tlsConfig,
		allowConnection: s.allowConnection,
	}
}

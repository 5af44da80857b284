package ftpserver

import (
	"context"
	"errors"
	"net"
	"net/textproto"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoginFailureDelay(t *testing.T) {
	t.Parallel()

	defaults := (&Settings{}).withDefaults()
	tests := []struct {
		base, capped time.Duration
		failures     int
		want         time.Duration
	}{
		{defaults.LoginFailureDelay, defaults.MaxLoginFailureDelay, 1, time.Second},
		{defaults.LoginFailureDelay, defaults.MaxLoginFailureDelay, 2, 2 * time.Second},
		{defaults.LoginFailureDelay, defaults.MaxLoginFailureDelay, 3, 4 * time.Second},
		{defaults.LoginFailureDelay, defaults.MaxLoginFailureDelay, 5, 16 * time.Second},
		{defaults.LoginFailureDelay, defaults.MaxLoginFailureDelay, 6, 16 * time.Second},
		{defaults.LoginFailureDelay, defaults.MaxLoginFailureDelay, 1 << 30, 16 * time.Second},
		{3 * time.Second, 5 * time.Second, 1, 3 * time.Second},
		{3 * time.Second, 5 * time.Second, 2, 5 * time.Second},
		{time.Minute, 5 * time.Second, 1, 5 * time.Second}, // the cap wins over the base
		{-1, time.Second, 4, 0},
	}

	for _, tt := range tests {
		settings := &Settings{LoginFailureDelay: tt.base, MaxLoginFailureDelay: tt.capped}
		assert.Equal(t, tt.want, loginFailureDelay(settings, tt.failures), "%+v", tt)
	}

	assert.Equal(t, DefaultMaxLoginFailures, defaults.MaxLoginFailures)
	assert.Equal(t, time.Second, defaults.LoginFailureDelay)
}

// loginFailure is one call of MainDriverExtensionLoginFailures.
type loginFailure struct {
	user string
	err  error
}

// failuresDriver records failed logins, and may close the session from the hook.
type failuresDriver struct {
	*testDriver

	failures  *recorder[loginFailure]
	called    chan struct{} // receives once per call, when not full
	closeFrom bool          // LoginFailed closes the session
}

func (d failuresDriver) PreAuthUser(_ ClientContext, user string) error {
	if user == "nobody" {
		return errors.New("no such user")
	}

	return nil
}

func (d failuresDriver) LoginFailed(cc ClientContext, user string, err error) {
	d.failures.add(loginFailure{user, err})

	if d.closeFrom {
		_ = cc.Close()
	}

	select {
	case d.called <- struct{}{}:
	default:
	}
}

func newFailuresServer(t *testing.T, closeFrom bool, opts ...testOption) (*testServer, failuresDriver) {
	t.Helper()

	var drv failuresDriver

	s := newTestServerMain(t, func(d *testDriver) MainDriver {
		drv = failuresDriver{testDriver: d, failures: &recorder[loginFailure]{}, called: make(chan struct{}, 16),
			closeFrom: closeFrom}

		return drv
	}, opts...)

	return s, drv
}

func TestMaxLoginFailuresCloses(t *testing.T) {
	s, drv := newFailuresServer(t, false)
	rc := s.raw(t)

	rc.expect("USER nobody", StatusNotLoggedIn) // a refused USER counts
	rc.expect("USER "+testUser, StatusUserOK)
	assert.Equal(t, "Login incorrect", rc.expect("PASS wrong", StatusNotLoggedIn))
	rc.expect("USER "+testUser, StatusUserOK)
	assert.Equal(t, "Too many failed logins, closing control connection",
		rc.expect("PASS wrong again", StatusServiceNotAvailable))
	requireClosed(t, rc)

	failures := drv.failures.all()
	require.Len(t, failures, 3)
	assert.Equal(t, "nobody", failures[0].user)
	assert.Equal(t, testUser, failures[1].user)
	require.ErrorIs(t, failures[1].err, errBadCredentials)
	require.ErrorIs(t, failures[2].err, errBadCredentials)
}

func TestLoginFailuresSurviveREINAndLogin(t *testing.T) {
	s, _ := newFailuresServer(t, false, withSettings(func(settings *Settings) { settings.MaxLoginFailures = 2 }))
	rc := s.raw(t)

	rc.expect("USER "+testUser, StatusUserOK)
	rc.expect("PASS wrong", StatusNotLoggedIn)
	rc.expect("USER "+testUser, StatusUserOK)
	rc.expect("PASS "+testPass, StatusUserLoggedIn)
	rc.expect("REIN", StatusServiceReady)
	rc.expect("USER "+testUser, StatusUserOK)
	rc.expect("PASS wrong", StatusServiceNotAvailable)
	requireClosed(t, rc)
}

func TestUnlimitedLoginFailures(t *testing.T) {
	s, drv := newFailuresServer(t, false, withSettings(func(settings *Settings) {
		settings.MaxLoginFailures = -1
		settings.LoginFailureDelay = -1
	}))
	rc := s.raw(t)

	for range 10 {
		rc.expect("USER "+testUser, StatusUserOK)
		rc.expect("PASS wrong", StatusNotLoggedIn)
	}

	rc.expect("USER "+testUser, StatusUserOK)
	rc.expect("PASS "+testPass, StatusUserLoggedIn)
	assert.Len(t, drv.failures.all(), 10)
}

// TestLoginFailureDelayGrows checks that the delay of a connection's failed logins doubles at
// each failure, with a driver that only records failures and with a filter asked at each USER
// and PASS (BanFilter), which leaves the growing delay as it is.
func TestLoginFailureDelayGrows(t *testing.T) {
	const base = 40 * time.Millisecond

	for _, tc := range []struct {
		name  string
		start func(t *testing.T, opts ...testOption) *testServer
	}{
		{"failures", func(t *testing.T, opts ...testOption) *testServer {
			t.Helper()

			s, _ := newFailuresServer(t, false, opts...)

			return s
		}},
		{"BanFilter", func(t *testing.T, opts ...testOption) *testServer {
			t.Helper()

			return newTestServerMain(t, func(d *testDriver) MainDriver {
				return &banDriver{testDriver: d, banAfter: 100}
			}, opts...)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.start(t, withSettings(func(settings *Settings) {
				settings.MaxLoginFailures = -1
				settings.LoginFailureDelay = base
			}))
			assertDelayDoubles(t, s.raw(t), base)
		})
	}
}

// assertDelayDoubles fails three logins on rc and checks that the reply to each came no sooner
// than base, then twice and four times base. A timer never fires early, so the lower bound is
// exact; there is no upper bound, the machine may be slow.
func assertDelayDoubles(t *testing.T, rc *rawClient, base time.Duration) {
	t.Helper()

	for failure := range 3 {
		rc.expect("USER "+testUser, StatusUserOK)

		start := time.Now()

		rc.expect("PASS wrong", StatusNotLoggedIn)
		assert.GreaterOrEqual(t, time.Since(start), base<<failure, "failure %d", failure+1)
	}
}

// failedLoginWaiting logs in with a wrong password on a server whose delay is long, and
// returns once the server is waiting to answer.
func failedLoginWaiting(t *testing.T, s *testServer, drv failuresDriver) *rawClient {
	t.Helper()

	rc := s.raw(t)
	rc.expect("USER "+testUser, StatusUserOK)
	rc.send("PASS wrong")

	select {
	case <-drv.called:
	case <-time.After(10 * time.Second):
		t.Fatal("LoginFailed was not called")
	}

	return rc
}

func longDelay(settings *Settings) {
	settings.LoginFailureDelay = time.Hour
	settings.MaxLoginFailureDelay = time.Hour
}

func TestLoginFailureDelayEndsOnStop(t *testing.T) {
	s, drv := newFailuresServer(t, false, withSettings(longDelay))
	rc := failedLoginWaiting(t, s, drv)

	stopped := make(chan error, 1)

	go func() { stopped <- s.Stop() }()

	select {
	case err := <-stopped:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Stop waited for the login failure delay")
	}

	requireClosed(t, rc)
}

func TestLoginFailureDelayEndsOnShutdown(t *testing.T) {
	s, drv := newFailuresServer(t, false, withSettings(longDelay))
	rc := failedLoginWaiting(t, s, drv)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	require.NoError(t, s.Shutdown(ctx), "Shutdown waited for the login failure delay")

	code, _ := rc.read()
	assert.Equal(t, StatusServiceNotAvailable, code)
	requireClosed(t, rc)
}

func TestLoginFailedHookClosesAtOnce(t *testing.T) {
	s, drv := newFailuresServer(t, true, withSettings(longDelay))
	rc := failedLoginWaiting(t, s, drv)
	requireClosed(t, rc)
}

// filterDriver refuses connections while refuse is set, and panics when panics is set.
type filterDriver struct {
	*testDriver

	calls  *recorder[net.Addr]
	refuse error
	panics bool
}

func (d filterDriver) AllowConnection(remote net.Addr) error {
	d.calls.add(remote)

	if d.panics {
		panic("filter bug")
	}

	return d.refuse
}

// readGreeting connects and returns the first reply, whatever its code.
func readGreeting(t *testing.T, addr string) (int, string) {
	t.Helper()

	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)

	rc := &rawClient{t: t, conn: conn, text: textproto.NewConn(conn)}
	t.Cleanup(func() { _ = rc.text.Close() })

	code, msg := rc.read()
	if code == StatusServiceNotAvailable {
		requireClosed(t, rc)
	}

	return code, msg
}

func TestConnectionFilter(t *testing.T) {
	tests := []struct {
		name   string
		refuse error
		panics bool
		code   int
		msg    string
	}{
		{"allowed", nil, false, StatusServiceReady, "ftpkit test server"},
		{"refused", errors.New("you are banned"), false, StatusServiceNotAvailable, "you are banned"},
		{"panicking", nil, true, StatusServiceNotAvailable, "connection refused"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := &recorder[net.Addr]{}
			s := newTestServerMain(t, func(d *testDriver) MainDriver {
				return filterDriver{testDriver: d, calls: calls, refuse: tt.refuse, panics: tt.panics}
			})

			for range 2 { // the second connection shows the accept loop survived the first
				code, msg := readGreeting(t, s.Addr())
				assert.Equal(t, tt.code, code)
				assert.Equal(t, tt.msg, msg)
			}

			require.Len(t, calls.all(), 2)

			remote, ok := calls.all()[0].(*net.TCPAddr)
			require.True(t, ok)
			assert.Equal(t, "127.0.0.1", remote.IP.String())

			if tt.code == StatusServiceNotAvailable {
				// A refused connection never reaches the driver's session callbacks.
				require.NoError(t, s.Stop())

				s.driver.mu.Lock()
				defer s.driver.mu.Unlock()

				assert.Zero(t, s.driver.connected)
				assert.Zero(t, s.driver.disconnected)
			}
		})
	}
}

// errTestBanned is what banDriver's filter answers once the address is banned.
var errTestBanned = errors.New("too many failed logins from your address")

// banDriver bans its clients' address (all tests come from 127.0.0.1) after banAfter failed
// logins over any number of connections, as the bundled server's ban list does, and counts
// the passwords AuthUser was asked to check.
type banDriver struct {
	*testDriver

	banAfter int

	mu       sync.Mutex
	failures int
	checked  int
}

func (d *banDriver) AllowConnection(net.Addr) error {
	d.mu.Lock()
	defer d.mu.Unlock()

	if d.failures >= d.banAfter {
		return errTestBanned
	}

	return nil
}

func (d *banDriver) LoginFailed(ClientContext, string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()

	d.failures++
}

func (d *banDriver) AuthUser(cc ClientContext, user, pass string) (ClientDriver, error) {
	d.mu.Lock()
	d.checked++
	d.mu.Unlock()

	return d.testDriver.AuthUser(cc, user, pass)
}

// TestBanReachesOpenConnections opens many connections before the first failed login, as a
// password guesser would to get MaxLoginFailures guesses on each, and checks that once the
// address is banned its open connections get 421 on their next USER or PASS and are closed,
// so the guesses stop at the ban threshold. A session already logged in is not a guesser and
// goes on.
func TestBanReachesOpenConnections(t *testing.T) {
	const (
		connections = 30
		banAfter    = 3
	)

	var drv *banDriver

	s := newTestServerMain(t, func(d *testDriver) MainDriver {
		drv = &banDriver{testDriver: d, banAfter: banAfter}

		return drv
	})

	loggedIn := s.rawLoggedIn(t)

	conns := make([]*rawClient, connections)
	for i := range conns {
		conns[i] = s.raw(t)
	}

	// The last connection sends its USER before the ban and its PASS after it.
	conns[connections-1].expect("USER "+testUser, StatusUserOK)

	for _, rc := range conns[:banAfter] {
		rc.expect("USER "+testUser, StatusUserOK)
		assert.Equal(t, "Login incorrect", rc.expect("PASS wrong", StatusNotLoggedIn))
	}

	// The connections that failed once are below their own limit, yet the ban closes them.
	for i, rc := range conns[:connections-1] {
		assert.Equal(t, errTestBanned.Error(), rc.expect("USER "+testUser, StatusServiceNotAvailable), "connection %d", i)
		requireClosed(t, rc)
	}

	last := conns[connections-1]
	assert.Equal(t, errTestBanned.Error(), last.expect("PASS "+testPass, StatusServiceNotAvailable),
		"even the right password is refused once banned")
	requireClosed(t, last)

	drv.mu.Lock()
	assert.Equal(t, 1+banAfter, drv.checked, "AuthUser checked one login and the guesses made before the ban")
	drv.mu.Unlock()

	code, msg := readGreeting(t, s.Addr())
	assert.Equal(t, StatusServiceNotAvailable, code)
	assert.Equal(t, errTestBanned.Error(), msg)

	loggedIn.expect("PWD", StatusPathCreated)
}

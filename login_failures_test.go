package ftpserver

import (
	"context"
	"errors"
	"io"
	"net"
	"net/textproto"
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

// requireClosed requires the server to have closed the raw client's connection.
func requireClosed(t *testing.T, rc *rawClient) {
	t.Helper()

	require.NoError(t, rc.conn.SetReadDeadline(time.Now().Add(5*time.Second)))

	_, err := rc.conn.Read(make([]byte, 1))
	require.ErrorIs(t, err, io.EOF)
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

func TestLoginFailureDelayGrows(t *testing.T) {
	const base = 40 * time.Millisecond

	s, _ := newFailuresServer(t, false, withSettings(func(settings *Settings) {
		settings.MaxLoginFailures = -1
		settings.LoginFailureDelay = base
	}))
	rc := s.raw(t)

	for failure := range 3 {
		rc.expect("USER "+testUser, StatusUserOK)

		start := time.Now()

		rc.expect("PASS wrong", StatusNotLoggedIn)
		// A timer never fires early, so the lower bound is exact; no upper bound, the machine
		// may be slow.
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
	case <-time.After(5 * time.Second):
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
	case <-time.After(5 * time.Second):
		t.Fatal("Stop waited for the login failure delay")
	}

	requireClosed(t, rc)
}

func TestLoginFailureDelayEndsOnShutdown(t *testing.T) {
	s, drv := newFailuresServer(t, false, withSettings(longDelay))
	rc := failedLoginWaiting(t, s, drv)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
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

package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/netip"
	"net/textproto"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ftpkit/ftpserver"
)

func TestBanList(t *testing.T) {
	t.Parallel()

	bans, clock := newTestBanList(3)
	attacker, other := tcpAddr("192.0.2.1"), tcpAddr("192.0.2.2")

	fail := func(addr net.Addr) { bans.LoginFailed(fakeClient{addr: addr}, "root", errBadCredentials) }

	fail(attacker)
	fail(attacker)
	require.NoError(t, bans.AllowConnection(attacker), "two failures are not a ban")

	// Failures older than the window are forgotten.
	clock.t = clock.t.Add(time.Minute)
	fail(attacker)
	require.NoError(t, bans.AllowConnection(attacker))

	fail(attacker)
	fail(attacker)
	require.ErrorIs(t, bans.AllowConnection(attacker), errBanned)
	require.NoError(t, bans.AllowConnection(other), "only the failing address is banned")

	// Another port of the same IP is the same client.
	require.ErrorIs(t, bans.AllowConnection(&net.TCPAddr{IP: attacker.IP, Port: 1}), errBanned)

	clock.t = clock.t.Add(10*time.Minute - time.Second)
	require.ErrorIs(t, bans.AllowConnection(attacker), errBanned)

	clock.t = clock.t.Add(time.Second)
	require.NoError(t, bans.AllowConnection(attacker), "the ban ends")

	// After a ban the count starts again.
	fail(attacker)
	require.NoError(t, bans.AllowConnection(attacker))
}

func TestBanListIPv6Network(t *testing.T) {
	t.Parallel()

	bans, _ := newTestBanList(2)
	bans.LoginFailed(fakeClient{addr: tcpAddr("2001:db8:1:2::1")}, "u", errBadCredentials)
	bans.LoginFailed(fakeClient{addr: tcpAddr("2001:db8:1:2:ffff::9")}, "u", errBadCredentials)

	require.ErrorIs(t, bans.AllowConnection(tcpAddr("2001:db8:1:2::77")), errBanned, "one /64 is one client")
	require.NoError(t, bans.AllowConnection(tcpAddr("2001:db8:1:3::1")))
	require.NoError(t, bans.AllowConnection(tcpAddr("192.0.2.1")))
}

func TestBanListBounded(t *testing.T) {
	t.Parallel()

	bans, clock := newTestBanList(2)

	for i := range maxTrackedAddrs + 10 {
		ip := net.IPv4(10, byte(i>>16), byte(i>>8), byte(i)).String()
		bans.LoginFailed(fakeClient{addr: tcpAddr(ip)}, "u", errBadCredentials)
	}

	bans.mu.Lock()
	tracked := len(bans.failures) + len(bans.banned)
	bans.mu.Unlock()
	assert.Equal(t, maxTrackedAddrs, tracked)

	// Once the old failures expire, new addresses are tracked again.
	clock.t = clock.t.Add(time.Hour)
	late := tcpAddr("192.0.2.9")
	bans.LoginFailed(fakeClient{addr: late}, "u", errBadCredentials)
	bans.LoginFailed(fakeClient{addr: late}, "u", errBadCredentials)
	require.ErrorIs(t, bans.AllowConnection(late), errBanned)
}

func TestBanListOff(t *testing.T) {
	t.Parallel()

	assert.Nil(t, newBanList(0, time.Minute, time.Minute, nil))
	assert.Nil(t, newBanList(3, time.Minute, 0, nil))

	drv := newTestDriver(t, "-ban-duration", "0")
	require.NoError(t, drv.AllowConnection(tcpAddr("192.0.2.1")))
	drv.LoginFailed(fakeClient{addr: tcpAddr("192.0.2.1")}, "u", errBadCredentials) // no panic on nil bans
}

func TestAbuseFlags(t *testing.T) {
	t.Parallel()

	settings, err := newTestDriver(t).GetSettings()
	require.NoError(t, err)
	assert.True(t, settings.AtomicUploads)
	assert.Equal(t, ftpserver.DefaultMaxLoginFailures, settings.MaxLoginFailures)
	assert.Equal(t, ftpserver.DefaultLoginFailureDelay, settings.LoginFailureDelay)

	settings, err = newTestDriver(t, "-max-login-failures", "0", "-login-failure-delay", "0").GetSettings()
	require.NoError(t, err)
	assert.Negative(t, settings.MaxLoginFailures, "0 on the command line is no limit")
	assert.Negative(t, settings.LoginFailureDelay, "0 on the command line is no delay")

	settings, err = newTestDriver(t, "-max-login-failures", "7", "-login-failure-delay", "250ms").GetSettings()
	require.NoError(t, err)
	assert.Equal(t, 7, settings.MaxLoginFailures)
	assert.Equal(t, 250*time.Millisecond, settings.LoginFailureDelay)

	for _, args := range [][]string{
		{"-ban-duration", "-1s"}, {"-ban-window", "-1m"}, {"-login-failure-delay", "-5ms"}, {"-ban-duration", "soon"},
	} {
		var stderr bytes.Buffer

		err := run(context.Background(), args, io.Discard, &stderr)
		require.ErrorIs(t, err, errUsage, "%v", args)
	}
}

// greeting returns the first reply of a new connection to addr.
func greeting(t *testing.T, addr string) (int, string) {
	t.Helper()

	raw, err := net.DialTimeout("tcp", addr, startTimeout)
	require.NoError(t, err)

	return readGreeting(t, raw)
}

func TestRunBansAfterFailedLogins(t *testing.T) {
	t.Parallel()

	// Loopback is exempt by default; both lists leave 127.0.0.1 bannable.
	for _, exempt := range []string{"", "10.0.0.0/8,::1"} {
		t.Run("exempt="+exempt, func(t *testing.T) {
			t.Parallel()

			srv := startRun(t, "-max-login-failures", "3", "-login-failure-delay", "1ms", "-ban-duration", "1h",
				"-ban-exempt", exempt)

			// Opened before the failures: the ban reaches it at its next USER.
			open := dialText(t, srv.addr)

			// Three failures on three connections: none reaches the per-connection limit.
			for range 3 {
				code, _ := greeting(t, srv.addr)
				require.Equal(t, ftpserver.StatusServiceReady, code)
				failLogin(t, srv.addr)
			}

			code, msg := greeting(t, srv.addr)
			assert.Equal(t, ftpserver.StatusServiceNotAvailable, code)
			assert.Equal(t, errBanned.Error(), msg)

			_, err := ftp.Dial(srv.addr, ftp.DialWithTimeout(startTimeout))
			require.Error(t, err, "a banned address cannot log in even with the right password")

			code, msg = textCmd(t, open, "USER test")
			assert.Equal(t, ftpserver.StatusServiceNotAvailable, code)
			assert.Equal(t, errBanned.Error(), msg)

			_, err = open.ReadLine()
			require.ErrorIs(t, err, io.EOF, "the server closes a banned connection")
		})
	}
}

func TestRunBanExemptsLoopback(t *testing.T) {
	t.Parallel()

	for _, exempt := range []string{"", "127.0.0.1", "127.0.0.0/8, 192.0.2.0/24"} {
		t.Run("exempt="+exempt, func(t *testing.T) {
			t.Parallel()

			args := []string{"-max-login-failures", "3", "-login-failure-delay", "1ms", "-ban-duration", "1h"}
			if exempt != "" {
				args = append(args, "-ban-exempt", exempt)
			}

			srv := startRun(t, args...)

			for range 6 {
				failLogin(t, srv.addr)
			}

			code, _ := greeting(t, srv.addr)
			assert.Equal(t, ftpserver.StatusServiceReady, code, "loopback is never banned")
			login(t, srv.addr)
		})
	}
}

func TestBanListExempt(t *testing.T) {
	t.Parallel()

	exempt, err := parseBanExempt(defaultBanExempt + ",192.0.2.7,2001:db8:1:2::5")
	require.NoError(t, err)

	bans, _ := newTestBanList(1)
	bans.exempt = exempt

	for _, ip := range []string{"127.0.0.1", "127.255.0.9", "::1", "::ffff:127.0.0.1", "192.0.2.7", "2001:db8:1:2::5"} {
		bans.LoginFailed(fakeClient{addr: tcpAddr(ip)}, "u", errBadCredentials)
		require.NoError(t, bans.AllowConnection(tcpAddr(ip)), "%s is exempt", ip)
	}

	// Its neighbours are not, and banning the /64 of one leaves the exempt address out.
	for _, ip := range []string{"128.0.0.1", "192.0.2.8", "::2", "2001:db8:1:2::6"} {
		bans.LoginFailed(fakeClient{addr: tcpAddr(ip)}, "u", errBadCredentials)
		require.ErrorIs(t, bans.AllowConnection(tcpAddr(ip)), errBanned, "%s is not exempt", ip)
	}

	require.NoError(t, bans.AllowConnection(tcpAddr("2001:db8:1:2::5")))
}

func TestBanExemptFlag(t *testing.T) {
	t.Parallel()

	cfg, err := parseFlags(nil, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
		cfg.banExempt)

	cfg, err = parseFlags([]string{"-ban-exempt", ""}, io.Discard)
	require.NoError(t, err)
	assert.Empty(t, cfg.banExempt)

	cfg, err = parseFlags([]string{"-ban-exempt", "10.1.2.3/8 , fd00::/8,192.0.2.1"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8"), netip.MustParsePrefix("192.0.2.1/32"),
	}, cfg.banExempt)

	for _, bad := range []string{"localhost", "10.0.0.0/33", "127.0.0.1/8/2"} {
		var stderr bytes.Buffer

		_, err := parseFlags([]string{"-ban-exempt", bad}, &stderr)
		require.ErrorIs(t, err, errUsage, bad)
		assert.Contains(t, stderr.String(), "-ban-exempt: ", bad)
	}
}

func TestRunClosesAfterMaxLoginFailures(t *testing.T) {
	t.Parallel()

	srv := startRun(t, "-max-login-failures", "2", "-login-failure-delay", "1ms", "-ban-duration", "0")

	conn, err := textproto.Dial("tcp", srv.addr)
	require.NoError(t, err)

	defer conn.Close()

	_, _, err = conn.ReadResponse(ftpserver.StatusServiceReady)
	require.NoError(t, err)

	for i, want := range []int{ftpserver.StatusNotLoggedIn, ftpserver.StatusServiceNotAvailable} {
		_, err = conn.Cmd("USER test")
		require.NoError(t, err)
		_, _, err = conn.ReadResponse(ftpserver.StatusUserOK)
		require.NoError(t, err)

		_, err = conn.Cmd("PASS wrong%d", i)
		require.NoError(t, err)
		_, _, err = conn.ReadResponse(want)
		require.NoError(t, err, "failure %d", i+1)
	}

	// -ban-duration 0: the address may come back at once.
	code, _ := greeting(t, srv.addr)
	assert.Equal(t, ftpserver.StatusServiceReady, code)
	login(t, srv.addr)
}

package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/jlaffaye/ftp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ftpkit/ftpserver"
)

// Log lines of the shared ban store the tests wait for.
const (
	logStoreDown = `msg="ban store unreachable`
	logStoreUp   = `msg="ban store reachable again`
)

// fleetNodeArgs are the flags of a node sharing its bans through store: three failed logins
// ban for an hour, loopback is not exempt, and the store has a generous timeout for a loaded
// machine.
func fleetNodeArgs(store *redisServer, extra ...string) []string {
	return append([]string{"-ban-store", store.url(), "-ban-store-timeout", "3s", "-ban-exempt", "",
		"-max-login-failures", "3", "-login-failure-delay", "1ms", "-ban-duration", "1h"}, extra...)
}

func TestBanStoreFlags(t *testing.T) {
	t.Parallel()

	cfg, err := parseFlags([]string{"-ban-store", "redis://user:secret@10.0.0.5:6380/2"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, defaultBanStorePrefix, cfg.banStore.prefix)
	assert.Equal(t, defaultBanStoreTimeout, cfg.banStore.timeout)

	opts, err := cfg.banStore.redisOptions()
	require.NoError(t, err)
	assert.Equal(t, "tcp 10.0.0.5:6380 db 2", describeStore(opts), "no credentials in the logs")
	assert.Equal(t, defaultBanStoreTimeout, opts.ReadTimeout, "the URL's timeouts give way to the flag's")

	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"-ban-store", "http://10.0.0.5:6379"}, "-ban-store: not a redis://"},
		{[]string{"-ban-store", "10.0.0.5:6379"}, "-ban-store: not a redis://"},
		{[]string{"-ban-store", "redis://10.0.0.5:6379/x"}, "-ban-store: not a redis://"},
		{[]string{"-ban-store", "redis://h:1", "-ban-store-timeout", "0s"}, "-ban-store-timeout: 0s is not positive"},
		{[]string{"-ban-store", "redis://h:1", "-ban-duration", "0"}, "-ban-store needs bans"},
		{[]string{"-ban-store", "redis://h:1", "-max-login-failures", "0"}, "-ban-store needs bans"},
	} {
		var stderr bytes.Buffer

		_, err := parseFlags(bad.args, &stderr)
		require.ErrorIs(t, err, errUsage, "%v", bad.args)
		assert.Contains(t, stderr.String(), bad.want, "%v", bad.args)
	}
}

// TestRunSharedBans runs two nodes over one Redis: failed logins from one address spread over
// both are counted together, and the ban they make refuses the address on both, at connect and
// at the next USER of a connection that was already open. The keys hold the ban for its
// duration.
func TestRunSharedBans(t *testing.T) {
	t.Parallel()

	store := startRedis(t)
	nodeA := startRun(t, fleetNodeArgs(store, "-metrics", "127.0.0.1:0")...)
	nodeB := startRun(t, fleetNodeArgs(store, "-metrics", "127.0.0.1:0")...)

	const guesser = "127.0.0.21"

	// Opened on B before the ban, by the guesser.
	dialer := dialTextFrom(t, nodeB.addr, guesser)

	// Two failures on A and one on B: neither node alone has seen three.
	failLogin(t, nodeA.addr, fromIP(guesser))
	failLogin(t, nodeA.addr, fromIP(guesser))
	code, _ := greetingFrom(t, nodeB.addr, guesser)
	require.Equal(t, ftpserver.StatusServiceReady, code, "two failures are no ban")
	failLogin(t, nodeB.addr, fromIP(guesser))

	ttl := store.pttl(t, defaultBanStorePrefix+"ban:"+guesser)
	assert.Greater(t, ttl, 59*time.Minute, "the ban lasts -ban-duration")
	assert.LessOrEqual(t, ttl, time.Hour)
	assert.Equal(t, time.Duration(-2), store.pttl(t, defaultBanStorePrefix+"fail:"+guesser),
		"the count is dropped once it bans")

	for _, node := range []*runningServer{nodeA, nodeB} {
		refused, msg := greetingFrom(t, node.addr, guesser)
		assert.Equal(t, ftpserver.StatusServiceNotAvailable, refused)
		assert.Equal(t, errBanned.Error(), msg)
	}

	code, msg := textCmd(t, dialer, "USER test")
	assert.Equal(t, ftpserver.StatusServiceNotAvailable, code, "the open connection is refused at its next USER")
	assert.Equal(t, errBanned.Error(), msg)

	_, err := ftp.Dial(nodeA.addr, fromIP(guesser))
	require.Error(t, err, "a banned address cannot log in even with the right password")

	// Another address is served on both.
	for _, node := range []*runningServer{nodeA, nodeB} {
		conn, err := ftp.Dial(node.addr, fromIP("127.0.0.22"))
		require.NoError(t, err)
		require.NoError(t, conn.Login("test", "test"))
		require.NoError(t, conn.Quit())
	}

	// B's count made the ban, A learned it.
	for _, node := range []struct {
		srv           *runningServer
		made, learned string
	}{{nodeA, "0", "1"}, {nodeB, "1", "0"}} {
		url, found := strings.CutPrefix(nextLine(t, node.srv.stdout), "metrics on ")
		require.True(t, found, "no metrics line")

		body := scrape(t, url)
		for _, want := range []string{
			"ftpserver_ban_store_up 1",
			`ftpserver_fleet_bans_total{origin="made"} ` + node.made,
			`ftpserver_fleet_bans_total{origin="learned"} ` + node.learned,
		} {
			assert.Contains(t, body, "\n"+want+"\n", "metrics:\n%s", body)
		}
	}
}

// TestRunSharedBansExempt: the failures of an exempt address (loopback by default) are not
// counted in the store either.
func TestRunSharedBansExempt(t *testing.T) {
	t.Parallel()

	store := startRedis(t)
	node := startRun(t, "-ban-store", store.url(), "-max-login-failures", "3", "-login-failure-delay", "1ms")

	for range 4 {
		failLogin(t, node.addr)
	}

	keys, err := store.client.Keys(context.Background(), "*").Result()
	require.NoError(t, err)
	assert.Empty(t, keys, "nothing counted for loopback")
	login(t, node.addr)
}

// TestRunSharedBansStoreDown stops the store under two nodes: they log it once, keep serving
// logins, and ban on their own; once the store is back they log that and share bans again.
func TestRunSharedBansStoreDown(t *testing.T) {
	t.Parallel()

	store := startRedis(t)
	logA, logB := newLogWatch(), newLogWatch()
	nodeA := startRunLogging(t, logA, fleetNodeArgs(store, "-metrics", "127.0.0.1:0")...)
	nodeB := startRunLogging(t, logB, fleetNodeArgs(store)...)

	metricsA, found := strings.CutPrefix(nextLine(t, nodeA.stdout), "metrics on ")
	require.True(t, found, "no metrics line")
	assert.Contains(t, scrape(t, metricsA), "\nftpserver_ban_store_up 1\n")

	_ = store.kill()
	logA.waitFor(t, logStoreDown)
	logB.waitFor(t, logStoreDown)
	assert.Contains(t, scrape(t, metricsA), "\nftpserver_ban_store_up 0\n")

	// Logins go on, without waiting for the store.
	for _, node := range []*runningServer{nodeA, nodeB} {
		for range 3 {
			conn, err := ftp.Dial(node.addr, fromIP("127.0.0.31"))
			require.NoError(t, err)
			require.NoError(t, conn.Login("test", "test"))
			require.NoError(t, conn.Quit())
		}
	}

	// A's own count bans on A alone.
	const guesser = "127.0.0.32"

	for range 3 {
		failLogin(t, nodeA.addr, fromIP(guesser))
	}

	code, msg := greetingFrom(t, nodeA.addr, guesser)
	assert.Equal(t, ftpserver.StatusServiceNotAvailable, code, "local bans apply while the store is down")
	assert.Equal(t, errBanned.Error(), msg)

	code, _ = greetingFrom(t, nodeB.addr, guesser)
	assert.Equal(t, ftpserver.StatusServiceReady, code, "B did not hear of A's ban")

	assert.Equal(t, 1, logA.count(logStoreDown), "one warning, not one per connection:\n%s", logA)
	assert.Equal(t, 1, logB.count(logStoreDown), "one warning, not one per connection:\n%s", logB)

	store.restart(t)
	logA.waitFor(t, logStoreUp)
	logB.waitFor(t, logStoreUp)
	assert.Contains(t, scrape(t, metricsA), "\nftpserver_ban_store_up 1\n")

	// Shared again: failures on both nodes add up to a ban on both.
	const another = "127.0.0.33"

	failLogin(t, nodeA.addr, fromIP(another))
	failLogin(t, nodeB.addr, fromIP(another))
	failLogin(t, nodeA.addr, fromIP(another))

	for _, node := range []*runningServer{nodeA, nodeB} {
		refused, text := greetingFrom(t, node.addr, another)
		assert.Equal(t, ftpserver.StatusServiceNotAvailable, refused)
		assert.Equal(t, errBanned.Error(), text)
	}
}

// TestBanStoreResync: a node that starts, or comes back, reads the bans already in the store,
// so its connection filter refuses them without asking the store.
func TestBanStoreResync(t *testing.T) {
	t.Parallel()

	store := startRedis(t)
	ctx := context.Background()

	require.NoError(t, store.client.Set(ctx, "fleet1:ban:192.0.2.9", "node", time.Hour).Err())
	require.NoError(t, store.client.Set(ctx, "fleet1:ban:2001:db8:1:2::/64", "node", time.Hour).Err())
	require.NoError(t, store.client.Set(ctx, "fleet2:ban:192.0.2.10", "node", time.Hour).Err())
	require.NoError(t, store.client.Set(ctx, "fleet1:ban:not-an-address", "node", time.Hour).Err())

	drv := newTestDriver(t, fleetNodeArgs(store, "-ban-store-prefix", "fleet1:")...)
	require.NoError(t, drv.shareBans(log.NewNopLogger()))
	require.NoError(t, drv.sharedBans.resync(ctx))

	require.ErrorIs(t, drv.AllowConnection(tcpAddr("192.0.2.9")), errBanned)
	require.ErrorIs(t, drv.AllowConnection(tcpAddr("2001:db8:1:2::77")), errBanned)
	require.NoError(t, drv.AllowConnection(tcpAddr("192.0.2.10")), "another fleet's ban")
	require.NoError(t, drv.AllowConnection(tcpAddr("192.0.2.11")))
}

func TestBanStoreLearn(t *testing.T) {
	t.Parallel()

	for _, payload := range []string{
		"", "192.0.2.1", "192.0.2.1 x n2", "192.0.2.1 0 n2", "192.0.2.1 -5 n2", "host 1000 n2",
		"192.0.2.1  1000 n2", "192.0.2.1 1000", "192.0.2.1 1000 n2 x", "192.0.2.1 1000 n1",
	} {
		s := &banStore{local: newBanList(3, time.Minute, time.Hour, nil), id: "n1"}
		s.learnAnnounced(payload)
		assert.Empty(t, s.local.banned, "%q", payload)
	}

	s := &banStore{local: newBanList(3, time.Minute, time.Hour, nil), id: "n1"}
	before := time.Now()
	s.learnAnnounced("192.0.2.1 60000 n2")
	after := time.Now()
	require.ErrorIs(t, s.local.AllowConnection(tcpAddr("192.0.2.1")), errBanned)
	// The ban ends a minute after it was learned, however long learning it took.
	assert.WithinRange(t, s.local.banned["192.0.2.1"], before.Add(time.Minute), after.Add(time.Minute))

	// A shorter ban learned later does not shorten it.
	s.learnAnnounced("192.0.2.1 1 n2")
	assert.WithinRange(t, s.local.banned["192.0.2.1"], before.Add(time.Minute), after.Add(time.Minute))
}

func FuzzBanStoreLearn(f *testing.F) {
	for _, seed := range []string{"192.0.2.1 60000 n2", "2001:db8::/64 1 n2", "x y", ""} {
		f.Add(seed)
	}

	f.Fuzz(func(t *testing.T, payload string) {
		s := &banStore{local: newBanList(3, time.Minute, time.Hour, nil)}
		s.learnAnnounced(payload)

		for ip := range s.local.banned {
			require.True(t, isAddrKey(ip), "%q banned from %q", ip, payload)
		}
	})
}

// TestBanStoreCheck: a ban written in the store by another node is found by asking it, before
// any announcement, and kept in the node's list; an exempt address is not asked about.
func TestBanStoreCheck(t *testing.T) {
	t.Parallel()

	store := startRedis(t)
	drv := newTestDriver(t, fleetNodeArgs(store, "-ban-exempt", "192.0.2.0/28")...)
	require.NoError(t, drv.shareBans(log.NewNopLogger()))

	ctx := context.Background()
	for _, ip := range []string{"192.0.2.20", "192.0.2.1"} {
		require.NoError(t, store.client.Set(ctx, defaultBanStorePrefix+"ban:"+ip, "node", time.Hour).Err())
	}

	require.ErrorIs(t, drv.sharedBans.check(tcpAddr("192.0.2.20")), errBanned)
	require.ErrorIs(t, drv.AllowConnection(tcpAddr("192.0.2.20")), errBanned, "kept by the node")
	require.NoError(t, drv.sharedBans.check(tcpAddr("192.0.2.1")), "exempt")
	require.NoError(t, drv.sharedBans.check(tcpAddr("192.0.2.21")))

	_, err := drv.AuthUser(fakeClient{addr: tcpAddr("192.0.2.20")}, "test", "test")
	require.ErrorIs(t, err, errBanned, "the right password does not lift a fleet ban")
}

// TestRunSharedBansSilentStore points a node at a store that accepts connections and never
// answers: logins still succeed, each waiting at most -ban-store-timeout, and the node says
// once that it counts alone.
func TestRunSharedBansSilentStore(t *testing.T) {
	t.Parallel()

	silent, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)

	accepted := make(chan []net.Conn, 1)

	go func() {
		var conns []net.Conn

		for {
			conn, err := silent.Accept()
			if err != nil {
				accepted <- conns

				return
			}

			conns = append(conns, conn)
		}
	}()

	t.Cleanup(func() {
		_ = silent.Close()

		for _, conn := range <-accepted {
			_ = conn.Close()
		}
	})

	logs := newLogWatch()
	node := startRunLogging(t, logs, "-ban-store", "redis://"+silent.Addr().String(), "-ban-store-timeout", "200ms",
		"-ban-exempt", "")

	for range 3 {
		conn := dialText(t, node.addr)
		requireCommands(t, conn, "USER test", "PASS test", "QUIT")
	}

	logs.waitFor(t, logStoreDown)
	assert.Equal(t, 1, logs.count(logStoreDown), logs.String())
}

// TestBanUntilBounded: bans learned from the store count against the same bound as the node's
// own, and a ban learned for an address the node was counting replaces its count.
func TestBanUntilBounded(t *testing.T) {
	t.Parallel()

	bans, clock := newTestBanList(3)
	counted := tcpAddr("192.0.2.1")
	bans.LoginFailed(fakeClient{addr: counted}, "u", errBadCredentials)

	for i := range maxTrackedAddrs + 10 {
		bans.banUntil(net.IPv4(10, byte(i>>16), byte(i>>8), byte(i)).String(), clock.t.Add(time.Minute))
	}

	bans.mu.Lock()
	assert.Len(t, bans.banned, maxTrackedAddrs-1, "the bound holds")
	bans.mu.Unlock()

	bans.banUntil("192.0.2.1", clock.t.Add(time.Minute))
	require.ErrorIs(t, bans.AllowConnection(counted), errBanned, "an address already tracked takes no more room")

	bans.mu.Lock()
	assert.NotContains(t, bans.failures, "192.0.2.1")
	bans.mu.Unlock()

	// Once they expire, new bans are kept again.
	clock.t = clock.t.Add(time.Minute)
	bans.banUntil("192.0.2.2", clock.t.Add(time.Minute))
	require.ErrorIs(t, bans.AllowConnection(tcpAddr("192.0.2.2")), errBanned)
}

// BenchmarkBanStore measures what -ban-store adds to a connection and to a failed login, on a
// redis-server on loopback: the check at connect (and before the password), and the count of a
// failure.
func BenchmarkBanStore(b *testing.B) {
	store := startRedis(b)

	opts := &banStoreOptions{url: store.url(), prefix: "bench:", timeout: 5 * time.Second}
	bans := newBanList(1<<30, time.Hour, time.Hour, nil)

	shared, err := newBanStore(opts, bans, "bench", log.NewNopLogger())
	require.NoError(b, err)
	b.Cleanup(func() { _ = shared.close() })

	b.Run("check", func(b *testing.B) {
		for b.Loop() {
			if err := shared.check(tcpAddr("192.0.2.1")); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("countFailure", func(b *testing.B) {
		for b.Loop() {
			shared.countFailure(tcpAddr("192.0.2.2"))
		}
	})

	require.True(b, shared.isUp(), "the store answered every call")
}

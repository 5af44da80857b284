package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Timing of the shared ban store: how often the link to it is checked while it answers, how
// soon it is tried again once it does not, and how often a store that stays unreachable is
// logged again.
const (
	banStorePingEvery  = time.Second
	banStoreRetryEvery = time.Second
	banStoreWarnEvery  = time.Minute
)

// banStoreResyncTimeouts is how many -ban-store-timeout a resync of the bans may take: it
// reads every ban key, in pages.
const banStoreResyncTimeouts = 10

// banStoreScanPage is how many keys one SCAN of a resync asks for.
const banStoreScanPage = 256

// Key names in the store, after -ban-store-prefix.
const (
	banStoreFailKey = "fail:" // + address key: the failures counted in the window, expiring with it
	banStoreBanKey  = "ban:"  // + address key: a ban, expiring with it
	banStoreChannel = "bans"  // the channel on which each new ban is announced: "KEY MILLISECONDS NODE-ID"
)

// countFailureScript counts one failure of an address in KEYS[1], which expires ARGV[1]
// milliseconds after the first failure of its window; at the ARGV[2]th it deletes the count,
// writes the ban KEYS[2] (value ARGV[4], expiring after ARGV[3] milliseconds) and announces it
// on channel ARGV[5]. It returns the count, or 0 when it banned. One script, so that two nodes
// counting the same address at once neither lose a failure nor ban twice.
var countFailureScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then
	redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
if n < tonumber(ARGV[2]) then
	return n
end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[3])
redis.call('PUBLISH', ARGV[5], ARGV[6])
return 0
`)

// errBanStoreURL is wrapped by the errors of a -ban-store that is not a store's URL.
var errBanStoreURL = errors.New("not a redis://, rediss:// or unix:// URL")

// banStore shares the bans of the fleet through Redis (or Valkey): every node counts the failed
// logins of an address in one counter, and the node whose count reaches -max-login-failures
// writes the ban, which every node then applies. Each node keeps the bans it learns in its own
// ban list, where AllowConnection finds them without asking the store; the store is asked at
// each new connection and before each password is checked, so that a ban another node has just
// made is applied even before its announcement arrives.
//
// When the store does not answer within -ban-store-timeout, the node fails open: it counts and
// bans on its own, as without -ban-store, logs a warning (one per banStoreWarnEvery while it
// lasts), and stops asking the store until the link works again, which a goroutine checks every
// second; it then reads the store's bans and shares again.
type banStore struct {
	client  *redis.Client
	prefix  string
	timeout time.Duration
	where   string   // the store's address, without credentials, for the logs
	node    string   // written as the value of the bans this node makes
	id      string   // random, in the announcements of this node's bans, so it skips its own
	local   *banList // the node's ban list, which also holds the bans learned from the store
	logger  log.Logger

	mu       sync.Mutex
	up       bool      // the store answered last time it was asked
	warnedAt time.Time // when the last "unreachable" warning was logged
	warned   bool      // the store's going down was logged, so its coming back is too

	made    atomic.Int64 // bans this node made for the fleet
	learned atomic.Int64 // addresses banned on this node by a ban read from the store

	stop context.CancelFunc
	done chan struct{} // closed when the follow goroutine has ended
}

// banStoreOptions are the -ban-store-* flags.
type banStoreOptions struct {
	url     string // "": bans are not shared
	prefix  string
	timeout time.Duration
}

// redisOptions parses url as go-redis does, then puts the bounds of -ban-store-timeout in
// place of any in the URL, so that no login waits longer on the store.
func (o *banStoreOptions) redisOptions() (*redis.Options, error) {
	if !strings.HasPrefix(o.url, "redis://") && !strings.HasPrefix(o.url, "rediss://") &&
		!strings.HasPrefix(o.url, "unix://") {
		return nil, errBanStoreURL
	}

	opts, err := redis.ParseURL(o.url)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errBanStoreURL, err)
	}

	opts.DialTimeout = o.timeout
	opts.ReadTimeout = o.timeout
	opts.WriteTimeout = o.timeout
	opts.PoolTimeout = o.timeout
	opts.ContextTimeoutEnabled = true
	opts.MaxRetries = -1   // no retry: a failure makes the node fail open at once
	opts.DialerRetries = 1 // go-redis's 0 means its default of 5
	opts.Protocol = 2      // RESP2: what every Redis and Valkey speaks
	opts.DisableIdentity = true
	opts.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}

	return opts, nil
}

// describeStore names the store for the logs: its network, address and database,
// without the credentials of the URL.
func describeStore(opts *redis.Options) string {
	return fmt.Sprintf("%s %s db %d", opts.Network, opts.Addr, opts.DB)
}

// newBanStore connects the node to the store of opts, sharing the bans of local, and starts
// following the bans the fleet announces. A store that does not answer now is not an error: the
// node starts failing open and logs it. close ends it.
func newBanStore(opts *banStoreOptions, local *banList, node string, logger log.Logger) (*banStore, error) {
	redisOpts, err := opts.redisOptions()
	if err != nil {
		return nil, fmt.Errorf("-ban-store: %w", err)
	}

	setRedisLogger(logger)

	ctx, cancel := context.WithCancel(context.Background())
	s := &banStore{
		client:  redis.NewClient(redisOpts),
		prefix:  opts.prefix,
		timeout: opts.timeout,
		where:   describeStore(redisOpts),
		node:    node,
		id:      rand.Text(),
		local:   local,
		logger:  logger,
		stop:    cancel,
		done:    make(chan struct{}),
	}

	// One try before the first client, so that a store that answers serves it.
	if pingErr := s.ping(ctx); pingErr != nil {
		s.failed(pingErr)
	} else {
		s.setUp()
	}

	go s.follow(ctx)

	return s, nil
}

// close stops following the store and closes the link to it.
func (s *banStore) close() error {
	s.stop()
	<-s.done

	if err := s.client.Close(); err != nil {
		return fmt.Errorf("closing the ban store: %w", err)
	}

	return nil
}

// ping asks the store for a reply within the timeout.
func (s *banStore) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()

	if err := s.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ban store %s: %w", s.where, err)
	}

	return nil
}

// isUp tells whether the store is to be asked.
func (s *banStore) isUp() bool {
	s.mu.Lock()
	defer s.mu.Unlock()

	return s.up
}

// failed marks the store down after err, logging it unless it was logged less than
// banStoreWarnEvery ago.
func (s *banStore) failed(err error) {
	now := time.Now()

	s.mu.Lock()
	wasUp := s.up
	s.up = false
	logIt := s.warnedAt.IsZero() || now.Sub(s.warnedAt) >= banStoreWarnEvery

	if logIt {
		s.warnedAt = now
		s.warned = true
	}
	s.mu.Unlock()

	if logIt {
		_ = level.Warn(s.logger).Log(
			"msg", "ban store unreachable: bans are counted on this node only until it answers",
			"store", s.where, "was_up", wasUp, "err", err)
	}
}

// setUp marks the store up, logging its return when its going down was logged.
func (s *banStore) setUp() {
	s.mu.Lock()
	wasUp := s.up
	logIt := !wasUp && s.warned
	s.up = true
	s.warned = false
	s.mu.Unlock()

	if logIt {
		_ = level.Warn(s.logger).Log("msg", "ban store reachable again: bans are shared", "store", s.where)
	}
}

// call runs op with the timeout while the store is up; an error marks the store down and is
// returned. A store already down is not asked: call returns errBanStoreDown at once.
func (s *banStore) call(op func(ctx context.Context) error) error {
	if !s.isUp() {
		return errBanStoreDown
	}

	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()

	if err := op(ctx); err != nil {
		s.failed(err)

		return err
	}

	return nil
}

// errBanStoreDown is returned for a store not asked because it did not answer last time.
var errBanStoreDown = errors.New("ban store unreachable")

// check refuses an address the fleet has banned, asking the store: a ban found there is also
// kept in the node's list, so the next connections are refused without asking. An exempt
// address, or any address while the store is down, is allowed.
func (s *banStore) check(remote net.Addr) error {
	if s.local.exempted(remote) {
		return nil
	}

	ip := addrIP(remote)

	var ttl time.Duration

	err := s.call(func(ctx context.Context) error {
		var err error

		ttl, err = s.client.PTTL(ctx, s.prefix+banStoreBanKey+ip).Result()
		if err != nil {
			return fmt.Errorf("reading the ban of %s: %w", ip, err)
		}

		return nil
	})
	if err != nil || ttl <= 0 {
		// Missing (-2) or, written by hand, without expiry (-1): no ban of this fleet's.
		return nil
	}

	s.learn(ip, ttl)

	return errBanned
}

// countFailure counts a failed login of remote in the store, banning it for the fleet at the
// local list's limit; it does nothing for an exempt address or while the store is down.
func (s *banStore) countFailure(remote net.Addr) {
	if s.local.exempted(remote) {
		return
	}

	ip := addrIP(remote)
	duration := s.local.duration.Milliseconds()

	var count int64

	err := s.call(func(ctx context.Context) error {
		var err error

		count, err = countFailureScript.Run(ctx, s.client,
			[]string{s.prefix + banStoreFailKey + ip, s.prefix + banStoreBanKey + ip},
			s.local.window.Milliseconds(), s.local.maxFailures, duration, s.node,
			s.prefix+banStoreChannel, ip+" "+strconv.FormatInt(duration, 10)+" "+s.id).Int64()
		if err != nil {
			return fmt.Errorf("counting a failure of %s: %w", ip, err)
		}

		return nil
	})
	if err == nil && count == 0 {
		s.local.banUntil(ip, s.local.now().Add(s.local.duration))
		s.made.Add(1)
		_ = level.Warn(s.logger).Log("msg", "address banned for the fleet", "addr", ip,
			"duration", s.local.duration)
	}
}

// follow keeps the node subscribed to the bans the fleet announces until ctx is done: once
// subscribed it reads the bans already in the store, then applies each announced one; when the
// link fails it marks the store down and tries again every banStoreRetryEvery.
func (s *banStore) follow(ctx context.Context) {
	defer close(s.done)

	for {
		err := s.subscribe(ctx)
		if ctx.Err() != nil {
			return
		}

		s.failed(err)

		select {
		case <-ctx.Done():
			return
		case <-time.After(banStoreRetryEvery):
		}
	}
}

// subscribe follows the channel of bans over one connection, until it fails or ctx is done.
// A PING every banStorePingEvery without a message proves the link; one left unanswered for as
// long fails it.
func (s *banStore) subscribe(ctx context.Context) error {
	pubsub := s.client.Subscribe(ctx)
	defer func() { _ = pubsub.Close() }()

	stopOnDone := context.AfterFunc(ctx, func() { _ = pubsub.Close() })
	defer stopOnDone()

	if err := pubsub.Subscribe(ctx, s.prefix+banStoreChannel); err != nil {
		return fmt.Errorf("subscribing: %w", err)
	}

	// The subscription is confirmed before the bans are read, so none made in between is missed.
	if _, err := pubsub.ReceiveTimeout(ctx, s.timeout); err != nil {
		return fmt.Errorf("subscribing: %w", err)
	}

	if err := s.resync(ctx); err != nil {
		return err
	}

	s.setUp()

	pinged := false

	for {
		msg, err := pubsub.ReceiveTimeout(ctx, banStorePingEvery)

		var netErr net.Error

		switch {
		case err == nil:
		case errors.As(err, &netErr) && netErr.Timeout() && !pinged:
			if pingErr := pubsub.Ping(ctx); pingErr != nil {
				return fmt.Errorf("pinging: %w", pingErr)
			}

			pinged = true

			continue
		default:
			return fmt.Errorf("receiving: %w", err)
		}

		pinged = false

		switch m := msg.(type) {
		case *redis.Message:
			s.learnAnnounced(m.Payload)
		case *redis.Pong:
			// The store answers again after calls failed while this link held.
			if !s.isUp() {
				if err := s.resync(ctx); err != nil {
					return err
				}

				s.setUp()
			}
		}
	}
}

// learn bans ip on this node for ttl, a ban read from the store, counting it when it is new here.
func (s *banStore) learn(ip string, ttl time.Duration) {
	if s.local.banUntil(ip, s.local.now().Add(ttl)) {
		s.learned.Add(1)
	}
}

// learnAnnounced applies a ban another node announced, "KEY MILLISECONDS NODE-ID"; this node's
// own, which it applied when it made it, and anything else are ignored.
func (s *banStore) learnAnnounced(payload string) {
	fields := strings.Split(payload, " ")
	if len(fields) != 3 || fields[2] == s.id || !isAddrKey(fields[0]) {
		return
	}

	ip, millis := fields[0], fields[1]

	ms, err := strconv.ParseInt(millis, 10, 64)
	if err != nil || ms <= 0 {
		return
	}

	s.learn(ip, time.Duration(ms)*time.Millisecond)
}

// isAddrKey tells whether key is one addrIP gives: an IP address or an IPv6 /64 network.
func isAddrKey(key string) bool {
	if _, err := netip.ParseAddr(key); err == nil {
		return true
	}

	_, err := netip.ParsePrefix(key)

	return err == nil
}

// resync reads every ban of the store into the node's list: those made while the node was not
// subscribed. It reads at most maxTrackedAddrs keys.
func (s *banStore) resync(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, banStoreResyncTimeouts*s.timeout)
	defer cancel()

	pattern := s.prefix + banStoreBanKey + "*"

	var (
		cursor uint64
		seen   int
	)

	for seen < maxTrackedAddrs {
		keys, next, err := s.client.Scan(ctx, cursor, pattern, banStoreScanPage).Result()
		if err != nil {
			return fmt.Errorf("reading the bans: %w", err)
		}

		if err := s.learnKeys(ctx, keys); err != nil {
			return err
		}

		seen += len(keys)
		cursor = next

		if cursor == 0 {
			break
		}
	}

	return nil
}

// learnKeys applies the bans of keys, ban keys of the store, reading their time left at once.
func (s *banStore) learnKeys(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}

	pipe := s.client.Pipeline()
	ttls := make([]*redis.DurationCmd, len(keys))

	for i, key := range keys {
		ttls[i] = pipe.PTTL(ctx, key)
	}

	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("reading the bans: %w", err)
	}

	for i, key := range keys {
		ip := strings.TrimPrefix(key, s.prefix+banStoreBanKey)
		if ttl := ttls[i].Val(); ttl > 0 && isAddrKey(ip) {
			s.learn(ip, ttl)
		}
	}

	return nil
}

// redisLoggerOnce sets go-redis's logger once per process: it is global to the package.
var redisLoggerOnce sync.Once

// setRedisLogger sends go-redis's own messages (reconnections, for example) to logger at debug
// level: the store's state is logged by banStore itself.
func setRedisLogger(logger log.Logger) {
	redisLoggerOnce.Do(func() { redis.SetLogger(redisLogger{logger}) })
}

// redisLogger is go-redis's logger over a go-kit one.
type redisLogger struct{ logger log.Logger }

// Printf logs a go-redis message at debug level.
func (l redisLogger) Printf(_ context.Context, format string, v ...any) {
	_ = level.Debug(l.logger).Log("msg", fmt.Sprintf(format, v...), "component", "redis")
}

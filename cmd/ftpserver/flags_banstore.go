package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of the shared ban store flags.
const (
	defaultBanStorePrefix = "ftpkit:"
	// defaultBanStoreTimeout bounds each question to the store: a store on the same network
	// answers in a millisecond, and a login never waits longer than this on one that does not.
	defaultBanStoreTimeout = 500 * time.Millisecond
)

// registerBanStoreFlags adds -ban-store, -ban-store-prefix and -ban-store-timeout.
func registerBanStoreFlags(flags *flag.FlagSet, opts *banStoreOptions) {
	flags.StringVar(&opts.url, "ban-store", "",
		"share failed-login counts and bans with the other servers of a fleet through the Redis or Valkey at `URL`, "+
			"redis://[user:pass@]host:port[/db] (or rediss://, unix://); when it does not answer, bans are counted "+
			"on this server alone until it does (default: bans are this server's own)")
	flags.StringVar(&opts.prefix, "ban-store-prefix", defaultBanStorePrefix,
		"`PREFIX` of the keys and channel of -ban-store, the same on every server of one fleet")
	flags.DurationVar(&opts.timeout, "ban-store-timeout", defaultBanStoreTimeout,
		"`D` each question to -ban-store may take before the server counts bans alone")
}

// validateBanStore checks the -ban-store-* flags: a URL the store's client reads, and bans on.
func (cfg *config) validateBanStore() error {
	if cfg.banStore.url == "" {
		return nil
	}

	if cfg.banStore.timeout <= 0 {
		return fmt.Errorf("-ban-store-timeout: %s is not positive", cfg.banStore.timeout)
	}

	if _, err := cfg.banStore.redisOptions(); err != nil {
		return fmt.Errorf("-ban-store: %w", err)
	}

	if cfg.maxLoginFailures <= 0 || cfg.banDuration <= 0 || cfg.banWindow <= 0 {
		return errors.New("-ban-store needs bans: -max-login-failures, -ban-window and -ban-duration above 0")
	}

	return nil
}

// newSharingDriver builds the driver for cfg, with its event logs open (newLoggingDriver), and
// connects it to -ban-store, if given.
func newSharingDriver(cfg *config, logger log.Logger) (*driver, error) {
	drv, err := newLoggingDriver(cfg, logger)
	if err != nil {
		return nil, err
	}

	if err := drv.shareBans(logger); err != nil {
		_ = drv.Close()

		return nil, err
	}

	return drv, nil
}

// shareBans connects the driver's ban list to -ban-store, when given, logging the store's state
// to logger.
func (d *driver) shareBans(logger log.Logger) error {
	if d.cfg.banStore.url == "" || d.bans == nil {
		return nil
	}

	node, err := os.Hostname()
	if err != nil {
		node = "ftpserver"
	}

	store, err := newBanStore(&d.cfg.banStore, d.bans, node+" "+d.cfg.listen, logger)
	if err != nil {
		return err
	}

	d.sharedBans = store

	return nil
}

// register adds the shared ban store's metrics to registry: whether the store answers, the bans
// this node made for the fleet, and those it learned from the store. Nothing without -ban-store
// (s nil).
func (s *banStore) register(registry *prometheus.Registry) {
	if s == nil {
		return
	}

	registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "ftpserver_ban_store_up",
		Help: "1 while the -ban-store answers and bans are shared, 0 while this server bans alone.",
	}, func() float64 {
		if s.isUp() {
			return 1
		}

		return 0
	}))

	for origin, count := range map[string]*atomic.Int64{"made": &s.made, "learned": &s.learned} {
		registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "ftpserver_fleet_bans_total",
			Help:        "Bans through -ban-store: made by this server's count, or learned from the store.",
			ConstLabels: prometheus.Labels{"origin": origin},
		}, func() float64 { return float64(count.Load()) }))
	}
}

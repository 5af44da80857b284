// Command ftpserver runs the ftpkit FTP server: one user, or with -users the users of a file,
// each in its home, on an in-memory file system (the default, emptied at exit), a directory of
// this machine (-root) or an S3 bucket (-s3-bucket).
//
//	go run ./cmd/ftpserver                       # 127.0.0.1:2121, user test, password test
//	go run ./cmd/ftpserver -root /tmp/ftp -root-create -debug
//	go run ./cmd/ftpserver -root /srv/ftp -users /etc/ftpkit/users
//
// SIGHUP reloads what can be reloaded: the -users file and the -cert/-key pair; it never stops
// the server. The server stops on SIGINT or SIGTERM: it stops accepting clients, gives running
// transfers up to ten seconds to end, then closes every connection and exits 0. A second signal
// kills it at once.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/ftpkit/ftpserver"
)

// shutdownTimeout bounds how long running transfers may go on after a stop signal.
const shutdownTimeout = 10 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// Once the first signal has arrived, restore the default handling so that a second one
	// ends the process without waiting for the graceful shutdown.
	context.AfterFunc(ctx, stop)

	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)

	stop()

	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, errUsage):
		os.Exit(2) // parseFlags has said why
	default:
		fmt.Fprintln(os.Stderr, "ftpserver:", err)
		os.Exit(1)
	}
}

// run starts the server described by args, prints where it listens and how to log in to stdout,
// and serves until ctx is done; then it shuts the server down gracefully and returns nil. Logs
// and flag usage go to stderr. A flag error is returned wrapping errUsage (or flag.ErrHelp for
// -h); a failure to listen or to serve is returned with its cause.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}

	if cfg.hashPassword {
		return printPasswordHash(os.Stdin, stdout, stderr)
	}

	if rootErr := cfg.checkRoot(); rootErr != nil {
		return usageError(stderr, rootErr)
	}

	stopProfile, err := startCPUProfile(cfg.cpuProfile)
	if err != nil {
		return err
	}

	defer func() { _ = stopProfile() }()

	return serve(ctx, cfg, stdout, stderr)
}

// tidyUploads removes what broken uploads left: the stale temporary files of -root now, and on
// S3 the incomplete uploads past -s3-incomplete-max-age, now and every hour until the returned
// function stops it.
func tidyUploads(cfg *config, drv *driver, logger log.Logger) (stop func()) {
	if cfg.root != "" && cfg.s3.bucket == "" {
		removeStaleUploads(cfg.root, logger)
	}

	return startS3Sweep(drv.fs, cfg.s3.incompleteMaxAge, logger)
}

// serve runs the server cfg describes until ctx is done, as run says.
func serve(ctx context.Context, cfg *config, stdout, stderr io.Writer) error {
	logger, transfers := newLogger(stderr, cfg.debug)
	cfg.trust.logger = logger

	drv, err := newSharingDriver(cfg, logger)
	if err != nil {
		return err
	}

	// Deferred first, so it runs last: after every session has ended.
	defer func() { _ = drv.Close() }()

	drivers := []ftpserver.MainDriver{drv}
	if cfg.implicitListen != "" {
		drivers = append(drivers, implicitDriver{drv})
	}

	// Before the start lines, so that a SIGHUP sent once any of them is out never finds the
	// default action (ending the process).
	defer reloadOnSIGHUP(drv, transfers)()

	defer tidyUploads(cfg, drv, logger)()

	metricsSrv, err := startObserver(cfg, drv, transfers)
	if err != nil {
		return err
	}

	defer metricsSrv.close(logger)

	servers := make([]*ftpserver.FtpServer, 0, len(drivers))

	for i, mainDriver := range drivers {
		srv := ftpserver.NewFtpServer(mainDriver)
		srv.Logger = logger

		// Listen's error names the address already.
		if err := srv.Listen(); err != nil {
			stopAll(servers)

			return err
		}

		servers = append(servers, srv)
		fmt.Fprintf(stdout, "listening on %s (%s)\n", srv.Addr(), drv.describe(i > 0))
	}

	if cfg.pidFile != "" {
		removePidFile, pidErr := writePidFile(cfg.pidFile)
		if pidErr != nil {
			stopAll(servers)

			return pidErr
		}

		defer removePidFile()
	}

	announceUsers(stdout, cfg, drv)
	metricsSrv.announce(stdout)

	served := make(chan error, len(servers))

	for _, srv := range servers {
		go func() { served <- srv.Serve() }()
	}

	select {
	case err := <-served:
		// A Serve ended by itself: its listener failed. Close everything.
		stopAll(servers)

		// The others end once stopped; their errors only say so.
		for range len(servers) - 1 {
			if otherErr := <-served; otherErr != nil {
				_ = level.Debug(logger).Log("msg", "serve returned", "err", otherErr)
			}
		}

		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}

	return shutdown(servers, served, logger)
}

// announceUsers prints who may log in.
func announceUsers(stdout io.Writer, cfg *config, drv *driver) {
	if cfg.usersFile == "" {
		fmt.Fprintf(stdout, "credentials: user %q, password %q\n", cfg.user, cfg.pass)

		return
	}

	fmt.Fprintf(stdout, "credentials: users of %s (%d), re-read on SIGHUP\n",
		cfg.usersFile, len(drv.users.Load().accounts))
}

// stopAll closes the servers at once.
func stopAll(servers []*ftpserver.FtpServer) {
	for _, srv := range servers {
		_ = srv.Stop()
	}
}

// shutdown stops the servers gracefully within shutdownTimeout and waits for their Serve to
// return. Transfers cut short by the timeout are logged, not returned: the process was asked to
// stop and it did.
func shutdown(servers []*ftpserver.FtpServer, served <-chan error, logger log.Logger) error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()

	errs := make(chan error, len(servers))
	for _, srv := range servers {
		go func() { errs <- srv.Shutdown(ctx) }()
	}

	var err error

	for range servers {
		if shutdownErr := <-errs; shutdownErr != nil {
			err = shutdownErr
		}

		// After a shutdown, Serve's error only tells that its listener was closed.
		if serveErr := <-served; serveErr != nil {
			_ = level.Debug(logger).Log("msg", "serve returned", "err", serveErr)
		}
	}

	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.DeadlineExceeded):
		_ = level.Warn(logger).Log("msg", "transfers still running at shutdown were closed", "timeout", shutdownTimeout)

		return nil
	default:
		return fmt.Errorf("shutting down: %w", err)
	}
}

// newLogger returns two logfmt loggers writing to w: the server's and, unfiltered, the one of
// the transfer lines. With debug the server's passes every line; without, only lines at level
// warn or error, so that a quiet server prints nothing after its start lines but one line per
// transfer (lines without a level count as debug).
func newLogger(w io.Writer, debug bool) (logger, transfers log.Logger) {
	transfers = log.NewLogfmtLogger(log.NewSyncWriter(w))
	transfers = log.With(transfers, "ts", log.DefaultTimestampUTC)

	if debug {
		return transfers, transfers
	}

	return level.NewFilter(transfers, level.AllowWarn(), level.SquelchNoLevel(true)), transfers
}

// startObserver has drv follow the server's events: a log line per transfer to transfers, and
// with -metrics the metrics, served over HTTP until the returned server is stopped (nil
// without -metrics).
func startObserver(cfg *config, drv *driver, transfers log.Logger) (*metricsServer, error) {
	if cfg.noTransferLog {
		transfers = log.NewNopLogger()
	}

	drv.events = &observer{logger: transfers}

	if cfg.metricsAddr == "" {
		return nil, nil
	}

	drv.events.metrics = newMetrics()
	drv.sharedBans.register(drv.events.metrics.registry)

	return startMetricsServer(cfg.metricsAddr, drv.events.metrics)
}

package main

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
)

// reloadOnSIGHUP has the server reload what can be reloaded (see reload) each time the process
// receives SIGHUP, until the returned function is called, which waits for the reload in
// progress. SIGHUP never ends the process while the server runs, whatever flags it has.
func reloadOnSIGHUP(d *driver, logger log.Logger) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)

	quit := make(chan struct{})
	done := make(chan struct{})

	go func() {
		defer close(done)

		for {
			select {
			case <-quit:
				return
			case <-hup:
				d.reload(logger)
			}
		}
	}()

	return func() {
		signal.Stop(hup)
		close(quit)
		<-done
	}
}

// reload opens the -audit-log and -xferlog files again (for log rotation), and reads the
// -users file and the -cert/-key pair again. What no longer loads is logged at level error and
// the server keeps what it had; sessions keep the file system and settings of their login and
// TLS sessions their certificate either way.
func (d *driver) reload(logger log.Logger) {
	if d.cfg.usersFile == "" && d.certs == nil && d.logs == nil {
		_ = level.Info(logger).Log("msg", "SIGHUP: nothing to reload (no -users, no -cert)")

		return
	}

	d.logs.reopen(logger)

	if d.cfg.usersFile != "" {
		d.reloadUsers(logger)
	}

	if d.certs == nil {
		return
	}

	if err := d.certs.load(); err != nil {
		_ = level.Error(logger).Log("msg", "TLS certificate not reloaded, keeping the previous one",
			"cert", d.certs.certFile, "key", d.certs.keyFile, "err", err)

		return
	}

	_ = level.Info(logger).Log("msg", "TLS certificate reloaded", "cert", d.certs.certFile,
		"not_after", d.certs.notAfter())
}

// writePidFile writes the process ID to file, replacing what a killed instance may have left
// there, and returns the function that removes it.
func writePidFile(file string) (remove func(), err error) {
	err = os.WriteFile(file, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644) //nolint:gosec // G306: read by kill
	if err != nil {
		return nil, fmt.Errorf("-pid-file: %w", err)
	}

	return func() { _ = os.Remove(file) }, nil //nolint:gosec // G703: the file the administrator named
}

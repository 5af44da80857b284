package main

import (
	"errors"
	"flag"
	"strconv"
	"time"

	"github.com/ftpkit/ftpserver"
)

// pasvLimits are the flags that bound the passive ports waiting for a connection.
type pasvLimits struct {
	maxPerIP *int          // nil: the library's default; 0: no limit
	timeout  time.Duration // 0: never
}

var errNegative = errors.New("must not be negative")

// registerPasvFlags adds -pasv-max-per-ip and -pasv-timeout.
func registerPasvFlags(flags *flag.FlagSet, cfg *config) {
	cfg.pasvLimits.timeout = ftpserver.DefaultPassivePortTimeout

	flags.Func("pasv-max-per-ip", "at most `N` passive ports waiting for a connection from one IP, over its sessions; "+
		"one more PASV or EPSV gets 425 (default "+strconv.Itoa(ftpserver.DefaultMaxPassivePortsPerIP)+
		", and at most half the -pasv-ports unless -pasv-multiplex); 0: no limit", func(v string) error {
		n, err := strconv.Atoi(v)
		if err == nil && n < 0 {
			err = errNegative
		}

		cfg.pasvLimits.maxPerIP = &n

		return err
	})
	flags.Func("pasv-timeout", "give up a passive port nobody connected to `DURATION` after the PASV or EPSV "+
		"reply (default "+ftpserver.DefaultPassivePortTimeout.String()+"); 0: never", func(v string) error {
		d, err := time.ParseDuration(v)
		if err == nil && d < 0 {
			err = errNegative
		}

		cfg.pasvLimits.timeout = d

		return err
	})
}

// apply sets the library's settings for the flags: the flags' 0 means none, the library's a
// default.
func (l pasvLimits) apply(settings *ftpserver.Settings) {
	if l.maxPerIP != nil {
		settings.MaxPassivePortsPerIP = *l.maxPerIP
		if *l.maxPerIP == 0 {
			settings.MaxPassivePortsPerIP = -1
		}
	}

	settings.PassivePortTimeout = l.timeout
	if l.timeout == 0 {
		settings.PassivePortTimeout = -1
	}
}

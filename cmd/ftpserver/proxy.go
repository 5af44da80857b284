package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/pires/go-proxyproto"

	"github.com/ftpkit/ftpserver"
)

// defaultProxyAllowed trusts a load balancer on this machine.
const defaultProxyAllowed = "127.0.0.0/8,::1"

// passiveHeaderTimeout bounds the wait for the PROXY header of a passive connection.
const passiveHeaderTimeout = 5 * time.Second

var _ ftpserver.MainDriverExtensionPassiveWrapper = (*driver)(nil)

// registerProxyFlags adds the flags of a server behind a load balancer, and those of how
// passive listeners are shared, kept or bounded.
func registerProxyFlags(flags *flag.FlagSet, cfg *config) {
	registerPasvFlags(flags, cfg)

	cfg.proxyAllowed = splitList(defaultProxyAllowed)

	flags.BoolVar(&cfg.proxyProtocol, "proxy-protocol", false,
		"read a PROXY protocol header (v1 or v2) before each control and passive connection from -proxy-allowed; "+
			"refuse other control connections")
	flags.Func("proxy-allowed", "comma-separated `CIDRS` or addresses allowed to send PROXY headers (default "+
		defaultProxyAllowed+")", func(v string) error {
		cfg.proxyAllowed = splitList(v)

		return validateUpstreams(cfg.proxyAllowed)
	})
	flags.BoolVar(&cfg.pasvMultiplex, "pasv-multiplex", false,
		"share the -pasv-ports among all clients, a listener per port, so few ports serve many clients")
	flags.BoolVar(&cfg.pasvKeep, "pasv-keep", false,
		"keep each session's passive listener from one transfer to the next instead of opening one per transfer; "+
			"with -pasv-ports it needs -max-clients no larger than the range")
}

// splitList splits a comma- or space-separated list.
func splitList(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })
}

// validateUpstreams checks each entry of -proxy-allowed.
func validateUpstreams(entries []string) error {
	if len(entries) == 0 {
		return errors.New("empty list")
	}

	for _, entry := range entries {
		if _, err := parseNetwork(entry); err != nil {
			return err
		}
	}

	return nil
}

// validateProxy checks the load balancer flags together with the others.
func (cfg *config) validateProxy() error {
	if cfg.pasvMultiplex && cfg.pasvPorts == nil {
		return errors.New("-pasv-multiplex needs -pasv-ports")
	}

	if !cfg.pasvKeep {
		return nil
	}

	if cfg.pasvMultiplex {
		return errors.New("-pasv-keep and -pasv-multiplex exclude each other")
	}

	// The PROXY headers of passive connections are read by a wrapper of each listener, and the
	// library keeps no wrapped listener.
	if cfg.proxyProtocol {
		return errors.New("-pasv-keep and -proxy-protocol exclude each other")
	}

	// The library keeps no listener where kept ones could take every port of the range; the
	// flag says so at start rather than keep nothing.
	if ports := cfg.pasvPorts; ports != nil {
		size := ports.End - ports.Start + 1
		if cfg.maxClients == 0 || cfg.maxClients > size {
			return fmt.Errorf("-pasv-keep with -pasv-ports needs -max-clients of at most %d, the ports in the range",
				size)
		}
	}

	return nil
}

// applyProxySettings sets the library's settings for the load balancer flags.
func (cfg *config) applyProxySettings(settings *ftpserver.Settings) {
	settings.PassiveTransferPortMultiplexing = cfg.pasvMultiplex
	settings.KeepPassiveListener = cfg.pasvKeep
	cfg.pasvLimits.apply(settings)

	if cfg.proxyProtocol {
		settings.ProxyProtocol = ftpserver.ProxyProtocolRequired
		settings.ProxyAllowedUpstreams = cfg.proxyAllowed
		settings.ProxyUntrusted = ftpserver.ProxyUntrustedRefuse
	}
}

// WrapPassiveListener makes passive listeners read the PROXY header of connections from
// -proxy-allowed when -proxy-protocol is on: a balancer that forwards the passive ports then
// names the client (HAProxy: send-proxy on those backends too), and the check that a passive
// connection comes from its client's IP still holds. Connections from other addresses are
// taken as they are, from a client that reaches the passive ports directly.
func (d *driver) WrapPassiveListener(listener net.Listener) (net.Listener, error) {
	if !d.cfg.proxyProtocol {
		return listener, nil
	}

	trusted, err := proxyproto.PolicyFromRanges(d.cfg.proxyAllowed, proxyproto.REQUIRE, proxyproto.SKIP)
	if err != nil {
		return nil, fmt.Errorf("-proxy-allowed: %w", err)
	}

	return &proxyproto.Listener{
		Listener:          listener,
		ConnPolicy:        trusted,
		ReadHeaderTimeout: passiveHeaderTimeout,
	}, nil
}

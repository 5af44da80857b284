package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ftpkit/ftpserver"
)

// Defaults of the ban flags.
const (
	defaultBanWindow   = 10 * time.Minute
	defaultBanDuration = 15 * time.Minute
	// defaultBanExempt never bans loopback, as fail2ban does unless told otherwise: a local
	// client (a monitor, a test run) that mistypes a password must not lock out every other.
	defaultBanExempt = "127.0.0.0/8,::1"
)

// Defaults of the connection limits: vsftpd's, which refuses the 51st connection from one
// address. Loopback is not exempt. A library program keeps the library's defaults (no limit).
const (
	defaultMaxClients      = 2000
	defaultMaxClientsPerIP = 50
)

// errUsage is wrapped by every error about the command line. The error and a line pointing at
// -h are already on stderr when it is returned; main only exits 2.
var errUsage = errors.New("invalid command line")

// config is the parsed command line.
type config struct {
	listen          string
	root            string // "" serves an in-memory file system
	rootCreate      bool   // create a missing -root instead of refusing it
	pidFile         string // "" or the file the process ID is written to while the server runs
	user            string
	pass            string
	pasvPorts       *ftpserver.PortRange // nil lets the system choose
	publicHost      string
	idleTimeout     int
	maxClients      int
	maxClientsPerIP int
	debug           bool
	noTransferLog   bool   // no line per transfer
	atomicUploads   bool   // STOR into a temporary file renamed over the target when complete
	tls             bool   // explicit TLS (AUTH TLS) offered
	certFile        string // "" with tls: a self-signed certificate made at start
	keyFile         string
	tlsRequired     bool     // login and transfers only over TLS
	tlsSessionReuse string   // -tls-session-reuse as given: "required", "optional" or "" (by -tls-required)
	tlsReuseNeeded  bool     // protected data connections must resume the control connection's session
	implicitListen  string   // "" or the address of an implicit-TLS listener
	hosts           []string // virtual host names HOST accepts; empty: any
	proxyProtocol   bool     // PROXY headers from proxyAllowed on control and passive connections
	proxyAllowed    []string // CIDRs and addresses allowed to send a PROXY header
	pasvMultiplex   bool     // passive ports shared by all clients
	pasvKeep        bool     // a session's passive listener kept between transfers
	pasvLimits      pasvLimits
	trust           trustOptions // -tls-require-close-notify and -upload-check

	maxLoginFailures  int           // per connection, and per IP within banWindow; <= 0: no limit
	loginFailureDelay time.Duration // first failed login's delay; 0: none
	banWindow         time.Duration
	banDuration       time.Duration // 0: no bans
	banExemptList     string        // -ban-exempt as given
	banExempt         []netip.Prefix
	banStore          banStoreOptions // -ban-store-*: bans shared by a fleet

	metricsAddr     string // "" or the address of the Prometheus metrics HTTP server
	maxUploadRate   int64  // bytes/s per connection; 0: no limit
	maxDownloadRate int64
	maxHashSize     int64 // bytes one checksum may read; 0: no limit

	s3 s3Options // -s3-*: serve a bucket instead of memory or -root

	logs logFlags // -audit-log, -xferlog, -log-queue: the records of what clients do

	usersFile    string // "" serves user and pass; else the users of this file
	hashPassword bool   // print the bcrypt hash of the password on stdin, and exit

	cpuProfile string // "" or the file of Go's CPU profile of the whole run
}

// parseFlags reads the command line. On an error, it writes the error and a line pointing at
// -h to stderr and returns an error wrapping errUsage; -h writes the usage and returns
// flag.ErrHelp.
func parseFlags(args []string, stderr io.Writer) (*config, error) {
	cfg := &config{}
	flags := flag.NewFlagSet("ftpserver", flag.ContinueOnError)
	// The flag package would print its error and the whole usage; parseFlags says it shorter.
	flags.SetOutput(io.Discard)
	flags.Usage = func() {}

	var pasvPorts string

	flags.StringVar(&cfg.listen, "listen", "127.0.0.1:2121", "control connection `address`, host:port")
	registerRootFlags(flags, cfg)
	flags.StringVar(&cfg.user, "user", "test", "the user `name` to accept")
	flags.StringVar(&cfg.pass, "pass", "test", "the `password` to accept")
	registerUsersFlags(flags, cfg)
	flags.StringVar(&pasvPorts, "pasv-ports", "", "passive ports `MIN-MAX` (default: any port the system gives)")
	flags.StringVar(&cfg.publicHost, "public-host", "",
		"IPv4 `address` announced in PASV replies, for a server behind NAT (default: the control connection's)")
	flags.IntVar(&cfg.idleTimeout, "idle-timeout", ftpserver.DefaultIdleTimeout,
		"`seconds` without a command before a client is disconnected; negative: never")
	flags.IntVar(&cfg.maxClients, "max-clients", defaultMaxClients,
		"at most `N` clients at once, the next refused with 421; 0: no limit")
	flags.IntVar(&cfg.maxClientsPerIP, "max-clients-per-ip", defaultMaxClientsPerIP,
		"at most `N` clients at once from one IP, loopback included, the next refused with 421; 0: no limit")
	flags.BoolVar(&cfg.debug, "debug", false, "log at debug level to stderr, with every command and reply")
	flags.BoolVar(&cfg.noTransferLog, "no-transfer-log", false, "do not log a line per transfer")
	flags.BoolVar(&cfg.atomicUploads, "atomic-uploads", true,
		"STOR writes a temporary file and renames it over the target once complete, so an interrupted upload "+
			"leaves the old file; false writes in place (ignored with -s3-bucket, where S3 gives the same)")
	registerTLSFlags(flags, cfg)
	flags.Func("hosts", "comma-separated `names` that HOST (RFC 7151) accepts (default: any name)",
		func(v string) error {
			cfg.hosts = strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })

			return nil
		})
	registerProxyFlags(flags, cfg)
	registerS3Flags(flags, &cfg.s3)

	registerTrustFlags(flags, &cfg.trust)
	registerBanFlags(flags, cfg)
	registerHashFlags(flags, cfg)
	flags.StringVar(&cfg.metricsAddr, "metrics", "",
		"serve Prometheus metrics at http://`ADDR`/metrics (default: no metrics)")
	flags.Int64Var(&cfg.maxUploadRate, "max-upload-rate", 0,
		"limit each connection's uploads to `BYTES` per second; 0: no limit")
	flags.Int64Var(&cfg.maxDownloadRate, "max-download-rate", 0,
		"limit each connection's downloads to `BYTES` per second; 0: no limit")
	flags.StringVar(&cfg.cpuProfile, "cpuprofile", "",
		"write Go's CPU profile of the whole run to `FILE` at exit (for go tool pprof)")

	err := flags.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		flags.SetOutput(stderr)
		printUsage(flags)

		return nil, flag.ErrHelp
	}

	if err == nil {
		// In this order: validate parses the ports.
		err = errors.Join(cfg.validate(pasvPorts), cfg.validateProxy(), cfg.validateAbuse(),
			cfg.validateBanStore(), cfg.s3.validate(cfg.root), cfg.validateUsers(flags), cfg.logs.validate(),
			cfg.trust.validate())
	}

	if err == nil && flags.NArg() > 0 {
		err = fmt.Errorf("unexpected argument %q", flags.Arg(0))
	}

	if err != nil {
		return nil, usageError(stderr, err)
	}

	return cfg, nil
}

// registerTLSFlags registers the flags of TLS on the control and data connections.
func registerTLSFlags(flags *flag.FlagSet, cfg *config) {
	flags.BoolVar(&cfg.tls, "tls", false,
		"offer explicit TLS (AUTH TLS), with a self-signed certificate made at start unless -cert and -key are given")
	flags.StringVar(&cfg.certFile, "cert", "", "TLS certificate `FILE` (PEM); implies -tls")
	flags.StringVar(&cfg.keyFile, "key", "", "TLS private key `FILE` (PEM); implies -tls")
	flags.BoolVar(&cfg.tlsRequired, "tls-required", false,
		"refuse login and transfers without TLS (implies -tls)")
	flags.StringVar(&cfg.tlsSessionReuse, "tls-session-reuse", "",
		"`MODE` of TLS session reuse on data connections: required (refuse, 425, a data connection that does not "+
			"resume the control connection's TLS session) or optional (default: required with -tls-required)")
	flags.StringVar(&cfg.implicitListen, "implicit-listen", "",
		"also listen on `ADDR` for implicit TLS (TLS from the first byte, usually port 990; implies -tls)")
}

// usageError writes err about the command line and a line pointing at -h to stderr, and
// returns err wrapping errUsage.
func usageError(stderr io.Writer, err error) error {
	fmt.Fprintf(stderr, "ftpserver: %v\nRun 'ftpserver -h' for the usage.\n", err)

	return fmt.Errorf("%w: %w", errUsage, err)
}

// checkRoot refuses a -root that does not exist, unless -root-create asks for it, or that is
// not a directory: a mistyped path must not be served, empty, as a new directory. It is
// separate from parseFlags, which does not look at the file system.
func (cfg *config) checkRoot() error {
	if cfg.root == "" || cfg.s3.bucket != "" {
		return nil
	}

	info, err := os.Stat(cfg.root) //nolint:gosec // G703: the directory the administrator named

	switch {
	case errors.Is(err, fs.ErrNotExist) && cfg.rootCreate:
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("-root: %s does not exist (create it, or add -root-create)", cfg.root)
	case err != nil:
		return fmt.Errorf("-root: %w", err)
	case !info.IsDir():
		return fmt.Errorf("-root: %s is not a directory", cfg.root)
	}

	return nil
}

// registerRootFlags adds -root, -root-create and -pid-file, and the flags of the other files the
// server writes: -audit-log, -xferlog and -log-queue.
func registerRootFlags(flags *flag.FlagSet, cfg *config) {
	flags.StringVar(&cfg.root, "root", "",
		"serve directory `DIR`, which must exist, instead of an in-memory file system")
	flags.BoolVar(&cfg.rootCreate, "root-create", false, "create the -root directory if it is missing")
	flags.StringVar(&cfg.pidFile, "pid-file", "",
		"write the process ID to `FILE` once listening, and remove it at exit (for kill -HUP)")
	registerLogFlags(flags, &cfg.logs)
}

// printUsage writes what -h shows: what the server does, then its flags.
func printUsage(flags *flag.FlagSet) {
	fmt.Fprintf(flags.Output(), "Usage: ftpserver [flags]\n\n"+
		"Runs an FTP server for one user, or for the users of -users. Sessions start\n"+
		"in binary mode (TYPE I); HASH, COMB and MODE Z are enabled; TLS with -tls.\n\nFlags:\n")
	flags.PrintDefaults()
}

// validate checks the values the flag package cannot, and parses -pasv-ports.
func (cfg *config) validate(pasvPorts string) error {
	if pasvPorts != "" {
		ports, err := parsePortRange(pasvPorts)
		if err != nil {
			return fmt.Errorf("-pasv-ports: %w", err)
		}

		cfg.pasvPorts = ports
	}

	if cfg.publicHost != "" {
		if ip := net.ParseIP(cfg.publicHost); ip == nil || ip.To4() == nil {
			return fmt.Errorf("-public-host: %q is not an IPv4 address", cfg.publicHost)
		}
	}

	for _, count := range []struct {
		name  string
		value int64
	}{
		{"-max-clients", int64(cfg.maxClients)},
		{"-max-clients-per-ip", int64(cfg.maxClientsPerIP)},
		{"-max-upload-rate", cfg.maxUploadRate},
		{"-max-download-rate", cfg.maxDownloadRate},
	} {
		if count.value < 0 {
			return fmt.Errorf("%s: %d is negative", count.name, count.value)
		}
	}

	for _, duration := range []struct {
		name  string
		value time.Duration
	}{
		{"-login-failure-delay", cfg.loginFailureDelay},
		{"-ban-window", cfg.banWindow},
		{"-ban-duration", cfg.banDuration},
	} {
		if duration.value < 0 {
			return fmt.Errorf("%s: %s is negative", duration.name, duration.value)
		}
	}

	if cfg.user == "" {
		return errors.New("-user: empty")
	}

	if (cfg.certFile == "") != (cfg.keyFile == "") {
		return errors.New("-cert and -key go together")
	}

	cfg.tls = cfg.tls || cfg.certFile != "" || cfg.tlsRequired || cfg.implicitListen != ""

	return nil
}

// registerBanFlags adds the flags against password guessing.
func registerBanFlags(flags *flag.FlagSet, cfg *config) {
	flags.IntVar(&cfg.maxLoginFailures, "max-login-failures", ftpserver.DefaultMaxLoginFailures,
		"close a connection at its `N`th failed login, and ban an IP with N failed logins within -ban-window; "+
			"0: no limit, no bans")
	flags.DurationVar(&cfg.loginFailureDelay, "login-failure-delay", ftpserver.DefaultLoginFailureDelay,
		"delay the reply to a connection's first failed login by `D`, doubling at each further one; 0: none")
	flags.DurationVar(&cfg.banWindow, "ban-window", defaultBanWindow,
		"`D` within which -max-login-failures failures from one IP ban it")
	flags.DurationVar(&cfg.banDuration, "ban-duration", defaultBanDuration,
		"refuse a banned IP for `D` (421 at connect, and at the next USER or PASS of its open connections); 0: no bans")
	flags.StringVar(&cfg.banExemptList, "ban-exempt", defaultBanExempt,
		"comma-separated `networks` (CIDR) and addresses never banned; \"\": none")
	registerBanStoreFlags(flags, &cfg.banStore)
}

// validateAbuse parses -ban-exempt and decides whether data connections must resume the
// control connection's TLS session.
func (cfg *config) validateAbuse() error {
	exempt, err := parseBanExempt(cfg.banExemptList)
	if err != nil {
		return fmt.Errorf("-ban-exempt: %w", err)
	}

	cfg.banExempt = exempt

	switch cfg.tlsSessionReuse {
	case "":
		cfg.tlsReuseNeeded = cfg.tlsRequired
	case "required", "optional":
		cfg.tlsReuseNeeded = cfg.tlsSessionReuse == "required"
	default:
		return fmt.Errorf("-tls-session-reuse: %q is neither required nor optional", cfg.tlsSessionReuse)
	}

	return nil
}

// parsePortRange parses "MIN-MAX", two ports with MIN <= MAX.
func parsePortRange(s string) (*ftpserver.PortRange, error) {
	low, high, ok := strings.Cut(s, "-")
	if !ok {
		return nil, fmt.Errorf("%q is not MIN-MAX", s)
	}

	start, err := parsePort(low)
	if err != nil {
		return nil, err
	}

	end, err := parsePort(high)
	if err != nil {
		return nil, err
	}

	if start > end {
		return nil, fmt.Errorf("%q: %d is above %d", s, start, end)
	}

	return &ftpserver.PortRange{Start: start, End: end}, nil
}

// parsePort parses a TCP port number, 1 to 65535.
func parsePort(s string) (int, error) {
	port, err := strconv.Atoi(s)
	if err != nil || port < 1 || port > 65535 {
		return 0, fmt.Errorf("%q is not a port (1-65535)", s)
	}

	return port, nil
}

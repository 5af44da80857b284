// Command fsl serves a directory with github.com/fclairamb/ftpserverlib v0.32.3, set up as that
// library's documentation shows (an afero BasePathFs over the directory, explicit TLS offered),
// so that bench/compare.sh can measure it beside ftpkit's bundled server. Its flags are a subset
// of cmd/ftpserver's:
//
//	fsl -listen 127.0.0.1:2121 -root DIR -user test -pass test -pasv-ports 30000-30999
//
// Without -cert and -key it makes a self-signed certificate at start. It runs until SIGINT or
// SIGTERM. It is a module of its own so that ftpserverlib never enters the graph of ftpkit's
// modules.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	ftpserverlib "github.com/fclairamb/ftpserverlib"
	"github.com/spf13/afero"
)

var (
	// errUsage reports a bad command line.
	errUsage = errors.New("invalid command line")
	// errLogin refuses a user name or password.
	errLogin = errors.New("wrong user or password")
)

// config is the parsed command line.
type config struct {
	listen, root      string
	user, pass        string
	pasvPorts         string
	certFile, keyFile string
	idleTimeout       int
	portMin, portMax  int
}

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "fsl:", err)

		if errors.Is(err, errUsage) {
			os.Exit(2)
		}

		os.Exit(1)
	}
}

// run parses args, starts the server and serves until a signal.
func run(args []string, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}

	drv, err := newDriver(cfg)
	if err != nil {
		return err
	}

	server := ftpserverlib.NewFtpServer(drv)
	server.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	if err = server.Listen(); err != nil {
		return fmt.Errorf("listening: %w", err)
	}

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)

	served := make(chan error, 1)

	go func() { served <- server.Serve() }()

	select {
	case err = <-served:
		return fmt.Errorf("serving: %w", err)
	case <-signals:
	}

	if err = server.Stop(); err != nil {
		return fmt.Errorf("stopping: %w", err)
	}

	if err = <-served; err != nil {
		return fmt.Errorf("serving: %w", err)
	}

	return nil
}

// parseFlags reads the command line.
func parseFlags(args []string, stderr io.Writer) (*config, error) {
	cfg := &config{}
	flags := flag.NewFlagSet("fsl", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.StringVar(&cfg.listen, "listen", "127.0.0.1:2121", "control connection `address`, host:port")
	flags.StringVar(&cfg.root, "root", "", "serve directory `DIR` (created if missing)")
	flags.StringVar(&cfg.user, "user", "test", "the user `name` to accept")
	flags.StringVar(&cfg.pass, "pass", "test", "the `password` to accept")
	flags.StringVar(&cfg.pasvPorts, "pasv-ports", "", "passive ports `MIN-MAX` (default: any port the system gives)")
	flags.StringVar(&cfg.certFile, "cert", "", "TLS certificate `FILE` (PEM; default: self-signed, made at start)")
	flags.StringVar(&cfg.keyFile, "key", "", "TLS private key `FILE` (PEM)")
	flags.IntVar(&cfg.idleTimeout, "idle-timeout", 900, "`seconds` without a command before a client is disconnected")

	if err := flags.Parse(args); err != nil {
		return nil, fmt.Errorf("%w: %w", errUsage, err)
	}

	var err error

	switch {
	case cfg.root == "":
		err = errors.New("-root is required")
	case (cfg.certFile == "") != (cfg.keyFile == ""):
		err = errors.New("-cert and -key go together")
	case flags.NArg() > 0:
		err = fmt.Errorf("unexpected argument %q", flags.Arg(0))
	case cfg.pasvPorts != "":
		cfg.portMin, cfg.portMax, err = parsePortRange(cfg.pasvPorts)
	}

	if err != nil {
		return nil, fmt.Errorf("%w: %w", errUsage, err)
	}

	return cfg, nil
}

// parsePortRange reads MIN-MAX.
func parsePortRange(value string) (low, high int, err error) {
	lowText, highText, ok := strings.Cut(value, "-")
	if ok {
		low, err = strconv.Atoi(lowText)
	}

	if ok && err == nil {
		high, err = strconv.Atoi(highText)
	}

	if !ok || err != nil || low < 1 || high > 65535 || low > high {
		return 0, 0, fmt.Errorf("-pasv-ports: %q is not MIN-MAX within 1-65535", value)
	}

	return low, high, nil
}

// driver is ftpserverlib's MainDriver: one user, one directory.
type driver struct {
	cfg      *config
	tls      *tls.Config
	settings *ftpserverlib.Settings
}

func newDriver(cfg *config) (*driver, error) {
	if err := os.MkdirAll(cfg.root, 0o750); err != nil {
		return nil, fmt.Errorf("-root: %w", err)
	}

	cert, err := certificate(cfg)
	if err != nil {
		return nil, err
	}

	settings := &ftpserverlib.Settings{
		ListenAddr:  cfg.listen,
		IdleTimeout: cfg.idleTimeout,
	}
	if cfg.portMax > 0 {
		settings.PassiveTransferPortRange = &ftpserverlib.PortRange{Start: cfg.portMin, End: cfg.portMax}
	}

	return &driver{
		cfg:      cfg,
		tls:      &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}},
		settings: settings,
	}, nil
}

// GetSettings is called once, when the server starts listening.
func (d *driver) GetSettings() (*ftpserverlib.Settings, error) { return d.settings, nil }

// ClientConnected returns the greeting.
func (d *driver) ClientConnected(ftpserverlib.ClientContext) (string, error) {
	return "ftpserverlib benchmark server", nil
}

// ClientDisconnected has nothing to release.
func (d *driver) ClientDisconnected(ftpserverlib.ClientContext) {}

// AuthUser accepts the one user and serves the directory to it.
func (d *driver) AuthUser(_ ftpserverlib.ClientContext, user, pass string) (ftpserverlib.ClientDriver, error) {
	userOK := subtle.ConstantTimeCompare([]byte(user), []byte(d.cfg.user))
	passOK := subtle.ConstantTimeCompare([]byte(pass), []byte(d.cfg.pass))

	if userOK&passOK != 1 {
		return nil, errLogin
	}

	return afero.NewBasePathFs(afero.NewOsFs(), d.cfg.root), nil
}

// GetTLSConfig is called when the server starts listening and for AUTH TLS.
func (d *driver) GetTLSConfig() (*tls.Config, error) { return d.tls, nil }

// certificate loads -cert and -key, or makes a self-signed ECDSA certificate for the listen host.
func certificate(cfg *config) (tls.Certificate, error) {
	if cfg.certFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.certFile, cfg.keyFile)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("loading the certificate: %w", err)
		}

		return cert, nil
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("making a key: %w", err)
	}

	template := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "fsl"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(7 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}

	if host, _, splitErr := net.SplitHostPort(cfg.listen); splitErr == nil {
		if ip := net.ParseIP(host); ip != nil {
			template.IPAddresses = []net.IP{ip}
		} else if host != "" {
			template.DNSNames = []string{host}
		}
	}

	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("making a certificate: %w", err)
	}

	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

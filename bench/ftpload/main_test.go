package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/require"

	ftpserver "github.com/ftpkit/ftpserver"
	"github.com/ftpkit/ftpserver/bench/internal/cli"
)

// errBadLogin refuses a password.
var errBadLogin = errors.New("bad password")

// driver serves one directory to user "u" with password "p", and counts the logins.
type driver struct {
	root   string
	config *tls.Config
	logins atomic.Int32
}

func (d *driver) GetSettings() (*ftpserver.Settings, error) {
	return &ftpserver.Settings{ListenAddr: "127.0.0.1:0"}, nil
}

func (d *driver) ClientConnected(ftpserver.ClientContext) (string, error) { return "ftpload test", nil }

func (d *driver) ClientDisconnected(ftpserver.ClientContext) {}

func (d *driver) AuthUser(_ ftpserver.ClientContext, user, pass string) (ftpserver.ClientDriver, error) {
	if user != "u" || pass != "p" {
		return nil, errBadLogin
	}

	d.logins.Add(1)

	return afero.NewBasePathFs(afero.NewOsFs(), d.root), nil
}

func (d *driver) GetTLSConfig() (*tls.Config, error) { return d.config, nil }

// startServer serves a new directory and returns its address and the directory.
func startServer(t *testing.T) (addr, root string) {
	t.Helper()

	addr, drv := startServerDriver(t)

	return addr, drv.root
}

// startServerDriver serves a new directory and returns its address and the server's driver.
func startServerDriver(t *testing.T) (string, *driver) {
	t.Helper()

	drv := &driver{root: t.TempDir(), config: tlsConfig(t)}
	server := ftpserver.NewFtpServer(drv)
	require.NoError(t, server.Listen())

	served := make(chan error, 1)

	go func() { served <- server.Serve() }()

	t.Cleanup(func() {
		require.NoError(t, server.Stop())
		require.NoError(t, <-served)
	})

	return server.Addr(), drv
}

// tlsConfig returns a server configuration with a new self-signed certificate.
func tlsConfig(t *testing.T) *tls.Config {
	t.Helper()

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)

	template := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}

	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	require.NoError(t, err)

	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
	}
}

func TestScenarios(t *testing.T) {
	t.Parallel()

	addr, root := startServer(t)

	const size = 3*bufferSize + 17

	content := make([]byte, size)
	_, err := rand.Read(content)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(root, "big.bin"), content, 0o600))
	require.NoError(t, os.Mkdir(filepath.Join(root, "small"), 0o700))

	for i := 1; i <= 5; i++ {
		name := filepath.Join(root, "small", fmt.Sprintf("%03d.bin", i))
		require.NoError(t, os.WriteFile(name, content[:100], 0o600))
	}

	for _, secure := range []bool{false, true} {
		base := options{addr: addr, user: "u", pass: "p", tls: secure}

		for _, tc := range []struct {
			scenario, path string
			size           int64
			count          int
		}{
			{scenario: scenarioRETR, path: "big.bin", size: size, count: 1},
			{scenario: scenarioSTOR, path: "up.bin", size: size, count: 1},
			{scenario: scenarioSmall, path: "small/%03d.bin", size: 100, count: 5},
			{scenario: scenarioLogins, count: 3},
			// big.bin and small, and up.bin once stor has run.
			{scenario: scenarioList, path: "/", size: 2, count: 2},
		} {
			opts := base
			opts.scenario, opts.path, opts.size, opts.count = tc.scenario, tc.path, tc.size, tc.count

			var stderr bytes.Buffer

			opts.verbose = true
			value, err := run(&opts, &stderr)
			require.NoError(t, err, "%s tls=%v", tc.scenario, secure)

			figure, err := strconv.ParseFloat(value, 64)
			require.NoError(t, err)
			require.Positive(t, figure, "%s tls=%v", tc.scenario, secure)

			if secure && tc.scenario != scenarioLogins {
				require.Contains(t, stderr.String(), "TLS 1.3")
			}
		}

		uploaded, err := os.ReadFile(filepath.Join(root, "up.bin"))
		require.NoError(t, err)
		require.Len(t, uploaded, size)
		require.Equal(t, uploaded[:bufferSize], uploaded[bufferSize:2*bufferSize], "the block repeats")
	}
}

func TestChecks(t *testing.T) {
	t.Parallel()

	addr, root := startServer(t)
	require.NoError(t, os.WriteFile(filepath.Join(root, "f"), []byte("12345"), 0o600))

	for _, opts := range []options{
		{scenario: scenarioRETR, path: "f", size: 6, count: 1},
		{scenario: scenarioRETR, path: "missing", size: 5, count: 1},
		{scenario: scenarioList, path: "/", size: 2, count: 1},
		{scenario: scenarioLogins, count: 1, pass: "wrong"},
	} {
		opts.addr, opts.user = addr, "u"
		if opts.pass == "" {
			opts.pass = "p"
		}

		_, err := run(&opts, io.Discard)
		require.Error(t, err, "%+v", opts)
	}
}

func TestParseFlags(t *testing.T) {
	t.Parallel()

	opts, err := parseFlags([]string{"-addr", "h:1", "-scenario", "small", "-path", "%d", "-size", "4", "-count", "9"},
		io.Discard)
	require.NoError(t, err)
	require.Equal(t, &options{
		addr: "h:1", user: "anonymous", pass: "ftpload", scenario: scenarioSmall, path: "%d", size: 4, count: 9,
		conns: 1,
	}, opts)

	for _, args := range [][]string{
		{"-scenario", "mget"},
		{"-scenario", "retr", "-size", "1"},
		{"-scenario", "retr", "-path", "x"},
		{"-scenario", "logins", "-count", "0"},
		{"-scenario", "small", "-path", "%d", "-size", "1", "-conns", "0"},
		{"-scenario", "small", "-path", "%d", "-size", "1", "-idle", "-1"},
		{"-scenario", "stor", "-path", "x", "-size", "1", "-conns", "2"},
		{"-scenario", "smallstor", "-path", "x", "-size", "1"},
		{"-scenario", "list", "-path", "x", "-size", "1", "-conns", "2"},
		{"extra"},
		{"-nosuchflag"},
	} {
		_, err := parseFlags(args, io.Discard)
		require.ErrorIs(t, err, cli.ErrUsage, "%q", args)
	}
}

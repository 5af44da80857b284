package ftpserver_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jlaffaye/ftp"
	"github.com/spf13/afero"

	"github.com/ftpkit/ftpserver"
	"github.com/ftpkit/ftpserver/rootfs"
)

// account is one user of usersDriver: a password, a home under the shared root, and whether the
// user may write.
type account struct {
	password string
	home     string
	readOnly bool
}

// usersDriver serves several users, each in a home of its own under one directory, some
// read-only. A real driver keeps password hashes (bcrypt, argon2) rather than passwords.
type usersDriver struct {
	root     *rootfs.Fs
	accounts map[string]account
	listener net.Listener
	tls      *tls.Config // nil: no TLS

	mu    sync.Mutex
	homes map[ftpserver.ClientContext]*rootfs.Fs // the home each logged-in session opened
}

func (d *usersDriver) GetSettings() (*ftpserver.Settings, error) {
	settings := &ftpserver.Settings{Listener: d.listener, DefaultTransferType: ftpserver.TransferTypeBinary}
	if d.tls != nil {
		// Neither USER nor a transfer is accepted before AUTH TLS and PROT P.
		settings.TLSRequired = ftpserver.MandatoryEncryption
	}

	return settings, nil
}

func (d *usersDriver) ClientConnected(ftpserver.ClientContext) (string, error) {
	return "Welcome", nil
}

// ClientDisconnected closes the home the session opened.
func (d *usersDriver) ClientDisconnected(cc ftpserver.ClientContext) {
	d.mu.Lock()
	home := d.homes[cc]
	delete(d.homes, cc)
	d.mu.Unlock()

	if home != nil {
		_ = home.Close()
	}
}

func (d *usersDriver) AuthUser(cc ftpserver.ClientContext, user, pass string) (ftpserver.ClientDriver, error) {
	acc, ok := d.accounts[user]
	if !ok || subtle.ConstantTimeCompare([]byte(acc.password), []byte(pass)) != 1 {
		return nil, errors.New("bad credentials")
	}

	if err := d.root.MkdirAll(acc.home, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s's home: %w", user, err)
	}

	// The home is a root of its own, which no link made or moved in it can leave. A path prefix
	// (afero.NewBasePathFs) over d.root would not be: the links in the home would be resolved
	// against the whole of d.root, where the other homes are.
	home, err := d.root.Sub(acc.home)
	if err != nil {
		return nil, fmt.Errorf("opening %s's home: %w", user, err)
	}

	d.mu.Lock()
	d.homes[cc] = home
	d.mu.Unlock()

	if acc.readOnly {
		return afero.NewReadOnlyFs(home), nil
	}

	return home, nil
}

func (d *usersDriver) GetTLSConfig() (*tls.Config, error) {
	if d.tls == nil {
		return nil, errors.New("TLS not configured")
	}

	return d.tls, nil
}

// serveUsers serves dir to the accounts, with TLS when serverTLS is not nil, on a loopback port
// and returns its address and a function that stops it.
func serveUsers(dir string, accounts map[string]account, serverTLS *tls.Config) (string, func()) {
	root, err := rootfs.New(dir)
	if err != nil {
		panic(err)
	}

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}

	drv := &usersDriver{root: root, accounts: accounts, listener: listener, tls: serverTLS,
		homes: map[ftpserver.ClientContext]*rootfs.Fs{}}
	server := ftpserver.NewFtpServer(drv)

	if err = server.Listen(); err != nil {
		panic(err)
	}

	done := make(chan struct{})

	go func() {
		defer close(done)

		_ = server.Serve()
	}()

	return listener.Addr().String(), func() {
		_ = server.Stop()
		<-done
		_ = root.Close()
	}
}

// exampleDir makes a directory for an example to serve, and returns it with a function that
// removes it.
func exampleDir() (string, func()) {
	dir, err := os.MkdirTemp("", "ftpkit-example-")
	if err != nil {
		panic(err)
	}

	return dir, func() { _ = os.RemoveAll(dir) }
}

func Example_usersWithHomes() {
	dir, remove := exampleDir()
	defer remove()

	addr, stop := serveUsers(dir, map[string]account{
		"alice": {password: "alice-secret", home: "/home/alice"},
		"guest": {password: "guest-secret", home: "/pub", readOnly: true},
	}, nil)
	defer stop()

	alice, err := ftp.Dial(addr, ftp.DialWithTimeout(5*time.Second))
	if err != nil {
		panic(err)
	}

	_ = alice.Login("alice", "alice-secret")
	fmt.Println("alice stores:", alice.Stor("notes.txt", strings.NewReader("hello")))
	_ = alice.Quit()

	guest, err := ftp.Dial(addr, ftp.DialWithTimeout(5*time.Second))
	if err != nil {
		panic(err)
	}

	_ = guest.Login("guest", "guest-secret")

	var refused *textproto.Error
	if errors.As(guest.Stor("upload.txt", strings.NewReader("x")), &refused) {
		fmt.Println("guest stores:", refused.Code)
	}

	names, _ := guest.NameList("/")
	fmt.Println("guest sees:", names)
	_ = guest.Quit()

	stored, _ := os.ReadFile(filepath.Join(dir, "home", "alice", "notes.txt"))
	fmt.Printf("on disk: %q\n", stored)

	// Output:
	// alice stores: <nil>
	// guest stores: 550
	// guest sees: []
	// on disk: "hello"
}

// TLS required on the control and data connections: a client that logs in without AUTH TLS
// is refused, one that uses explicit TLS (AUTH TLS, then PROT P) transfers as usual.
func Example_tlsRequired() {
	serverTLS, clientTLS := exampleCertificates()
	dir, remove := exampleDir()
	defer remove()

	addr, stop := serveUsers(dir, map[string]account{"alice": {password: "alice-secret", home: "/alice"}}, serverTLS)
	defer stop()

	// A client without TLS, on the wire: the greeting, then USER.
	plain, err := textproto.Dial("tcp", addr)
	if err != nil {
		panic(err)
	}

	_, _, _ = plain.ReadResponse(220)
	_ = plain.PrintfLine("USER alice")
	code, msg, _ := plain.ReadResponse(0)
	fmt.Println("without TLS:", code, msg)
	_ = plain.Close()

	secure, err := ftp.Dial(addr, ftp.DialWithTimeout(5*time.Second), ftp.DialWithExplicitTLS(clientTLS))
	if err != nil {
		panic(err)
	}

	fmt.Println("with TLS, login:", secure.Login("alice", "alice-secret"))
	fmt.Println("with TLS, store:", secure.Stor("secret.txt", strings.NewReader("over TLS")))

	resp, err := secure.Retr("secret.txt")
	if err != nil {
		panic(err)
	}

	var got bytes.Buffer
	_, _ = io.Copy(&got, resp)
	_ = resp.Close()
	fmt.Printf("with TLS, read back: %q\n", got.String())
	_ = secure.Quit()

	// Output:
	// without TLS: 421 TLS is required
	// with TLS, login: <nil>
	// with TLS, store: <nil>
	// with TLS, read back: "over TLS"
}

// exampleCertificates makes a throwaway self-signed certificate for 127.0.0.1 and the client
// configuration that trusts it. A real server loads its certificate with tls.LoadX509KeyPair.
func exampleCertificates() (*tls.Config, *tls.Config) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}

	template := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "ftpkit example"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}

	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}

	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}

	pool := x509.NewCertPool()
	pool.AddCert(leaf)

	server := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}},
	}

	return server, &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool, ServerName: "127.0.0.1"}
}

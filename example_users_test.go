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
	"path"
	"strings"
	"time"

	"github.com/jlaffaye/ftp"
	"github.com/spf13/afero"

	"github.com/ftpkit/ftpserver"
)

// account is one user of usersDriver: a password, a home under the shared root, and whether the
// user may write.
type account struct {
	password string
	home     string
	readOnly bool
}

// usersDriver serves several users, each in a home of its own under one root, some read-only.
// A real driver keeps password hashes (bcrypt, argon2) rather than passwords.
type usersDriver struct {
	root     afero.Fs
	accounts map[string]account
	listener net.Listener
	tls      *tls.Config // nil: no TLS
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

func (d *usersDriver) ClientDisconnected(ftpserver.ClientContext) {}

func (d *usersDriver) AuthUser(_ ftpserver.ClientContext, user, pass string) (ftpserver.ClientDriver, error) {
	acc, ok := d.accounts[user]
	if !ok || subtle.ConstantTimeCompare([]byte(acc.password), []byte(pass)) != 1 {
		return nil, errors.New("bad credentials")
	}

	if err := d.root.MkdirAll(acc.home, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s's home: %w", user, err)
	}

	// The library resolves every path against "/", so the prefix keeps the user in the home.
	fs := afero.NewBasePathFs(d.root, acc.home)
	if acc.readOnly {
		fs = afero.NewReadOnlyFs(fs)
	}

	return fs, nil
}

func (d *usersDriver) GetTLSConfig() (*tls.Config, error) {
	if d.tls == nil {
		return nil, errors.New("TLS not configured")
	}

	return d.tls, nil
}

// serveUsers starts a server for drv on a loopback port and returns its address and a function
// that stops it.
func serveUsers(drv *usersDriver) (string, func()) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}

	drv.listener = listener
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
	}
}

// Per-user homes under one root, one of them read-only. Each user sees its home as "/".
func Example_usersWithHomes() {
	root := afero.NewMemMapFs()
	addr, stop := serveUsers(&usersDriver{root: root, accounts: map[string]account{
		"alice": {password: "alice-secret", home: "/home/alice"},
		"guest": {password: "guest-secret", home: "/pub", readOnly: true},
	}})
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

	stored, _ := afero.ReadFile(root, path.Join("/home/alice", "notes.txt"))
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
	addr, stop := serveUsers(&usersDriver{
		root:     afero.NewMemMapFs(),
		accounts: map[string]account{"alice": {password: "alice-secret", home: "/alice"}},
		tls:      serverTLS,
	})
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

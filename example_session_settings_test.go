package ftpserver_test

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/jlaffaye/ftp"
	"github.com/spf13/afero"

	"github.com/ftpkit/ftpserver"
)

// partnerFs is the file system of a partner who may read but not write, hold two sessions at
// most, and download at 1 MB/s in all its sessions together.
type partnerFs struct {
	afero.Fs
}

// SessionSettings implements ftpserver.ClientDriverExtensionSessionSettings.
func (partnerFs) SessionSettings() ftpserver.SessionSettings {
	return ftpserver.SessionSettings{
		IdleTimeout:         time.Hour, // a slow partner
		MaxUserDownloadRate: 1_000_000,
		MaxSessions:         2,
		ReadOnly:            true,
	}
}

// partnerDriver serves partnerFs to the user "partner".
type partnerDriver struct {
	listener net.Listener
	fs       afero.Fs
}

func (d *partnerDriver) GetSettings() (*ftpserver.Settings, error) {
	return &ftpserver.Settings{Listener: d.listener}, nil
}

func (d *partnerDriver) ClientConnected(ftpserver.ClientContext) (string, error) {
	return "Welcome", nil
}

func (d *partnerDriver) ClientDisconnected(ftpserver.ClientContext) {}

func (d *partnerDriver) AuthUser(_ ftpserver.ClientContext, user, pass string) (ftpserver.ClientDriver, error) {
	if user != "partner" || pass != "secret" { // compare secrets in constant time in real code
		return nil, errors.New("bad credentials")
	}

	return partnerFs{d.fs}, nil
}

func (d *partnerDriver) GetTLSConfig() (*tls.Config, error) {
	return nil, errors.New("TLS not configured")
}

func ExampleClientDriverExtensionSessionSettings() {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}

	server := ftpserver.NewFtpServer(&partnerDriver{listener: listener, fs: afero.NewMemMapFs()})
	if err = server.Listen(); err != nil {
		panic(err)
	}

	go func() { _ = server.Serve() }()
	defer func() { _ = server.Stop() }()

	login := func() (*ftp.ServerConn, error) {
		conn, dialErr := ftp.Dial(listener.Addr().String(), ftp.DialWithTimeout(5*time.Second))
		if dialErr != nil {
			return nil, dialErr
		}

		loginErr := conn.Login("partner", "secret")

		return conn, loginErr
	}

	first, _ := login()
	fmt.Println("store:", first.Stor("upload.txt", strings.NewReader("x")))

	second, _ := login()
	_, err = login()
	fmt.Println("third session:", err)

	_ = first.Quit()
	_ = second.Quit()

	// Output:
	// store: 550 "Permission denied: read-only session"
	// third session: 421 "Too many sessions for this user; try again later"
}

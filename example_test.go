package ftpserver_test

import (
	"crypto/tls"
	"errors"
	"log"

	"github.com/spf13/afero"

	"github.com/ftpkit/ftpserver"
	"github.com/ftpkit/ftpserver/rootfs"
)

// driver serves one directory to one user. It is the README's embedding example, kept here so
// that it always compiles.
type driver struct {
	fs afero.Fs
}

func (d *driver) GetSettings() (*ftpserver.Settings, error) {
	return &ftpserver.Settings{
		ListenAddr: "127.0.0.1:2121",
		// RFC 959 makes ASCII the default TYPE, and the library keeps it; most clients send
		// TYPE I before a transfer anyway, and binary spares the others a conversion that
		// corrupts anything but text.
		DefaultTransferType: ftpserver.TransferTypeBinary,
	}, nil
}

func (d *driver) ClientConnected(ftpserver.ClientContext) (string, error) {
	return "Welcome", nil
}

func (d *driver) ClientDisconnected(ftpserver.ClientContext) {}

func (d *driver) AuthUser(_ ftpserver.ClientContext, user, pass string) (ftpserver.ClientDriver, error) {
	if user != "demo" || pass != "demo" { // compare secrets in constant time in real code
		return nil, errors.New("bad credentials")
	}

	return d.fs, nil
}

func (d *driver) GetTLSConfig() (*tls.Config, error) {
	return nil, errors.New("TLS not configured")
}

func Example() {
	fs, err := rootfs.New("/srv/ftp")
	if err != nil {
		log.Fatal(err)
	}

	server := ftpserver.NewFtpServer(&driver{fs: fs})
	err = server.ListenAndServe()

	fs.Close() // once no session uses it
	if err != nil {
		log.Fatal(err)
	}
}

package ftpserver_test

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strings"
	"time"

	"github.com/jlaffaye/ftp"
	"github.com/spf13/afero"

	"github.com/ftpkit/ftpserver"
)

// scannedFs is a user's file system that looks into every upload before it appears: here it
// refuses files that contain a forbidden marker, as a virus scanner would refuse a signature.
type scannedFs struct {
	afero.Fs
}

var errForbidden = errors.New("forbidden content")

// CheckUpload implements ftpserver.ClientDriverExtensionUploadCheck.
func (s scannedFs) CheckUpload(_ ftpserver.ClientContext, _ string, received ftpserver.ReceivedUpload) error {
	file, err := received.Open()
	if err != nil {
		return err
	}
	defer file.Close()

	// A real scanner streams the file; the example reads it whole.
	content, err := io.ReadAll(file)
	if err != nil {
		return err
	}

	if bytes.Contains(content, []byte("FORBIDDEN")) {
		return errForbidden
	}

	return nil
}

// scanningDriver serves one scannedFs to any user.
type scanningDriver struct {
	listener net.Listener
	fs       scannedFs
}

func (d *scanningDriver) GetSettings() (*ftpserver.Settings, error) {
	return &ftpserver.Settings{
		Listener:            d.listener,
		DefaultTransferType: ftpserver.TransferTypeBinary,
		// Under TLS, an upload must also end with the client's close_notify to be kept.
		TLSCloseNotify: ftpserver.CloseNotifyRequired,
	}, nil
}

func (d *scanningDriver) ClientConnected(ftpserver.ClientContext) (string, error) { return "", nil }

func (d *scanningDriver) ClientDisconnected(ftpserver.ClientContext) {}

func (d *scanningDriver) AuthUser(ftpserver.ClientContext, string, string) (ftpserver.ClientDriver, error) {
	return d.fs, nil
}

func (d *scanningDriver) GetTLSConfig() (*tls.Config, error) {
	return nil, errors.New("TLS not configured")
}

// An upload is checked once it has arrived and before it appears under its name: a refused
// one gets 550 with the driver's text, and the file it would have replaced stays as it was.
func ExampleClientDriverExtensionUploadCheck() {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}

	fs := scannedFs{Fs: afero.NewMemMapFs()}
	server := ftpserver.NewFtpServer(&scanningDriver{listener: listener, fs: fs})

	if err = server.Listen(); err != nil {
		panic(err)
	}

	go func() { _ = server.Serve() }()
	defer server.Stop() //nolint:errcheck // the example ends here

	client, err := ftp.Dial(listener.Addr().String(), ftp.DialWithTimeout(5*time.Second))
	if err != nil {
		panic(err)
	}

	_ = client.Login("any", "any")
	fmt.Println("clean upload:", client.Stor("report.txt", strings.NewReader("quarterly figures")))

	var refused *textproto.Error
	if errors.As(client.Stor("report.txt", strings.NewReader("FORBIDDEN payload")), &refused) {
		fmt.Println("refused upload:", refused.Code, refused.Msg)
	}

	_ = client.Quit()

	kept, _ := afero.ReadFile(fs, "/report.txt")
	fmt.Printf("report.txt: %q\n", kept)

	// Output:
	// clean upload: <nil>
	// refused upload: 550 Upload refused: forbidden content
	// report.txt: "quarterly figures"
}

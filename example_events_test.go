package ftpserver_test

import (
	"fmt"
	"log"
	"strings"

	"github.com/jlaffaye/ftp"
	"github.com/spf13/afero"

	"github.com/ftpkit/ftpserver"
)

// auditDriver is the example's driver with MainDriverExtensionEvents: it records who did what
// to which file. HandleEvent must return quickly, so it only hands the event to a channel; a
// real driver would have a goroutine of its own write them out.
type auditDriver struct {
	*driver

	events chan ftpserver.Event
}

func (d *auditDriver) GetSettings() (*ftpserver.Settings, error) {
	return &ftpserver.Settings{ListenAddr: "127.0.0.1:0", DefaultTransferType: ftpserver.TransferTypeBinary}, nil
}

func (d *auditDriver) HandleEvent(_ ftpserver.ClientContext, event ftpserver.Event) {
	select {
	case d.events <- event:
	default: // full: drop it rather than hold up the session
	}
}

// describe writes an event as a line of the audit trail, "" for the events it leaves out.
func describe(e ftpserver.Event) string {
	result := "ok"
	if e.Err != nil {
		result = "failed" // e.Err says why
	}

	switch e.Kind {
	case ftpserver.EventConnected, ftpserver.EventLoginSucceeded, ftpserver.EventLoginFailed,
		ftpserver.EventDisconnected:
		return ""
	case ftpserver.EventTransferEnded:
		return fmt.Sprintf("%s %s %s %s, %d bytes: %s", e.User, e.Direction, e.Command, e.Path, e.Bytes, result)
	case ftpserver.EventRenamed, ftpserver.EventSymlinkCreated:
		return fmt.Sprintf("%s %s %s %s -> %s: %s", e.User, e.Kind, e.Command, e.Path, e.Target, result)
	default:
		// Every other file operation, and the kinds later versions add: a switch over kinds
		// needs a default.
		return fmt.Sprintf("%s %s %s %s: %s", e.User, e.Kind, e.Command, e.Path, result)
	}
}

// A driver that follows the file operations of its clients: each one is an event, failed ones
// included, with the user, the command, the path or paths and the result.
func ExampleMainDriverExtensionEvents() {
	drv := &auditDriver{driver: &driver{fs: afero.NewMemMapFs()}, events: make(chan ftpserver.Event, 64)}

	server := ftpserver.NewFtpServer(drv)
	if err := server.Listen(); err != nil {
		log.Fatal(err)
	}

	go func() { _ = server.Serve() }()

	client, err := ftp.Dial(server.Addr())
	if err != nil {
		log.Fatal(err)
	}

	_ = client.Login("demo", "demo")
	_ = client.MakeDir("/docs")
	_ = client.Stor("/docs/a.txt", strings.NewReader("hello"))
	_ = client.Rename("/docs/a.txt", "/docs/b.txt")
	_ = client.Delete("/docs/missing.txt")
	_ = client.Delete("/docs/b.txt")
	_ = client.Quit()

	_ = server.Stop() // returns once every session has ended: no event comes after it
	close(drv.events)

	for event := range drv.events {
		if line := describe(event); line != "" {
			fmt.Println(line)
		}
	}

	// Output:
	// demo dir_created MKD /docs: ok
	// demo upload STOR /docs/a.txt, 5 bytes: ok
	// demo renamed RNTO /docs/a.txt -> /docs/b.txt: ok
	// demo file_deleted DELE /docs/missing.txt: failed
	// demo file_deleted DELE /docs/b.txt: ok
}

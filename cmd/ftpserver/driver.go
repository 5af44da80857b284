package main

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/spf13/afero"

	"github.com/ftpkit/ftpserver"
	"github.com/ftpkit/ftpserver/rootfs"
)

// memoryCapacity is the size AVBL reports for the in-memory file system, less the bytes its
// files hold. It is a figure for clients to display, not a quota: uploads are not refused.
const memoryCapacity = 1 << 30 // 1 GiB

// welcomeMessage is the text of the 220 reply sent to every new client.
const welcomeMessage = "ftpkit test server"

var (
	// errBadCredentials refuses a login; the server replies 530.
	errBadCredentials = errors.New("wrong user name or password")
	// errTLSNotConfigured refuses AUTH TLS: this server has no certificate.
	errTLSNotConfigured = errors.New("TLS not configured")
)

// driver is the MainDriver of the bundled server: one user, or the users of -users, on one file
// system; each user of -users sees its home directory of it.
type driver struct {
	cfg       *config
	fs        afero.Fs                  // the root: memory, -root or -s3-bucket
	users     atomic.Pointer[userTable] // nil without -users; replaced on reload
	available func(dirName string) (int64, error)
	tls       *tls.Config // nil without -tls
	bans      *banList    // nil when bans are off
	events    *observer   // nil: events are not followed
	logs      *eventLogs  // -audit-log and -xferlog; nil without them

	certs *certificateFile // -cert and -key, read again on SIGHUP; nil without -cert

	closeFs func() error // releases fs; nil when it holds nothing open
	homes   sessionHomes // the homes opened for logged-in sessions

	// sharedBans shares bans with the fleet (-ban-store); nil without it. It is set once,
	// before the server listens.
	sharedBans *banStore
}

var (
	_ ftpserver.MainDriverExtensionConnectionFilter = (*driver)(nil)
	_ ftpserver.MainDriverExtensionLoginFailures    = (*driver)(nil)
	_ ftpserver.MainDriverExtensionEvents           = (*driver)(nil)
)

// HandleEvent passes the server's events to the observer, which logs transfers and counts
// them for -metrics, and to the -audit-log and -xferlog files.
func (d *driver) HandleEvent(cc ftpserver.ClientContext, event ftpserver.Event) {
	if d.events != nil {
		d.events.HandleEvent(cc, event)
	}

	d.logs.handle(cc, event)
}

// newDriver builds the driver for cfg, creating the -root directory if it is missing (which
// parseFlags allows only with -root-create).
func newDriver(cfg *config) (*driver, error) {
	d, err := newFsDriver(cfg)
	if err != nil {
		return nil, err
	}

	d.bans = newBanList(cfg.maxLoginFailures, cfg.banWindow, cfg.banDuration, cfg.banExempt)

	if cfg.usersFile != "" {
		table, loadErr := loadUsers(cfg.usersFile)
		if loadErr != nil {
			return nil, loadErr
		}

		d.users.Store(table)
	}

	if cfg.tls {
		if d.tls, d.certs, err = newTLSConfig(cfg.certFile, cfg.keyFile); err != nil {
			_ = d.Close()

			return nil, err
		}
	}

	return d, nil
}

// newFsDriver builds the driver's file system: memory, the -root directory, or -s3-bucket.
func newFsDriver(cfg *config) (*driver, error) {
	if cfg.s3.bucket != "" {
		return newS3Driver(cfg)
	}

	if cfg.root == "" {
		fs := afero.NewMemMapFs()

		return &driver{cfg: cfg, fs: fs, available: func(string) (int64, error) { return memoryAvailable(fs) }}, nil
	}

	root, err := filepath.Abs(cfg.root)
	if err != nil {
		return nil, fmt.Errorf("-root: %w", err)
	}

	if err := os.MkdirAll(root, 0o750); err != nil { //nolint:gosec // G703: the directory the administrator named
		return nil, fmt.Errorf("-root: %w", err)
	}

	// os.Root, not a path prefix: links in the tree, however they are moved, cannot lead a
	// client outside it.
	fs, fsErr := rootfs.New(root)
	if fsErr != nil {
		return nil, fmt.Errorf("-root: %w", fsErr)
	}

	cfg.root = root

	return &driver{cfg: cfg, fs: fs, available: availableIn(fs), closeFs: fs.Close}, nil
}

// availableIn answers AVBL for a directory of fs, a jail of the local file system: the free
// space of the file system holding it. The directory is opened through fs, so the figure is
// never that of a file system a link leads to.
func availableIn(fs *rootfs.Fs) func(dirName string) (int64, error) {
	return func(dirName string) (int64, error) {
		dir, err := fs.Open(dirName)
		if err != nil {
			return 0, err
		}
		defer dir.Close()

		file, ok := dir.(*os.File)
		if !ok {
			return 0, fmt.Errorf("free space: %w", errors.ErrUnsupported)
		}

		return diskAvailable(file)
	}
}

// Close releases what the driver opened: the homes still open and the -root directory. It is
// called once every session has ended.
func (d *driver) Close() error {
	d.homes.closeAll()
	d.logs.close()

	if d.sharedBans != nil {
		_ = d.sharedBans.close() // nothing is left to tell the store
	}

	if d.closeFs == nil {
		return nil
	}

	return d.closeFs()
}

// describe says what a listener of the driver serves, for the start message.
func (d *driver) describe(implicit bool) string {
	what := "directory " + d.cfg.root
	if d.cfg.root == "" {
		what = "in-memory file system"
	}

	if d.cfg.s3.bucket != "" {
		what = d.cfg.s3.describe()
	}

	switch {
	case implicit:
		return "implicit TLS, " + what
	case d.cfg.tlsRequired:
		return "TLS required, " + what
	case d.cfg.tls:
		return "explicit TLS offered, " + what
	default:
		return what
	}
}

// GetSettings returns the settings built from the command line, with the optional commands
// (HASH and the X* checksums, COMB, MODE Z) and atomic uploads turned on.
func (d *driver) GetSettings() (*ftpserver.Settings, error) {
	settings := &ftpserver.Settings{
		ListenAddr:              d.cfg.listen,
		PublicHost:              d.cfg.publicHost,
		IdleTimeout:             d.cfg.idleTimeout,
		MaxClients:              d.cfg.maxClients,
		MaxClientsPerIP:         d.cfg.maxClientsPerIP,
		EnableHASH:              true,
		EnableCOMB:              true,
		DeflateCompressionLevel: 5,
		DefaultTransferType:     ftpserver.TransferTypeBinary,
		Banner:                  welcomeMessage,
		MaxLoginFailures:        d.cfg.maxLoginFailures,
		LoginFailureDelay:       d.cfg.loginFailureDelay,
		MaxUploadRate:           d.cfg.maxUploadRate,
		MaxDownloadRate:         d.cfg.maxDownloadRate,
		MaxHashSize:             d.cfg.maxHashSizeSetting(),
	}

	// S3 stores an object whole or not at all, so a temporary object would only be copied again.
	settings.AtomicUploads = d.cfg.atomicUploads && d.cfg.s3.bucket == ""

	// The flags' 0 means none; the library's 0 means its default and a negative value none.
	if d.cfg.maxLoginFailures <= 0 {
		settings.MaxLoginFailures = -1
	}

	if d.cfg.loginFailureDelay == 0 {
		settings.LoginFailureDelay = -1
	}

	if d.cfg.tlsRequired {
		settings.TLSRequired = ftpserver.MandatoryEncryption
	}

	settings.TLSRequireSessionReuse = d.cfg.tlsReuseNeeded
	d.cfg.trust.apply(settings)

	// Assigned only when set: a nil *PortRange in the interface would not compare equal to nil.
	if d.cfg.pasvPorts != nil {
		settings.PassiveTransferPortRange = d.cfg.pasvPorts
	}

	d.cfg.applyProxySettings(settings)

	return settings, nil
}

// ClientConnected welcomes every client, and with -debug has its commands logged. With
// -ban-store it refuses, 421, an address the fleet has banned since this node last heard.
func (d *driver) ClientConnected(cc ftpserver.ClientContext) (string, error) {
	if d.cfg.debug {
		cc.SetDebug(true)
	}

	if d.sharedBans != nil {
		if err := d.sharedBans.check(cc.RemoteAddr()); err != nil {
			return "", err
		}
	}

	return welcomeMessage, nil
}

// ClientDisconnected closes the home the session opened at login, if any.
func (d *driver) ClientDisconnected(cc ftpserver.ClientContext) {
	d.homes.closeSession(cc)
}

// AuthUser accepts the users of -users, each in its home, or else the one user of the command
// line. For the latter both names are hashed first so that the comparison takes the same time
// whatever their lengths. With -ban-store an address the fleet has banned is refused first,
// whatever its password: the ban may be younger than its announcement to this node.
func (d *driver) AuthUser(cc ftpserver.ClientContext, user, pass string) (ftpserver.ClientDriver, error) {
	if d.sharedBans != nil {
		if err := d.sharedBans.check(cc.RemoteAddr()); err != nil {
			return nil, err
		}
	}

	if table := d.users.Load(); table != nil {
		acct, err := table.authenticate(user, pass)
		if err != nil {
			return nil, err
		}

		return d.accountDriver(cc, acct)
	}

	userOK := equalSecret(user, d.cfg.user)
	passOK := equalSecret(pass, d.cfg.pass)

	if userOK&passOK != 1 {
		return nil, errBadCredentials
	}

	return d.checked((&clientDriver{Fs: d.fs, available: d.available}).withLinks(d.fs)), nil
}

// AllowConnection refuses the addresses banned for failing to log in too often.
func (d *driver) AllowConnection(remote net.Addr) error {
	if d.bans == nil {
		return nil
	}

	return d.bans.AllowConnection(remote)
}

// LoginFailed counts a failed login against its address, on this node and, with -ban-store,
// for the fleet. A login refused because the address is banned already is not counted.
func (d *driver) LoginFailed(cc ftpserver.ClientContext, user string, err error) {
	if d.bans == nil || errors.Is(err, errBanned) {
		return
	}

	d.bans.LoginFailed(cc, user, err)

	if d.sharedBans != nil {
		d.sharedBans.countFailure(cc.RemoteAddr())
	}
}

// GetTLSConfig returns the certificate of -tls, or refuses TLS without it.
func (d *driver) GetTLSConfig() (*tls.Config, error) {
	if d.tls == nil {
		return nil, errTLSNotConfigured
	}

	return d.tls, nil
}

// implicitDriver is the driver of the -implicit-listen server: the same users, files and
// certificate, on another address, with TLS from the first byte.
type implicitDriver struct{ *driver }

// GetSettings returns the main settings moved to -implicit-listen with implicit TLS.
func (d implicitDriver) GetSettings() (*ftpserver.Settings, error) {
	settings, err := d.driver.GetSettings()
	if err != nil {
		return nil, err
	}

	settings.ListenAddr = d.cfg.implicitListen
	settings.TLSRequired = ftpserver.ImplicitEncryption

	return settings, nil
}

// errUnknownHost refuses a HOST name that is not among -hosts; the server replies 504.
var errUnknownHost = errors.New("no such virtual host here")

// AcceptHost answers HOST (RFC 7151): any name without -hosts, else only those names.
func (d *driver) AcceptHost(_ ftpserver.ClientContext, host string) error {
	if len(d.cfg.hosts) == 0 {
		return nil
	}

	for _, name := range d.cfg.hosts {
		if strings.EqualFold(name, host) {
			return nil
		}
	}

	return fmt.Errorf("%w: %s", errUnknownHost, host)
}

// equalSecret returns 1 when a and b are equal and 0 otherwise, in a time that does not depend
// on where they differ nor on their lengths.
func equalSecret(a, b string) int {
	ha := sha256.Sum256([]byte(a))
	hb := sha256.Sum256([]byte(b))

	return subtle.ConstantTimeCompare(ha[:], hb[:])
}

// clientDriver is the file system of a logged-in client, with AVBL and SITE SYMLINK. The
// library sees it through withLinks, which passes on the link interfaces of Fs.
type clientDriver struct {
	afero.Fs

	available func(dirName string) (int64, error)
	readOnly  bool                      // Fs refuses every write
	settings  ftpserver.SessionSettings // the user's own, from -users; zero for -user
}

var (
	_ ftpserver.MainDriverExtensionHost              = (*driver)(nil)
	_ ftpserver.ClientDriver                         = (*clientDriver)(nil)
	_ ftpserver.ClientDriverExtensionAvailableSpace  = (*clientDriver)(nil)
	_ ftpserver.ClientDriverExtensionSymlink         = (*clientDriver)(nil)
	_ ftpserver.ClientDriverExtensionSessionSettings = (*clientDriver)(nil)
)

// SessionSettings gives the library the user's settings from -users, once per login.
func (c *clientDriver) SessionSettings() ftpserver.SessionSettings {
	return c.settings
}

// GetAvailableSpace answers AVBL: the free space of the file system holding dirName for -root,
// memoryCapacity less the bytes stored for the in-memory file system.
func (c *clientDriver) GetAvailableSpace(dirName string) (int64, error) {
	return c.available(dirName)
}

// Symlink answers SITE SYMLINK where the file system can make links (-root); elsewhere it
// fails with an error wrapping os.ErrPermission.
func (c *clientDriver) Symlink(oldname, newname string) error {
	linker, ok := c.Fs.(afero.Linker)
	if !ok || c.readOnly {
		return &os.LinkError{Op: "symlink", Old: oldname, New: newname, Err: os.ErrPermission}
	}

	if err := linker.SymlinkIfPossible(oldname, newname); err != nil {
		return fmt.Errorf("symlink: %w", err)
	}

	return nil
}

// memoryAvailable returns memoryCapacity less the size of the files of fs, and 0 when they
// hold more.
func memoryAvailable(fs afero.Fs) (int64, error) {
	var used int64

	err := afero.Walk(fs, "/", func(_ string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}

		if info.Mode().IsRegular() {
			used += info.Size()
		}

		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("measuring the in-memory file system: %w", err)
	}

	return max(memoryCapacity-used, 0), nil
}

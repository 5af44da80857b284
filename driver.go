package ftpserver

import (
	"crypto/tls"
	"io"
	"net"
	"os"

	"github.com/spf13/afero"
)

// MainDriver is what an application implements to run a server: it supplies the settings, greets
// clients, authenticates them and hands each logged-in user a file system.
type MainDriver interface {
	// GetSettings is called once, by Listen. An error aborts Listen. Fields left at their zero
	// value get the defaults documented on Settings.
	GetSettings() (*Settings, error)

	// ClientConnected is called when a control connection is accepted, before anything is sent.
	// The returned string is the 220 welcome message (several lines are allowed). An error
	// closes the connection with a 421 reply carrying the error text.
	ClientConnected(cc ClientContext) (string, error)

	// ClientDisconnected is called once when a control connection ends, whether or not the
	// client logged in.
	ClientDisconnected(cc ClientContext)

	// AuthUser is called on PASS. It returns the file system of that user; an error refuses
	// the login with 530 and the client may try again.
	AuthUser(cc ClientContext, user, pass string) (ClientDriver, error)

	// GetTLSConfig is called each time a TLS session starts (AUTH TLS, implicit TLS, a
	// protected data connection), so a certificate can be replaced without a restart. An
	// error refuses TLS with 431 (AUTH) or 425/421 as appropriate.
	GetTLSConfig() (*tls.Config, error)
}

// MainDriverExtensionTLSVerifier lets a driver authenticate by the client's TLS certificate.
type MainDriverExtensionTLSVerifier interface {
	// VerifyConnection is called on USER when the control connection is TLS. A non-nil
	// ClientDriver with a nil error logs the user in without a password (232); a nil
	// ClientDriver with a nil error asks for the password as usual; an error replies 530 and
	// closes the connection.
	VerifyConnection(cc ClientContext, user string, tlsConn *tls.Conn) (ClientDriver, error)
}

// MainDriverExtensionPassiveWrapper lets a driver wrap the listener of each passive data
// connection (to add PROXY protocol support, for example).
type MainDriverExtensionPassiveWrapper interface {
	// WrapPassiveListener is called after a passive listener is opened. The returned listener
	// is used instead; an error fails PASV/EPSV with 425.
	WrapPassiveListener(listener net.Listener) (net.Listener, error)
}

// MainDriverExtensionUserVerifier lets a driver check a user name before the password is asked.
type MainDriverExtensionUserVerifier interface {
	// PreAuthUser is called on USER. An error replies 530 and the client stays logged out. It
	// is the place to decide a per-user TLS requirement with ClientContext.SetTLSRequirement.
	PreAuthUser(cc ClientContext, user string) error
}

// MainDriverExtensionHost lets one server carry several sites, told apart by the name the client
// connected to, which it gives with HOST before logging in (RFC 7151), as HTTP's Host header does.
type MainDriverExtensionHost interface {
	// AcceptHost is called on HOST, which is only allowed before USER. host is the name the
	// client gave, in lower case: a domain name, an IPv4 address or an IPv6 address in brackets,
	// never with a port. nil accepts it (220) and makes it the client's host, which AuthUser and
	// later calls read through ClientContextHost; an error refuses it with 504 and the client
	// keeps the host it had. Without this extension HOST accepts any well-formed name.
	AcceptHost(cc ClientContext, host string) error
}

// MainDriverExtensionPostAuthMessage lets a driver choose the reply text sent after PASS.
type MainDriverExtensionPostAuthMessage interface {
	// PostAuthMessage is called after AuthUser with its error (nil on success). A non-empty
	// result replaces the text of the 230 or 530 reply.
	PostAuthMessage(cc ClientContext, user string, authErr error) string
}

// MainDriverExtensionQuitMessage lets a driver choose the goodbye text sent on QUIT.
type MainDriverExtensionQuitMessage interface {
	// QuitMessage is called on QUIT; its result is the text of the 221 reply.
	QuitMessage() string
}

// MainDriverExtensionConnectionFilter lets a driver refuse control connections by address,
// to keep banned or unwanted clients out before they cost anything.
type MainDriverExtensionConnectionFilter interface {
	// AllowConnection is called for each accepted control connection, before the client
	// limits, before any TLS handshake and before ClientConnected. An error refuses it: the
	// client gets "421 " and the error's text and is closed, and neither ClientConnected nor
	// ClientDisconnected is called. It runs on the accept loop, so it must return quickly (a
	// map lookup, not a network query); a panic in it refuses the connection.
	//
	// It is asked again, with the same address, before each USER and PASS of a client not
	// logged in yet, so that a ban decided while a connection is open (in LoginFailed, for
	// example) reaches that connection too: an error then is answered "421 " and the error's
	// text, and the session ends (ClientDisconnected is called).
	AllowConnection(remote net.Addr) error
}

// MainDriverExtensionLoginFailures lets a driver see failed logins, to ban an address that
// guesses passwords across connections for example.
type MainDriverExtensionLoginFailures interface {
	// LoginFailed is called after each failed login of a connection: a PASS refused by
	// AuthUser, a USER refused by PreAuthUser, a TLS certificate refused by VerifyConnection.
	// user is the name tried and err the driver's error. It is called before the failure is
	// answered (and before Settings.LoginFailureDelay); calling cc.Close from it ends the
	// session at once.
	LoginFailed(cc ClientContext, user string, err error)
}

// ClientDriver is the file system of one logged-in user. Every path it receives is absolute,
// cleaned and rooted at "/": a client can never name anything above it.
type ClientDriver interface {
	afero.Fs
}

// ClientDriverExtensionAllocate adds support for ALLO.
type ClientDriverExtensionAllocate interface {
	// AllocateSpace is called on ALLO with the announced size. An error replies 552 when it is
	// ErrStorageExceeded and 550 otherwise. Without this extension ALLO answers 202.
	AllocateSpace(size int) error
}

// ClientDriverExtensionAvailableSpace adds support for AVBL.
type ClientDriverExtensionAvailableSpace interface {
	// GetAvailableSpace returns the bytes a client may still store in dirName. Without this
	// extension AVBL answers 502.
	GetAvailableSpace(dirName string) (int64, error)
}

// ClientDriverExtensionSymlink adds support for SITE SYMLINK.
type ClientDriverExtensionSymlink interface {
	// Symlink creates newname pointing at oldname; both are client paths resolved like any
	// other. An error is mapped to a reply code like every driver error.
	Symlink(oldname, newname string) error
}

// ClientDriverExtensionFileList replaces Open+Readdir for listings.
type ClientDriverExtensionFileList interface {
	// ReadDir returns the entries of a directory for LIST, NLST, MLSD and STAT.
	ReadDir(name string) ([]os.FileInfo, error)
}

// ClientDriverExtentionFileTransfer (sic, the name is kept for compatibility) replaces
// Open/OpenFile for transfers.
type ClientDriverExtentionFileTransfer interface {
	// GetHandle opens name for a transfer. flags is os.O_RDONLY for RETR; for uploads it is
	// os.O_WRONLY|os.O_CREATE with os.O_TRUNC (STOR), os.O_APPEND (APPE), or neither (STOR after
	// REST, which overwrites from offset on). offset is the REST offset or 0; the handle must be
	// positioned there.
	GetHandle(name string, flags int, offset int64) (FileTransfer, error)
}

// ClientDriverExtensionRemoveDir makes RMD distinct from DELE.
type ClientDriverExtensionRemoveDir interface {
	// RemoveDir is called on RMD instead of Remove.
	RemoveDir(name string) error
}

// ClientDriverExtensionHasher computes digests for HASH and the X* checksum commands.
type ClientDriverExtensionHasher interface {
	// ComputeHash returns the lowercase hex digest of name's bytes from startOffset (included)
	// to endOffset (excluded). The server checks first that name is a regular file and always
	// passes a range within it, endOffset being the file's size for the whole file (as
	// ftpserverlib passes it), so endOffset is 0 only for an empty file. An error is answered
	// like any driver error (550 by default). It is called beside the session, as a transfer
	// runs, and only for a range within Settings.MaxHashSize; an ABOR, Stop or the end of the
	// session while it runs waits for it to return, and its digest is then dropped (426).
	// Without this extension the server streams the file through the hash itself, and stops
	// reading between chunks.
	ComputeHash(name string, algo HASHAlgo, startOffset, endOffset int64) (string, error)
}

// ClientDriverExtensionSite handles SITE subcommands.
type ClientDriverExtensionSite interface {
	// Site is called with everything after "SITE ". A non-nil answer is sent as is; nil lets
	// the server handle the built-in subcommands (CHMOD, CHOWN, SYMLINK, MKDIR, RMDIR).
	Site(param string) *AnswerCommand
}

// AnswerCommand is a reply a driver asks the server to send.
type AnswerCommand struct {
	Code    int    // reply code, e.g. StatusOK
	Message string // reply text; a multi-line text becomes a multi-line reply
}

// FileTransfer is an open file being transferred.
type FileTransfer interface {
	io.Reader
	io.Writer
	io.Seeker
	io.Closer
}

// FileTransferError is an optional FileTransfer extension.
type FileTransferError interface {
	// TransferError is called, before Close, when a transfer did not complete: the client
	// aborted, the connection broke or a write failed.
	TransferError(err error)
}

// Flusher is an optional FileTransfer extension.
type Flusher interface {
	// Flush is called after an upload's last byte and before Close; an error fails the
	// transfer with 451.
	Flush() error
}

// TransferFinalizer is an optional extension of a data connection: when a transfer has moved all
// its data, FinalizeTransfer is called before the connection is closed, and its error fails the
// transfer (451). The server's MODE Z stream implements it to write the end of its zlib stream,
// then calls the FinalizeTransfer of the connection beneath it. A driver's connection takes part
// through MainDriverExtensionPassiveWrapper: a net.Conn returned by the wrapped listener's Accept
// that implements TransferFinalizer is finalized after each successful transfer over it, unless
// PROT P wraps it in TLS. FinalizeTransfer is not Close: the connection is closed afterwards in
// every case.
type TransferFinalizer interface {
	FinalizeTransfer() error
}

// ClientContext is the view a driver has of one client connection. Its methods are safe to call
// from the driver's callbacks.
type ClientContext interface {
	// Path returns the current working directory.
	Path() string
	// SetPath sets the working directory; call it from AuthUser to choose a start directory.
	SetPath(value string)
	// SetListPath sets the directory listed by a LIST/NLST/MLSD without argument (by default
	// the working directory); the next CWD resets it.
	SetListPath(value string)
	// SetDebug turns on logging of every command and reply of this client.
	SetDebug(debug bool)
	// Debug tells whether SetDebug(true) was called.
	Debug() bool
	// ID is unique among the clients of one server.
	ID() uint32
	// RemoteAddr is the client's address: behind a load balancer with Settings.ProxyProtocol,
	// the source its PROXY header gives, not the balancer's.
	RemoteAddr() net.Addr
	// LocalAddr is the server address the client connected to: with Settings.ProxyProtocol,
	// the destination its PROXY header gives (the balancer's front end).
	LocalAddr() net.Addr
	// GetClientVersion is what the client sent with CLNT, or "".
	GetClientVersion() string
	// Close ends the control connection.
	Close() error
	// HasTLSForControl tells whether the control connection is TLS.
	HasTLSForControl() bool
	// HasTLSForTransfers tells whether data connections are protected (PROT P).
	HasTLSForTransfers() bool
	// GetLastCommand returns the verb of the command being or last handled.
	GetLastCommand() string
	// GetLastDataChannel tells whether the last data connection was passive or active.
	GetLastDataChannel() DataChannel
	// SetTLSRequirement sets the TLS policy for this client only. It fails when the client
	// already did what the new policy forbids (e.g. logged in over clear text).
	SetTLSRequirement(requirement TLSRequirement) error
	// SetExtra stores any value the driver wants to keep with the client.
	SetExtra(extra any)
	// Extra returns what SetExtra stored.
	Extra() any
}

// ClientContextHost is implemented by every ClientContext the server hands to a driver. It is
// not part of ClientContext so that implementations of ClientContext written for
// ftpserverlib (test doubles, mostly) keep compiling; a driver reads it with a type assertion:
//
//	if h, ok := cc.(ftpserver.ClientContextHost); ok && h.Host() == "ftp.example.com" { ... }
type ClientContextHost interface {
	// Host returns the virtual host the client named with HOST (RFC 7151), as
	// MainDriverExtensionHost.AcceptHost received it, or "" when it sent none. REIN clears it.
	Host() string
}

// PasvPortGetter chooses the ports of passive listeners.
type PasvPortGetter interface {
	// FetchNext returns a port to announce to the client and the port to listen on (the same
	// unless a NAT maps them), and false when it has no port to offer.
	FetchNext() (exposedPort int, listenedPort int, ok bool)
	// NumberAttempts is how many ports to try before PASV fails with 425.
	NumberAttempts() int
}

// PublicIPResolver returns the IP announced in PASV replies for a client; an error makes PASV
// fall back to PublicHost or the control connection's local address.
type PublicIPResolver func(ClientContext) (string, error)

// TLSRequirement is the TLS policy of a server or a client.
type TLSRequirement int8

// TLS policies.
const (
	// ClearOrEncrypted lets each client choose.
	ClearOrEncrypted TLSRequirement = iota
	// MandatoryEncryption refuses login and transfers until the client has started TLS.
	MandatoryEncryption
	// ImplicitEncryption speaks TLS from the first byte (usually on port 990).
	ImplicitEncryption
)

// DataConnectionRequirement says how data connections are checked against the control one.
type DataConnectionRequirement int8

// Data connection checks.
const (
	// IPMatchRequired, the default, requires the data connection's peer to be the control
	// connection's: it stops FTP bounce attacks and data connection theft.
	IPMatchRequired DataConnectionRequirement = iota
	// IPMatchDisabled accepts any peer.
	IPMatchDisabled
)

// TransferType is the representation type set by TYPE.
type TransferType int8

// Transfer types.
const (
	// TransferTypeASCII converts line ends (TYPE A).
	TransferTypeASCII TransferType = iota
	// TransferTypeBinary sends bytes as they are (TYPE I).
	TransferTypeBinary
)

// TransferMode is the transfer mode set by MODE: the session's data connections carry the
// data as it is, or compressed.
type TransferMode int8

// Transfer modes.
const (
	// TransferModeStream sends the data as it is (MODE S, RFC 959 3.4.1), the mode of a new
	// session and after REIN.
	TransferModeStream TransferMode = iota
	// TransferModeDeflate compresses each data connection (MODE Z, draft-preston-ftpext-deflate),
	// available when Settings.DeflateCompressionLevel is above 0. Each direction of a data
	// connection is one zlib stream (RFC 1950), the framing lftp and ProFTPD use.
	TransferModeDeflate
)

// DataChannel says how the last data connection was opened.
type DataChannel int8

// Data channel kinds.
const (
	// DataChannelPassive is a connection the client opened (PASV, EPSV).
	DataChannelPassive DataChannel = iota + 1
	// DataChannelActive is a connection the server opened (PORT, EPRT).
	DataChannelActive
)

// HASHAlgo is a digest algorithm for HASH and the X* checksum commands.
type HASHAlgo int8

// Digest algorithms.
const (
	HASHAlgoCRC32 HASHAlgo = iota
	HASHAlgoMD5
	HASHAlgoSHA1
	HASHAlgoSHA256
	HASHAlgoSHA512
)

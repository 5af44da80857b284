package ftpserver

import (
	"net"
	"time"
)

// Defaults applied by Listen to the Settings fields left at zero.
const (
	DefaultListenAddr           = "0.0.0.0:2121"
	DefaultIdleTimeout          = 900 // seconds
	DefaultConnectionTimeout    = 30  // seconds
	DefaultMaxCommandLineLength = 4096
	DefaultLoginTimeout         = 60  // seconds
	DefaultTransferStallTimeout = 300 // seconds
	DefaultMaxLoginFailures     = 3
	DefaultLoginFailureDelay    = time.Second
	DefaultMaxLoginFailureDelay = 16 * time.Second
	DefaultMaxPathLength        = 4096 // bytes, Linux's PATH_MAX
)

// DefaultMaxHashSize is the default of Settings.MaxHashSize: 16 GiB.
const DefaultMaxHashSize = 16 << 30

// Defaults of the limits on wildcard arguments of LIST, NLST and STAT.
const (
	DefaultMaxWildcardMatches    = 10_000  // names
	DefaultMaxWildcardDirEntries = 100_000 // directory entries
)

// Settings is what MainDriver.GetSettings returns. Every field is optional but ListenAddr (or
// Listener); zero values get the defaults given beside each field.
//
// Units: the four timeouts that ftpserverlib also has (IdleTimeout, ConnectionTimeout,
// TransferStallTimeout, LoginTimeout) are int seconds, as there, so that its users' settings
// compile unchanged; every field that ftpkit adds (LoginFailureDelay, MaxLoginFailureDelay,
// ProxyHeaderTimeout...) is a time.Duration. Sizes are in bytes and rates in bytes per second.
type Settings struct {
	// Listener, when set, is used instead of listening on ListenAddr.
	Listener net.Listener
	// ListenAddr is the control connection address, "host:port"; IPv6 as "[::1]:21".
	// Default DefaultListenAddr.
	ListenAddr string
	// PublicHost is the IPv4 address announced in PASV replies, for servers behind NAT.
	// Default: the local address of the control connection.
	PublicHost string
	// PublicIPResolver, when set, chooses the PASV address per client; it wins over PublicHost.
	PublicIPResolver PublicIPResolver
	// PassiveTransferPortRange chooses passive ports: a PortRange or a PortMappingRange, as a
	// value or a pointer, or a PasvPortGetter of the driver's own. Default (nil): any port the
	// system gives. A nil pointer, such as a *PortRange left nil, is a misconfiguration: PASV
	// and EPSV are then answered 500 and the session goes on, and Listen fails with
	// PassiveTransferPortMultiplexing.
	PassiveTransferPortRange PasvPortGetter
	// ActiveTransferPortNon20 lets active connections leave from any local port instead of
	// the control port minus one (RFC 959's L-1, port 20 for a server on 21).
	ActiveTransferPortNon20 bool
	// IdleTimeout, in seconds, closes a control connection with 421 when no command arrives
	// for that long and no transfer runs. Default DefaultIdleTimeout; negative disables it.
	IdleTimeout int
	// ConnectionTimeout, in seconds, bounds opening a data connection (accept or dial, and its
	// TLS handshake). Default DefaultConnectionTimeout.
	ConnectionTimeout int
	// TransferStallTimeout, in seconds, aborts a transfer with 426 when its data connection
	// moves no chunk (256 KiB, or the rest of the file) for that long; on Linux, a download
	// sent by sendfile without a bandwidth limit, when it moves no byte for that long. Default
	// DefaultTransferStallTimeout; negative disables it.
	TransferStallTimeout int
	// LoginTimeout, in seconds, closes a connection with 421 that has not logged in by then.
	// Default DefaultLoginTimeout; negative disables it.
	LoginTimeout int
	// MaxCommandLineLength bounds a command line, in bytes, its line end excluded; a longer one
	// gets 500 as soon as that many bytes came, and the connection is closed. Default
	// DefaultMaxCommandLineLength.
	MaxCommandLineLength int
	// MaxClients bounds the simultaneous control connections; the next one gets 421 and is
	// closed. 0 means no limit.
	MaxClients int
	// MaxClientsPerIP bounds the simultaneous control connections from one IP; 0 means no
	// limit.
	MaxClientsPerIP int
	// MaxLoginFailures is how many failed logins (PASS refused by AuthUser, USER refused by
	// PreAuthUser) one control connection may make: the last one is answered 421 and the
	// connection closed. REIN and a successful login do not reset the count. Default
	// DefaultMaxLoginFailures; negative: no limit.
	MaxLoginFailures int
	// LoginFailureDelay delays the reply to a failed login: the first failure of a connection
	// waits this long, each further one twice the previous, up to MaxLoginFailureDelay. The
	// session waits without reading; Stop, Shutdown and ClientContext.Close end the wait.
	// Default DefaultLoginFailureDelay; negative: no delay.
	LoginFailureDelay time.Duration
	// MaxLoginFailureDelay caps LoginFailureDelay's doubling. Default
	// DefaultMaxLoginFailureDelay (also for a negative value).
	MaxLoginFailureDelay time.Duration
	// InvalidUTF8Names says what to do with a path argument that is not valid UTF-8:
	// InvalidUTF8Refuse (the default) answers 553 before any driver call,
	// InvalidUTF8PassThrough hands the bytes to the driver as they are, for legacy clients
	// that send names in another charset.
	InvalidUTF8Names InvalidUTF8Policy
	// MaxPathLength bounds a resolved path (working directory and argument, cleaned), in
	// bytes; a longer one is answered 553 before any driver call. Default
	// DefaultMaxPathLength.
	MaxPathLength int
	// MaxWildcardMatches bounds how many names a wildcard argument of LIST, NLST or STAT may
	// match (a count of entries, held in memory to be sorted); beyond it the command gets 550
	// and lists nothing. Default DefaultMaxWildcardMatches, also for zero or a negative value.
	MaxWildcardMatches int
	// MaxWildcardDirEntries bounds how many entries of the directory a wildcard argument of
	// LIST, NLST or STAT is expanded in may be read (a count of entries); a larger directory
	// gets 550. Default DefaultMaxWildcardDirEntries, also for zero or a negative value.
	MaxWildcardDirEntries int
	// AtomicUploads makes STOR write into a temporary file in the target's directory
	// (".ftpkit-upload-" and random hex) and rename it over the target once the upload has
	// completed; a failed or interrupted upload removes the temporary file and leaves the
	// target as it was, and of two STORs to one name at once one whole upload wins. APPE,
	// STOU and a STOR after REST write in place, as they must extend or create the target.
	// The renamed file gets the mode of a new file, not the old target's, and the driver sees
	// OpenFile (or GetHandle) of the temporary name, then Rename or Remove. Whatever this
	// setting, names starting with AtomicUploadPrefix are never listed nor reachable by a
	// client (550).
	AtomicUploads bool
	// MaxHashSize bounds how many bytes one HASH or XCRC/XMD5/XSHA* may hash, the range's
	// length when RANG or the X* offsets ask for part of a file; a larger one is refused with
	// 550 before anything is read, and the session goes on. A digest reads its bytes from
	// storage and through the CPU with no bandwidth limit, where a download of them is paced by
	// the client's network, so one command of a logged-in user costs at most this much reading
	// and hashing (at the slowest algorithm, MD5 at about 500 MB/s, about half a minute
	// of one core for the default), while the default still covers disc images and most
	// archives a client verifies after a download. It applies to a driver's
	// ClientDriverExtensionHasher too. Default DefaultMaxHashSize; negative: no limit.
	MaxHashSize int64
	// MaxUploadRate bounds the uploads (STOR, APPE, STOU) of each control connection, in bytes
	// per second; its transfers share the limit. A ClientDriverExtensionBandwidth can change it
	// per user. The bytes counted are the file's (before MODE Z compression, after TYPE A
	// conversion). 0 or negative: no limit, and no cost.
	MaxUploadRate int64
	// MaxDownloadRate bounds the downloads (RETR) of each control connection, in bytes per
	// second, as MaxUploadRate does uploads. Listings are not limited.
	MaxDownloadRate int64
	// MaxServerUploadRate bounds the uploads of all the server's clients together, in bytes
	// per second, on top of each connection's limit. 0 or negative: no limit.
	MaxServerUploadRate int64
	// MaxServerDownloadRate bounds the downloads of all the server's clients together, in
	// bytes per second. 0 or negative: no limit.
	MaxServerDownloadRate int64

	DisableMLSD            bool // DisableMLSD turns MLSD off (502).
	DisableMLST            bool // DisableMLST turns MLST off (502).
	DisableMFMT            bool // DisableMFMT turns MFMT off (502).
	DisableLISTArgs        bool // DisableLISTArgs makes "LIST -la" list a file named "-la".
	DisableSite            bool // DisableSite turns SITE off (502).
	DisableActiveMode      bool // DisableActiveMode turns PORT and EPRT off (502).
	DisableSTAT            bool // DisableSTAT turns STAT without argument off; STAT path stays.
	DisableSYST            bool // DisableSYST turns SYST off (502).
	DisableASCIIConversion bool // DisableASCIIConversion sends TYPE A data unconverted.
	EnableHASH             bool // EnableHASH turns HASH, RANG and XCRC/XMD5/XSHA* on.
	EnableCOMB             bool // EnableCOMB turns COMB on.

	// Banner is the first line of the STAT reply. Default "ftpkit ftpserver".
	Banner string
	// TLSRequired is the server-wide TLS policy. Default ClearOrEncrypted.
	TLSRequired TLSRequirement
	// TLSRequireSessionReuse refuses (425) a protected data connection that does not resume
	// the TLS session of its control connection, so that nobody but the logged-in client can
	// take the data connection (vsftpd's require_ssl_reuse). Most clients (FileZilla, lftp,
	// curl, WinSCP) resume; a few do not, Python's ftplib among them unless its FTP_TLS is
	// taught to (CPython issue 63699). Default false, as in ftpserverlib, so that an embedding
	// upgraded to this library keeps serving those clients; a server that requires TLS should
	// set it (the bundled server does with -tls-required).
	TLSRequireSessionReuse bool
	// TLSCloseNotify says whether an upload over a protected data connection (PROT P) must end
	// with the client's TLS close_notify alert, the only sign under TLS that the client sent
	// everything rather than being cut off (a reset, a proxy's timeout, a forged FIN). One that
	// must and does not fails: the client gets 426, the driver's file TransferError with
	// ErrUploadTruncated, the event ErrUploadTruncated, and an atomic upload leaves the target
	// as it was (vsftpd's strict_ssl_read_eof). Clear-text uploads are not concerned. Default
	// CloseNotifyWithAtomicUploads: required when AtomicUploads is set, so that a program
	// written for ftpserverlib, which has neither, keeps its behaviour.
	TLSCloseNotify CloseNotifyRequirement
	// DefaultTransferType is the TYPE of a new session. Default TransferTypeASCII, as RFC 959
	// says; many servers choose TransferTypeBinary.
	DefaultTransferType TransferType
	// DeflateCompressionLevel enables MODE Z (draft-preston-ftpext-deflate) at that flate level,
	// 1 (fastest) to 9 (smallest), higher values counting as 9; 0 or less leaves it off (504).
	DeflateCompressionLevel int
	// ActiveConnectionsCheck: IPMatchRequired (default) refuses PORT/EPRT to another IP.
	ActiveConnectionsCheck DataConnectionRequirement
	// PasvConnectionsCheck: IPMatchRequired (default) refuses a passive connection from
	// another IP than the control connection's. Behind a TCP load balancer that forwards the
	// passive ports without a PROXY header, passive connections come from the balancer, not
	// from the client: set IPMatchDisabled, or make the passive listeners read PROXY headers
	// with MainDriverExtensionPassiveWrapper.
	PasvConnectionsCheck DataConnectionRequirement

	// PassiveTransferPortMultiplexing serves the passive connections of all clients on the
	// ports of PassiveTransferPortRange (which it requires), listened on once, at Listen, on
	// the control listener's host, instead of a listener per PASV: a range of a few ports
	// serves any number of clients. Each PASV reserves a port no other client of its IP waits
	// on, and an arriving connection goes to the client of its source IP on that port; one no
	// client waits for is closed. With every port of the range taken by clients of one IP, a
	// PASV waits for one, up to ConnectionTimeout, then gets 425. MainDriverExtensionPassiveWrapper
	// wraps each shared listener once.
	PassiveTransferPortMultiplexing bool

	// KeepPassiveListener lets a session keep its passive listener from one transfer to the
	// next: each PASV and EPSV announces the same port again, which spares opening and closing
	// a listener per transfer. Before the reply, the connections that wait on it, left from an
	// earlier PASV or from others, are closed, so the next transfer takes only one that arrives
	// after it. The listener is released by PORT, EPRT, REIN and the session's end. A session
	// keeps it only where it does not deprive another: with PassiveTransferPortRange, only
	// when MaxClients is set and the range has a port for each client (a PortRange or a
	// PortMappingRange); without a range, each session holds one of the system's ports for its
	// life. It applies to Unix systems, without PassiveTransferPortMultiplexing, and to a
	// listener that MainDriverExtensionPassiveWrapper returns as it is, not to one it wraps;
	// elsewhere every transfer has its own listener.
	KeepPassiveListener bool

	// MaxPassivePortsPerIP bounds the passive ports that PASV and EPSV have prepared for one
	// client IP, across all its sessions, whose data connection has not been accepted yet; a
	// PASV or EPSV beyond it is answered 425 "Too many passive ports waiting for a connection
	// from your address" and the session goes on. A port stops counting once its connection
	// is accepted, its session sends PASV, EPSV, PORT or EPRT again or ends, or
	// PassivePortTimeout gives it up. One session holds at most one such port: each PASV or
	// EPSV releases the one before, and is queued behind a running transfer. Default
	// DefaultMaxPassivePortsPerIP, and with a PortRange or PortMappingRange that is not
	// multiplexed, no more than half its ports (rounded up), so that one address never holds
	// every port; negative: no limit, as in ftpserverlib.
	MaxPassivePortsPerIP int
	// PassivePortTimeout gives up a port prepared by PASV or EPSV whose data connection has not
	// been accepted that long after the reply, whether a transfer command has come or not: its
	// listener is closed (its slot freed with PassiveTransferPortMultiplexing, and a kept
	// listener stops waiting) and it leaves MaxPassivePortsPerIP's count. A transfer command
	// then gets 425 "Passive port closed after ... without a connection; send PASV or EPSV
	// again", or, if it was already waiting, 425 "Cannot open data connection". A transfer
	// command also waits no more than ConnectionTimeout. Default DefaultPassivePortTimeout;
	// negative: none, as in ftpserverlib, where a port waits until it is used or replaced.
	PassivePortTimeout time.Duration

	// ProxyProtocol reads the PROXY protocol header (version 1 or 2) a TCP load balancer puts
	// before each control connection: ClientContext.RemoteAddr is then the client it names, for
	// the driver, the connection filter, MaxClientsPerIP and the data connection checks, and
	// LocalAddr the address the client connected to, which PASV announces unless PublicHost
	// or PublicIPResolver say otherwise. Default ProxyProtocolOff.
	ProxyProtocol ProxyProtocolMode
	// ProxyAllowedUpstreams are the addresses allowed to send a PROXY header: CIDRs
	// ("10.0.0.0/24") or addresses ("192.0.2.10", "::1"). Required with ProxyProtocol; Listen
	// fails on an empty or malformed list.
	ProxyAllowedUpstreams []string
	// ProxyUntrusted says what to do, with ProxyProtocol on, with a control connection from any
	// other address: ProxyUntrustedRefuse (default) answers 421 and closes it,
	// ProxyUntrustedDirect serves it as a direct connection, reading no header.
	ProxyUntrusted ProxyUntrustedPolicy
	// ProxyHeaderTimeout bounds the wait for the PROXY header of a trusted upstream's
	// connection. Headers are read off the accept loop, so a silent connection delays nobody
	// else. Default DefaultProxyHeaderTimeout.
	ProxyHeaderTimeout time.Duration
}

// withDefaults returns a copy of s with the zero fields set to their defaults.
func (s Settings) withDefaults() *Settings {
	if s.ListenAddr == "" && s.Listener == nil {
		s.ListenAddr = DefaultListenAddr
	}

	if s.IdleTimeout == 0 {
		s.IdleTimeout = DefaultIdleTimeout
	}

	if s.ConnectionTimeout <= 0 {
		s.ConnectionTimeout = DefaultConnectionTimeout
	}

	if s.TransferStallTimeout == 0 {
		s.TransferStallTimeout = DefaultTransferStallTimeout
	}

	if s.LoginTimeout == 0 {
		s.LoginTimeout = DefaultLoginTimeout
	}

	if s.MaxCommandLineLength <= 0 {
		s.MaxCommandLineLength = DefaultMaxCommandLineLength
	}

	if s.MaxLoginFailures == 0 {
		s.MaxLoginFailures = DefaultMaxLoginFailures
	}

	if s.LoginFailureDelay == 0 {
		s.LoginFailureDelay = DefaultLoginFailureDelay
	}

	if s.MaxLoginFailureDelay <= 0 {
		s.MaxLoginFailureDelay = DefaultMaxLoginFailureDelay
	}

	if s.MaxPathLength <= 0 {
		s.MaxPathLength = DefaultMaxPathLength
	}

	if s.MaxHashSize == 0 {
		s.MaxHashSize = DefaultMaxHashSize
	}

	s.MaxWildcardMatches = positiveOr(s.MaxWildcardMatches, DefaultMaxWildcardMatches)
	s.MaxWildcardDirEntries = positiveOr(s.MaxWildcardDirEntries, DefaultMaxWildcardDirEntries)

	if s.Banner == "" {
		s.Banner = "ftpkit ftpserver"
	}

	if s.ProxyHeaderTimeout <= 0 {
		s.ProxyHeaderTimeout = DefaultProxyHeaderTimeout
	}

	s.passiveLimitDefaults()

	return &s
}

// positiveOr returns n, or def when n is zero or negative.
func positiveOr(n, def int) int {
	if n <= 0 {
		return def
	}

	return n
}

// InvalidUTF8Policy says what the server does with path arguments that are not valid UTF-8
// (Settings.InvalidUTF8Names).
type InvalidUTF8Policy int8

// Policies for names that are not valid UTF-8.
const (
	// InvalidUTF8Refuse answers 553 and never shows the name to the driver.
	InvalidUTF8Refuse InvalidUTF8Policy = iota
	// InvalidUTF8PassThrough gives the driver the name's bytes as they are.
	InvalidUTF8PassThrough
)

// seconds turns a Settings duration into a time.Duration; zero or negative means none.
func seconds(n int) time.Duration {
	if n <= 0 {
		return 0
	}

	return time.Duration(n) * time.Second
}

// PortRange is a range of passive ports, both ends included. Its methods have value receivers,
// so both PortRange{...} and &PortRange{...} are a PasvPortGetter.
type PortRange struct {
	Start int // first port
	End   int // last port
}

// PortMappingRange is a range of passive ports behind a NAT that maps ExposedStart+i, as
// clients see it, to ListenedStart+i on this machine, for i in [0, Count). Like PortRange, it
// is a PasvPortGetter as a value and as a pointer.
type PortMappingRange struct {
	ExposedStart  int // first port the clients connect to
	ListenedStart int // first port the server listens on
	Count         int // number of ports
}

// DefaultProxyHeaderTimeout is how long a control connection from a trusted upstream may take
// to send its PROXY protocol header (Settings.ProxyHeaderTimeout).
const DefaultProxyHeaderTimeout = 5 * time.Second

// ProxyProtocolMode says whether control connections start with a PROXY protocol header, as
// a TCP load balancer (HAProxy's send-proxy and send-proxy-v2, AWS NLB, nginx stream) writes
// it to tell the server who its client is (Settings.ProxyProtocol).
type ProxyProtocolMode int8

// PROXY protocol modes.
const (
	// ProxyProtocolOff reads no header: a connection's address is its socket's. The default.
	ProxyProtocolOff ProxyProtocolMode = iota
	// ProxyProtocolRequired makes every control connection from Settings.ProxyAllowedUpstreams
	// start with a PROXY header, version 1 or 2; one that sends none within
	// Settings.ProxyHeaderTimeout, or a malformed one, is closed before the welcome.
	ProxyProtocolRequired
	// ProxyProtocolOptional reads a header when a trusted upstream sends one and takes the
	// connection as direct otherwise. FTP servers speak first, so a header that is missing
	// cannot be told from one that is late: a direct client from a trusted address is greeted
	// only after Settings.ProxyHeaderTimeout. Meant for moving a load balancer over.
	ProxyProtocolOptional
)

// ProxyUntrustedPolicy says what the server does, when the PROXY protocol is on, with a
// control connection from an address outside Settings.ProxyAllowedUpstreams
// (Settings.ProxyUntrusted).
type ProxyUntrustedPolicy int8

// Policies for connections that do not come from a trusted upstream.
const (
	// ProxyUntrustedRefuse answers 421 and closes the connection: clients must come through the
	// load balancer. The default.
	ProxyUntrustedRefuse ProxyUntrustedPolicy = iota
	// ProxyUntrustedDirect serves the connection as a direct one, without reading a header: its
	// address is its socket's, and a PROXY line it sends is an unknown command, so nobody but a
	// trusted upstream can claim another address.
	ProxyUntrustedDirect
)

// CloseNotifyRequirement is the policy of Settings.TLSCloseNotify.
type CloseNotifyRequirement int8

// Close_notify policies. The clients the README lists (curl, lftp, Python's ftplib, basic-ftp,
// Apache Commons Net) all send close_notify at the end of an upload.
const (
	// CloseNotifyWithAtomicUploads requires close_notify when Settings.AtomicUploads is set:
	// the uploads are then promised to appear whole or not at all.
	CloseNotifyWithAtomicUploads CloseNotifyRequirement = iota
	// CloseNotifyRequired requires close_notify on every protected upload.
	CloseNotifyRequired
	// CloseNotifyOptional takes the end of the TCP stream for the end of the upload, as
	// ftpserverlib does: for clients that never send close_notify.
	CloseNotifyOptional
)

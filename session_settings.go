package ftpserver

import (
	"errors"
	"time"
)

// ErrTooManySessions is the error of the EventLoginFailed reported when a login is refused
// because its user already has SessionSettings.MaxSessions sessions.
var ErrTooManySessions = errors.New("too many sessions for this user")

// ClientDriverExtensionSessionSettings lets a driver give each user settings of its own: a
// longer idle timeout for a slow partner, a bandwidth cap and read-only access for an
// untrusted one, twenty sessions for an automated uploader and two for a person.
type ClientDriverExtensionSessionSettings interface {
	// SessionSettings is called once per login, on the ClientDriver that AuthUser (or
	// VerifyConnection) returned, right after it returned; the session keeps the result until
	// it ends or REIN logs it out, so a driver that changes its answer (after reloading its
	// users, say) changes the sessions that log in afterwards. A login beyond MaxSessions is
	// answered 421 and its connection closed.
	SessionSettings() SessionSettings
}

// SessionSettings are the settings of one logged-in session that a driver chooses through
// ClientDriverExtensionSessionSettings. The zero value keeps the server's settings: a field
// left at zero keeps the value of the Settings field it names, or no limit where Settings has
// none (the per-user fields), and a negative duration or rate lifts the limit for this session.
//
// "User", for the per-user fields, is the account the session counts against: Account, or
// else the name the client logged in with, in lower case, so that "Alice" and "alice" share
// their limits.
type SessionSettings struct {
	// IdleTimeout replaces Settings.IdleTimeout once the user is logged in: with no command
	// for that long, and no transfer running, the session is closed with 421.
	IdleTimeout time.Duration
	// TransferStallTimeout replaces Settings.TransferStallTimeout for the session's transfers:
	// one whose data connection moves nothing for that long is aborted with 426.
	TransferStallTimeout time.Duration

	// MaxUploadRate and MaxDownloadRate replace Settings.MaxUploadRate and MaxDownloadRate,
	// the limits of each of the session's connections, in bytes per second. They also win
	// over what a ClientDriverExtensionBandwidth of the same driver returns; a zero field
	// leaves that extension's value, then the setting, in force.
	MaxUploadRate   int64
	MaxDownloadRate int64

	// MaxUserUploadRate and MaxUserDownloadRate bound the uploads and downloads of all of the
	// user's sessions on this server together, in bytes per second, on top of each
	// connection's limit and under the server-wide ones (MaxServerUploadRate,
	// MaxServerDownloadRate). The user's sessions share one limiter per direction: the latest
	// login that sets a rate sets it for all of them. A session whose field is zero or negative
	// takes no part in the sharing.
	MaxUserUploadRate   int64
	MaxUserDownloadRate int64

	// MaxSessions bounds how many sessions of the user may be logged in at once; the login
	// beyond it gets "421 Too many sessions for this user" and its connection is closed, as the
	// client may try again later. A session stops counting when it ends, however it ends, or
	// when REIN logs it out. The limit is the refused login's own value: sessions already
	// logged in are never closed by it. Zero or negative: no limit.
	MaxSessions int

	// ReadOnly refuses every command that changes files (STOR, APPE, STOU, DELE, RMD, XRMD,
	// MKD, XMKD, RNFR, RNTO, MFMT, COMB, and SITE CHMOD, CHOWN, SYMLINK, MKDIR and RMDIR) with
	// "550 Permission denied: read-only session", before the driver is called; MLSD and MLST
	// offer no writing permission in their perm fact. Other SITE subcommands go to the
	// driver's ClientDriverExtensionSite, which must refuse those of its own that write.
	ReadOnly bool

	// Account, when not empty, is the name the per-user fields count this session under,
	// compared as it is: several login names can then share one account's limits.
	Account string
}

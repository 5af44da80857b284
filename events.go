package ftpserver

import (
	"time"
)

// EventKind says what an Event reports.
type EventKind int8

// Kinds of events. The first five are in the order a session produces them; the file
// operations after them follow the session's commands. New kinds are added at the end, so a
// switch over kinds needs a default case.
const (
	// EventConnected: a control connection was accepted and its session starts. Connections
	// refused by MainDriverExtensionConnectionFilter or by the client limits have no session
	// and no events.
	EventConnected EventKind = iota + 1
	// EventLoginSucceeded: a user logged in, by password or by TLS certificate.
	EventLoginSucceeded
	// EventLoginFailed: a login failed (PASS refused by AuthUser, USER refused by PreAuthUser,
	// TLS certificate refused by VerifyConnection); Err is the driver's error. A login the
	// driver accepted but that its user's SessionSettings.MaxSessions refuses is reported too,
	// with an Err wrapping ErrTooManySessions.
	EventLoginFailed
	// EventTransferEnded: a data transfer (RETR, STOR, APPE, STOU, LIST, NLST, MLSD) ended,
	// completed or not.
	EventTransferEnded
	// EventDisconnected: the session ended, however it ended; it is the last event of a
	// session and follows every EventConnected.
	EventDisconnected
	// EventFileDeleted: DELE removed the file Path (Bytes: its size), or failed to. COMB
	// reports each part it removes so, with Command "COMB".
	EventFileDeleted
	// EventDirCreated: MKD, XMKD or SITE MKDIR created the directory Path, or failed to.
	EventDirCreated
	// EventDirRemoved: RMD, XRMD or SITE RMDIR removed the directory Path, or failed to.
	EventDirRemoved
	// EventRenamed: RNTO renamed Path to Target, or failed to. A RNFR whose file cannot be
	// reached is reported too, with Command "RNFR", no Target and the error: the rename it
	// starts cannot happen.
	EventRenamed
	// EventModeChanged: SITE CHMOD changed the permissions of Path, or failed to.
	EventModeChanged
	// EventOwnerChanged: SITE CHOWN changed the owner of Path, or failed to.
	EventOwnerChanged
	// EventSymlinkCreated: SITE SYMLINK created the link Path, pointing to Target, or failed to.
	EventSymlinkCreated
	// EventTimeChanged: MFMT set the modification time of Path, or failed to.
	EventTimeChanged
	// EventCombined: COMB joined parts into the file Path (Bytes: the size of the file it
	// made), or failed to; the removal of each part follows as an EventFileDeleted.
	EventCombined
)

// String returns the kind's name: "connected", "login_succeeded", "login_failed",
// "transfer_ended", "disconnected", "file_deleted", "dir_created", "dir_removed", "renamed",
// "mode_changed", "owner_changed", "symlink_created", "time_changed" or "combined"; "unknown"
// for any other value.
func (k EventKind) String() string {
	if k < 1 || int(k) >= len(eventKindNames) {
		return "unknown"
	}

	return eventKindNames[k]
}

// eventKindNames are the kinds' names, indexed by kind.
var eventKindNames = [...]string{
	EventConnected:      "connected",
	EventLoginSucceeded: "login_succeeded",
	EventLoginFailed:    "login_failed",
	EventTransferEnded:  "transfer_ended",
	EventDisconnected:   "disconnected",
	EventFileDeleted:    "file_deleted",
	EventDirCreated:     "dir_created",
	EventDirRemoved:     "dir_removed",
	EventRenamed:        "renamed",
	EventModeChanged:    "mode_changed",
	EventOwnerChanged:   "owner_changed",
	EventSymlinkCreated: "symlink_created",
	EventTimeChanged:    "time_changed",
	EventCombined:       "combined",
}

// TransferDirection says which way a transfer's data went.
type TransferDirection int8

// Transfer directions.
const (
	// TransferDownload: from the server to the client (RETR and the listings).
	TransferDownload TransferDirection = iota + 1
	// TransferUpload: from the client to the server (STOR, APPE, STOU).
	TransferUpload
)

// String returns "download" or "upload".
func (d TransferDirection) String() string {
	if d == TransferUpload {
		return "upload"
	}

	return "download"
}

// Event is what MainDriverExtensionEvents is told. The client it concerns (its ID, its
// addresses) is the ClientContext passed beside it; the fields below that do not apply to a
// kind are left at their zero value.
type Event struct {
	// Kind says what happened.
	Kind EventKind
	// Time is when it happened.
	Time time.Time
	// User is the user name of a login event, or of the user who ran the transfer or the file
	// operation.
	User string
	// Command is the verb of the transfer (RETR, STOR, APPE, STOU, LIST, NLST or MLSD) or of the
	// file operation as the client sent it (DELE, MKD, XMKD, RMD, XRMD, RNFR, RNTO, MFMT, COMB),
	// with its subcommand for SITE ("SITE CHMOD", "SITE CHOWN", "SITE SYMLINK", "SITE MKDIR",
	// "SITE RMDIR").
	Command string
	// Path is the transferred file, the listed directory, or the file or directory a file
	// operation acted on, as the driver saw it: the source of a rename, the link of a symlink.
	Path string
	// Target is the second path of an operation on two: the new name of EventRenamed, what the
	// link of EventSymlinkCreated points to; "" for the other kinds.
	Target string
	// Direction says which way the transfer's data went.
	Direction TransferDirection
	// ASCII tells that the transfer ran under TYPE A (line ends converted, unless
	// Settings.DisableASCIIConversion); false under TYPE I and for the other kinds.
	ASCII bool
	// Bytes is how many bytes of the file or listing the data connection moved: for a
	// transfer that failed, the bytes moved before it failed. Under MODE Z the bytes are
	// counted before compression (downloads) and after decompression (uploads). For
	// EventFileDeleted it is the size of the file removed, for EventCombined the bytes written
	// to the new file, and 0 for the other file operations.
	Bytes int64
	// Duration is how long the transfer ran, from its 150 reply to its final one; for a file
	// operation, how long the driver took; for EventDisconnected, how long the session lasted.
	Duration time.Duration
	// Err is nil for a completed transfer or file operation, and otherwise why it failed (the
	// client aborted it, the data connection broke, the driver's file failed, the driver refused
	// the operation or the file was missing); for EventLoginFailed it is the driver's error.
	Err error
}

// MainDriverExtensionEvents lets a driver follow what clients do, to count it (metrics) or
// record it (audit logs). The server calls HandleEvent for each event of each session, from
// the goroutine serving that session or running its transfer, in the order they happen within
// one session: EventConnected first, then logins, transfers and file operations,
// EventDisconnected last. Events of different sessions arrive concurrently. The server looks
// for this extension once, at Listen.
type MainDriverExtensionEvents interface {
	// HandleEvent is told of one event. The session waits for it, so it must return quickly:
	// update counters, or hand the event to a channel or a goroutine of its own, and never
	// wait on the network or a disk. A transfer event is delivered before the transfer's final
	// reply, a file operation's before the reply to its command, a login event before the reply
	// to PASS. Its return ends nothing: it cannot refuse
	// a client (see MainDriverExtensionConnectionFilter and AuthUser for that).
	HandleEvent(cc ClientContext, event Event)
}

// noTransfer is the direction of a command that moves no data over a data connection.
const noTransfer TransferDirection = 0

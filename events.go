package ftpserver

import (
	"time"
)

// EventKind says what an Event reports.
type EventKind int8

// Kinds of events, in the order a session produces them.
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
)

// String returns the kind's name: "connected", "login_succeeded", "login_failed",
// "transfer_ended" or "disconnected".
func (k EventKind) String() string {
	switch k {
	case EventConnected:
		return "connected"
	case EventLoginSucceeded:
		return "login_succeeded"
	case EventLoginFailed:
		return "login_failed"
	case EventTransferEnded:
		return "transfer_ended"
	case EventDisconnected:
		return "disconnected"
	default:
		return "unknown"
	}
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
	// User is the user name of a login event, or of the user who ran the transfer.
	User string
	// Command is the verb of the transfer: RETR, STOR, APPE, STOU, LIST, NLST or MLSD.
	Command string
	// Path is the transferred file or the listed directory, as the driver saw it.
	Path string
	// Direction says which way the transfer's data went.
	Direction TransferDirection
	// Bytes is how many bytes of the file or listing the data connection moved: for a
	// transfer that failed, the bytes moved before it failed. Under MODE Z the bytes are
	// counted before compression (downloads) and after decompression (uploads).
	Bytes int64
	// Duration is how long the transfer ran, from its 150 reply to its final one, or, for
	// EventDisconnected, how long the session lasted.
	Duration time.Duration
	// Err is nil for a completed transfer, and otherwise why it failed (the client aborted it,
	// the data connection broke, the driver's file failed); for EventLoginFailed it is the
	// driver's error.
	Err error
}

// MainDriverExtensionEvents lets a driver follow what clients do, to count it (metrics) or
// record it (audit logs). The server calls HandleEvent for each event of each session, from
// the goroutine serving that session or running its transfer, in the order they happen within
// one session: EventConnected first, then logins and transfers, EventDisconnected last. Events
// of different sessions arrive concurrently.
type MainDriverExtensionEvents interface {
	// HandleEvent is told of one event. The session waits for it, so it must return quickly:
	// update counters, or hand the event to a channel or a goroutine of its own, and never
	// wait on the network or a disk. A transfer event is delivered before the transfer's final
	// reply, a login event before the reply to PASS. Its return ends nothing: it cannot refuse
	// a client (see MainDriverExtensionConnectionFilter and AuthUser for that).
	HandleEvent(cc ClientContext, event Event)
}

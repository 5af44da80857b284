package ftpserver

import (
	"context"
	"fmt"

	"golang.org/x/time/rate"
)

// ClientDriverExtensionBandwidth lets a driver give a user bandwidth limits of its own.
type ClientDriverExtensionBandwidth interface {
	// Bandwidth is called once at login, on the ClientDriver that AuthUser (or
	// VerifyConnection) returned. It returns the user's limits for each of its connections, in
	// bytes per second, for uploads (STOR, APPE, STOU) and downloads (RETR): a positive value
	// replaces Settings.MaxUploadRate or MaxDownloadRate for this session, 0 keeps the
	// setting, a negative value lifts the per-connection limit for this user. The server-wide
	// limits (MaxServerUploadRate, MaxServerDownloadRate) apply to every user all the same. A
	// driver that also implements ClientDriverExtensionSessionSettings has the non-zero
	// MaxUploadRate and MaxDownloadRate of its SessionSettings win over these.
	Bandwidth() (upload, download int64)
}

// minBurst is the smallest chunk a limited transfer moves at once, unless the limit is lower:
// smaller chunks would cost a system call and a packet for a few bytes.
const minBurst = 1 << 10

// burstFor returns the bucket size of a limiter of bps bytes per second: 50 ms of traffic, so
// that a transfer's pace is smooth and a fresh bucket lends little, between minBurst (or bps
// itself when lower) and transferChunk.
func burstFor(bps int64) int {
	burst := max(bps/20, min(bps, minBurst))

	return int(min(burst, transferChunk))
}

// newLimiter returns a limiter of bps bytes per second, or nil for no limit (bps <= 0).
func newLimiter(bps int64) *rate.Limiter {
	if bps <= 0 {
		return nil
	}

	return rate.NewLimiter(rate.Limit(bps), burstFor(bps))
}

// serverBandwidth is a server's bandwidth policy: its server-wide limiters, shared by every
// transfer of every client, and the per-connection limits of its Settings.
type serverBandwidth struct {
	upload, download                 *rate.Limiter // server-wide; nil: no limit
	connUploadRate, connDownloadRate int64         // per connection, bytes/s; <= 0: no limit
}

func newServerBandwidth(s *Settings) *serverBandwidth {
	return &serverBandwidth{
		upload:           newLimiter(s.MaxServerUploadRate),
		download:         newLimiter(s.MaxServerDownloadRate),
		connUploadRate:   s.MaxUploadRate,
		connDownloadRate: s.MaxDownloadRate,
	}
}

// sessionBandwidth holds the limiters of one logged-in session, shared by its transfers: its
// own, and its user's, shared with the user's other sessions (userLimits).
type sessionBandwidth struct {
	upload, download         *rate.Limiter // nil: no limit
	userUpload, userDownload *rate.Limiter // nil: no per-user limit
}

// forSession returns the per-connection limiters of a session logged in with ext's driver: the
// Settings' limits, or the user's own when the driver implements ClientDriverExtensionBandwidth,
// or those of own, the driver's SessionSettings, which win.
func (b *serverBandwidth) forSession(ext *clientHooks, own SessionSettings) sessionBandwidth {
	if b == nil {
		return sessionBandwidth{}
	}

	upload, download := b.connUploadRate, b.connDownloadRate

	if ext.bandwidth != nil {
		userUpload, userDownload := ext.bandwidth()
		upload = userRate(upload, userUpload)
		download = userRate(download, userDownload)
	}

	upload = userRate(upload, own.MaxUploadRate)
	download = userRate(download, own.MaxDownloadRate)

	return sessionBandwidth{upload: newLimiter(upload), download: newLimiter(download)}
}

// userRate applies a user's limit to the setting, as ClientDriverExtensionBandwidth says.
func userRate(setting, user int64) int64 {
	switch {
	case user > 0:
		return user
	case user < 0:
		return 0
	default:
		return setting
	}
}

// throttle paces one transfer by the limiters that apply to it, the session's and the
// server's. A nil *throttle means no limit, and copyData then adds no work at all.
type throttle struct {
	ctx      context.Context // the transfer's, canceled by ABOR and Stop
	limiters []*rate.Limiter
	chunk    int // largest chunk to move between waits: the smallest burst
}

// limitersFor returns the limiters a transfer in direction obeys: the session's, then its
// user's, then the server-wide one. The narrower come first so that a session held back by
// its own limit does not hold tokens of the limiters it shares meanwhile (see throttle.wait).
func (b *serverBandwidth) limitersFor(session sessionBandwidth, direction TransferDirection) []*rate.Limiter {
	var limiters []*rate.Limiter

	if direction == TransferUpload {
		limiters = appendLimiter(limiters, session.upload)
		limiters = appendLimiter(limiters, session.userUpload)
		if b != nil {
			limiters = appendLimiter(limiters, b.upload)
		}
	} else {
		limiters = appendLimiter(limiters, session.download)
		limiters = appendLimiter(limiters, session.userDownload)
		if b != nil {
			limiters = appendLimiter(limiters, b.download)
		}
	}

	return limiters
}

// newThrottle returns the throttle of one transfer over limiters, whose waits end with ctx, or
// nil when there is no limit.
func newThrottle(ctx context.Context, limiters []*rate.Limiter) *throttle {
	if len(limiters) == 0 {
		return nil
	}

	th := &throttle{ctx: ctx, limiters: limiters, chunk: transferChunk}

	for _, l := range limiters {
		th.chunk = min(th.chunk, l.Burst())
	}

	return th
}

func appendLimiter(limiters []*rate.Limiter, l *rate.Limiter) []*rate.Limiter {
	if l == nil {
		return limiters
	}

	return append(limiters, l)
}

// wait blocks until every limiter allows n more bytes (n <= th.chunk), and fails when the
// transfer is aborted meanwhile. The session's limiter is waited for first, so a session held
// back by its own limit does not hold tokens of the shared ones meanwhile.
func (th *throttle) wait(n int) error {
	for _, l := range th.limiters {
		if err := l.WaitN(th.ctx, n); err != nil {
			return fmt.Errorf("%w: %w", errTransferAborted, err)
		}
	}

	return nil
}

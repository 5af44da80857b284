package ftpserver

import (
	"fmt"
	"time"
)

// sessionPolicy is what a login decided for the rest of its session: the timeouts, the
// bandwidth limiters, read-only access and the session's place among its user's.
type sessionPolicy struct {
	idle, stall time.Duration // 0: none
	readOnly    bool
	bandwidth   sessionBandwidth
	slot        *userSlot // nil: the session counts against no user
}

// serverPolicy returns the policy of a session that is not logged in: the settings'.
func serverPolicy(s *Settings) sessionPolicy {
	return sessionPolicy{idle: seconds(s.IdleTimeout), stall: seconds(s.TransferStallTimeout)}
}

// resolvePolicy asks the driver of ext, once, for its session settings and returns the policy
// of the session user logs in with. It fails with an error wrapping ErrTooManySessions when the
// user's account has no room for one more session.
func resolvePolicy(s *Settings, b *serverBandwidth, users *userLimits, ext *clientHooks, user string,
) (sessionPolicy, error) {
	policy := serverPolicy(s)

	if ext.sessionSettings == nil {
		policy.bandwidth = b.forSession(ext, SessionSettings{})

		return policy, nil
	}

	own := ext.sessionSettings()
	policy.idle = sessionDuration(policy.idle, own.IdleTimeout)
	policy.stall = sessionDuration(policy.stall, own.TransferStallTimeout)
	policy.readOnly = own.ReadOnly

	slot, ok := users.acquire(accountOf(user, own.Account), own.MaxSessions, own.MaxUserUploadRate,
		own.MaxUserDownloadRate)
	if !ok {
		return sessionPolicy{}, fmt.Errorf("%w (at most %d)", ErrTooManySessions, own.MaxSessions)
	}

	policy.slot = slot
	policy.bandwidth = b.forSession(ext, own)
	policy.bandwidth.userUpload, policy.bandwidth.userDownload = slot.upload, slot.download

	return policy, nil
}

// sessionDuration applies a session's own duration to the server's: positive replaces it,
// negative lifts it, zero keeps it.
func sessionDuration(server, own time.Duration) time.Duration {
	switch {
	case own > 0:
		return own
	case own < 0:
		return 0
	default:
		return server
	}
}

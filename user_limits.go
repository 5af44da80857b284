package ftpserver

import (
	"strings"
	"sync"

	"golang.org/x/time/rate"
)

// userLimits is a server's per-user state: how many sessions each user has logged in, and the
// bandwidth limiters all of a user's sessions share. A user is the account a session counts
// against (accountOf); its entry exists from the first login of one of its sessions to the end
// of the last, so the map holds no more entries than there are logged-in sessions.
type userLimits struct {
	mu    sync.Mutex
	users map[string]*userState
}

// userState is what the sessions of one user share.
type userState struct {
	sessions         int
	upload, download *rate.Limiter // nil until a session of the user has a per-user limit
}

// userSlot is the place of one logged-in session among its user's sessions, with the user's
// shared limiters that apply to it (nil: none). release gives it back.
type userSlot struct {
	limits           *userLimits
	account          string
	upload, download *rate.Limiter
	released         bool // under limits.mu
}

func newUserLimits() *userLimits {
	return &userLimits{users: make(map[string]*userState)}
}

// accountOf returns the name a session's per-user limits count under: the driver's choice
// when it made one, otherwise the login name in lower case, so that a driver accepting "Alice"
// and "alice" as one user does not give that user twice its limits.
func accountOf(user, chosen string) string {
	if chosen != "" {
		return chosen
	}

	return strings.ToLower(user)
}

// acquire takes a place for one more session of account, and returns false, taking nothing,
// when the account already has maxSessions sessions (maxSessions <= 0: no limit). A positive
// upload or download rate, in bytes per second, makes the session share the account's
// limiter of that direction, created at that rate if the account has none yet, else set to
// it: the latest login's value holds for all of the account's sessions. A session without a
// rate of its own shares no limiter.
func (u *userLimits) acquire(account string, maxSessions int, upload, download int64) (*userSlot, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()

	state := u.users[account]
	if state == nil {
		state = &userState{}
	}

	if maxSessions > 0 && state.sessions >= maxSessions {
		return nil, false
	}

	state.sessions++
	state.upload = sharedLimiter(state.upload, upload)
	state.download = sharedLimiter(state.download, download)
	u.users[account] = state

	slot := &userSlot{limits: u, account: account}
	if upload > 0 {
		slot.upload = state.upload
	}

	if download > 0 {
		slot.download = state.download
	}

	return slot, true
}

// sharedLimiter returns the limiter a user's sessions share after a login that asks for bps:
// l itself when bps is not a limit, a new one when l is nil, else l set to bps. The bucket stays
// that of its creation: a running transfer moves chunks of at most that size, and a smaller
// bucket would refuse them.
func sharedLimiter(l *rate.Limiter, bps int64) *rate.Limiter {
	switch {
	case bps <= 0:
		return l
	case l == nil:
		return newLimiter(bps)
	default:
		l.SetLimit(rate.Limit(bps))

		return l
	}
}

// release gives the slot back: the session has logged out (REIN) or ended. The account's
// entry goes with its last session. It is safe on a nil slot and more than once.
func (s *userSlot) release() {
	if s == nil {
		return
	}

	u := s.limits

	u.mu.Lock()
	defer u.mu.Unlock()

	if s.released {
		return
	}

	s.released = true

	state := u.users[s.account]
	if state == nil {
		return
	}

	state.sessions--
	if state.sessions <= 0 {
		delete(u.users, s.account)
	}
}

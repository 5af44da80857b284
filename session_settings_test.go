package ftpserver

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"
	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"
)

// TestSessionSettingsIdleTimeout gives three users three idle timeouts on a server whose own is
// one second: the brief user (300 ms) and the plain one (none of its own, so the server's) are
// closed with 421, while the patient one (a minute), idle since before both logged in, is not.
func TestSessionSettingsIdleTimeout(t *testing.T) {
	s := newPolicyServer(t, map[string]ClientDriver{
		"patient": newPolicyFs(SessionSettings{IdleTimeout: time.Minute}),
		"plain":   newPolicyFs(SessionSettings{}),
		"brief":   newPolicyFs(SessionSettings{IdleTimeout: 300 * time.Millisecond}),
	}, withSettings(func(s *Settings) { s.IdleTimeout = 1 }))

	patient := s.rawAs(t, "patient")
	plain := s.rawAs(t, "plain")
	brief := s.rawAs(t, "brief")

	for _, rc := range []*rawClient{brief, plain} {
		code, msg := rc.read() // nothing sent: the server speaks first
		assert.Equal(t, StatusServiceNotAvailable, code)
		assert.Equal(t, "Idle timeout, closing control connection", msg)
		rc.expectClosed()
	}

	patient.expect("NOOP", StatusOK)
}

// TestSessionSettingsStallTimeout starts two uploads that send a few bytes and then nothing: the
// user with a stall timeout of its own (300 ms) gets 426, while the other, under the server's
// (five minutes), silent since before, goes on and completes.
func TestSessionSettingsStallTimeout(t *testing.T) {
	s := newPolicyServer(t, map[string]ClientDriver{
		"plain":  newPolicyFs(SessionSettings{}),
		"stalls": newPolicyFs(SessionSettings{TransferStallTimeout: 300 * time.Millisecond}),
	})

	start := func(user string) (*rawClient, net.Conn) {
		rc := s.rawAs(t, user)
		rc.expect("TYPE I", StatusOK)
		data := rc.pasv()
		rc.expect("STOR /up.bin", StatusFileStatusOK)

		_, err := data.Write([]byte("a few bytes"))
		require.NoError(t, err)

		return rc, data
	}

	plain, plainData := start("plain")
	stalls, stallsData := start("stalls")

	code, msg := stalls.read()
	assert.Equal(t, StatusTransferAborted, code, msg)
	require.NoError(t, stallsData.Close())

	plain.expect("NOOP", StatusOK) // answered while the upload runs
	require.NoError(t, plainData.Close())

	code, msg = plain.read()
	assert.Equal(t, StatusClosingDataConn, code, msg)

	got, err := afero.ReadFile(s.fsOf("plain"), "/up.bin")
	require.NoError(t, err)
	assert.Equal(t, "a few bytes", string(got))
}

// fsOf returns the file system a policy server gives user.
func (s *testServer) fsOf(user string) afero.Fs {
	main, ok := s.driver.wrap(s.driver).(policyUsers)
	if !ok {
		panic("not a policy server")
	}

	return main.users[user]
}

// TestSessionSettingsReadOnly has a read-only user try every command that changes files: each
// is answered 550 before the driver is called, which records no call and whose files stay as
// they were, while reading works. A user of the same file system type without ReadOnly reaches
// the driver, so the recording would see a call that got through.
func TestSessionSettingsReadOnly(t *testing.T) {
	reader := newPolicyFs(SessionSettings{ReadOnly: true})
	writer := newPolicyFs(SessionSettings{})
	content := testContent(10_000)

	for _, fs := range []*policyFs{reader, writer} {
		require.NoError(t, fs.Fs.MkdirAll("/dir/sub", 0o755))
		require.NoError(t, writeFile(fs.Fs, "/f.txt", content))
		require.NoError(t, writeFile(fs.Fs, "/p1", []byte("1")))
	}

	s := newPolicyServer(t, map[string]ClientDriver{"reader": reader, "writer": writer},
		withSettings(func(s *Settings) { s.EnableCOMB = true }))

	const denied = `550 "Permission denied: read-only session"`

	conn := s.dialAs(t, "reader")
	for name, err := range map[string]error{
		"Stor":       conn.Stor("/new.txt", strings.NewReader("x")),
		"Append":     conn.Append("/f.txt", strings.NewReader("x")),
		"Delete":     conn.Delete("/f.txt"),
		"MakeDir":    conn.MakeDir("/d"),
		"RemoveDir":  conn.RemoveDir("/dir/sub"),
		"Rename":     conn.Rename("/f.txt", "/g.txt"),
		"RemoveRecu": conn.RemoveDirRecur("/dir"),
	} {
		require.EqualError(t, err, denied, name)
	}

	rc := s.rawAs(t, "reader")
	rc.pasv() // a prepared data connection changes nothing
	assert.Equal(t, "Permission denied: read-only session", rc.expect("STOU", StatusActionNotTaken))

	for _, line := range []string{
		"STOR /f.txt", "APPE /f.txt", "STOU name", "DELE /f.txt", "RMD /dir/sub", "XRMD /dir/sub",
		"MKD /d", "XMKD /d", "RNFR /f.txt", "RNTO /g.txt", "MFMT 20200101000000 /f.txt",
		"COMB /f.txt /p1", "SITE CHMOD 600 /f.txt", "SITE chown 0 /f.txt", "SITE SYMLINK /f.txt /l",
		"SITE MKDIR /d", "SITE RMDIR /dir/sub",
	} {
		assert.Equal(t, "Permission denied: read-only session", rc.expect(line, StatusActionNotTaken), line)
	}

	assert.Empty(t, reader.writes.all(), "the driver was asked to change something")

	// Reading works, and MLST offers no writing permission.
	require.NoError(t, retrExpect(conn, "/f.txt", content))

	require.NoError(t, conn.ChangeDir("/")) // RemoveDirRecur left the working directory in /dir

	names, err := conn.NameList("/")
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"dir", "f.txt", "p1"}, names)
	assert.Contains(t, rc.expect("MLST /f.txt", StatusFileOK), "perm=r;")

	got, err := afero.ReadFile(reader.Fs, "/f.txt")
	require.NoError(t, err)
	assert.Equal(t, sha256Hex(content), sha256Hex(got))

	// A SITE subcommand of the driver's own is the driver's to refuse or not.
	assert.Equal(t, "Hello", rc.expect("SITE HELLO", StatusOK))
	assert.Equal(t, []string{"Site HELLO"}, reader.writes.all())

	// The writer's commands reach the driver.
	wc := s.rawAs(t, "writer")
	wc.expect("SITE CHMOD 600 /f.txt", StatusOK)
	wc.expect("DELE /p1", StatusFileOK)
	assert.Equal(t, []string{"Site CHMOD 600 /f.txt", "Chmod /f.txt", "Remove /p1"}, writer.writes.all())
}

// TestSessionSettingsMaxSessions limits "pair" to two sessions: the third login is refused with
// 421 and closed, under any case of the name, while another user logs in; a session that quits,
// one that REIN logs out and one whose connection is cut each give their place back.
func TestSessionSettingsMaxSessions(t *testing.T) {
	s := newPolicyServer(t, map[string]ClientDriver{
		"pair":  newPolicyFs(SessionSettings{MaxSessions: 2}),
		"other": newPolicyFs(SessionSettings{MaxSessions: 2}),
	})

	refused := func(user string) {
		t.Helper()

		rc := s.raw(t)
		rc.expect("USER "+user, StatusUserOK)
		assert.Equal(t, "Too many sessions for this user; try again later",
			rc.expect("PASS "+testPass, StatusServiceNotAvailable))
		rc.expectClosed()
	}

	first := s.rawAs(t, "pair")
	second := s.dialAs(t, "pair")

	conn, err := ftp.Dial(s.Addr(), ftp.DialWithTimeout(5*time.Second))
	require.NoError(t, err)
	require.EqualError(t, conn.Login("pair", testPass), `421 "Too many sessions for this user; try again later"`)

	refused("PAIR")
	s.dialAs(t, "other")

	// QUIT gives the place back by the time the connection is closed.
	first.expect("QUIT", StatusClosingControlConn)
	first.expectClosed()

	third := s.rawAs(t, "pair")
	refused("pair")

	// So does REIN, and the session may log in again once there is room.
	third.expect("REIN", StatusServiceReady)
	fourth := s.rawAs(t, "Pair")

	third.expect("USER pair", StatusUserOK)
	third.expect("PASS "+testPass, StatusServiceNotAvailable)
	third.expectClosed()

	// A connection cut without QUIT gives it back too.
	require.NoError(t, fourth.conn.Close())
	require.Eventually(t, func() bool { return s.users.sessions("pair") == 1 }, 10*time.Second, 10*time.Millisecond)
	s.dialAs(t, "pair")

	require.NoError(t, second.Quit())
	require.Eventually(t, func() bool { return s.users.sessions("pair") == 1 }, 10*time.Second, 10*time.Millisecond)
}

// TestUserLimitsForgetsUsers gives every place back: no entry is left behind, whatever the
// order of logins and ends.
func TestUserLimitsForgetsUsers(t *testing.T) {
	t.Parallel()

	u := newUserLimits()

	var slots []*userSlot

	for i := range 100 {
		slot, ok := u.acquire(fmt.Sprintf("user%d", i%7), 0, int64(i%3), 0)
		require.True(t, ok)

		slots = append(slots, slot)
	}

	_, ok := u.acquire("user1", 15, 0, 0)
	assert.False(t, ok, "user1 has 15 sessions")

	for _, slot := range slots {
		slot.release()
		slot.release() // twice changes nothing
	}

	assert.Empty(t, u.users)
}

// TestUserLimitsShareLimiters gives the sessions of one account one limiter per direction, set
// to the rate of the latest login, and none to a session without a rate of its own.
func TestUserLimitsShareLimiters(t *testing.T) {
	t.Parallel()

	u := newUserLimits()

	a, _ := u.acquire("alice", 0, 1000, 0)
	b, _ := u.acquire("alice", 0, 2000, 0)
	c, _ := u.acquire("alice", 0, 0, 0)
	other, _ := u.acquire("bob", 0, 1000, 0)

	require.NotNil(t, a.upload)
	assert.Same(t, a.upload, b.upload)
	assert.InDelta(t, 2000, float64(a.upload.Limit()), 0)
	assert.Nil(t, c.upload)
	assert.Nil(t, a.download)
	assert.NotSame(t, a.upload, other.upload)
}

// TestResolvePolicy checks what each SessionSettings field does to a session's policy: zero
// keeps the settings, positive replaces them, negative lifts them.
func TestResolvePolicy(t *testing.T) {
	t.Parallel()

	settings := (&Settings{IdleTimeout: 60, TransferStallTimeout: 30, MaxUploadRate: 1000, MaxDownloadRate: 2000}).
		withDefaults()
	bw := newServerBandwidth(settings)

	tests := []struct {
		name             string
		driver           ClientDriver
		idle, stall      time.Duration
		upload, download float64 // the per-connection limits; 0: none
		readOnly         bool
	}{
		{"no extension", afero.NewMemMapFs(), time.Minute, 30 * time.Second, 1000, 2000, false},
		{"zero", newPolicyFs(SessionSettings{}), time.Minute, 30 * time.Second, 1000, 2000, false},
		{
			"replaced",
			newPolicyFs(SessionSettings{
				IdleTimeout: time.Hour, TransferStallTimeout: time.Second, MaxUploadRate: 10,
				MaxDownloadRate: 20, ReadOnly: true,
			}),
			time.Hour, time.Second, 10, 20, true,
		},
		{
			"lifted",
			newPolicyFs(SessionSettings{IdleTimeout: -1, TransferStallTimeout: -1, MaxUploadRate: -1, MaxDownloadRate: -1}),
			0, 0, 0, 0, false,
		},
		{
			"over Bandwidth",
			bandwidthPolicyFs{newPolicyFs(SessionSettings{MaxUploadRate: 7}), 5, 6},
			time.Minute, 30 * time.Second, 7, 6, false,
		},
	}

	for _, tt := range tests {
		users := newUserLimits()
		policy, err := resolvePolicy(settings, bw, users, newClientHooks(nil, tt.driver), "u")
		require.NoError(t, err, tt.name)

		// Only a driver with the extension is counted.
		counted := 0
		if _, extended := tt.driver.(ClientDriverExtensionSessionSettings); extended {
			counted = 1
		}

		assert.Equal(t, counted, users.sessions("u"), tt.name)
		assert.Equal(t, counted == 1, policy.slot != nil, tt.name)

		assert.Equal(t, tt.idle, policy.idle, tt.name)
		assert.Equal(t, tt.stall, policy.stall, tt.name)
		assert.Equal(t, tt.readOnly, policy.readOnly, tt.name)
		assert.InDelta(t, tt.upload, limitOf(policy.bandwidth.upload), 0, tt.name)
		assert.InDelta(t, tt.download, limitOf(policy.bandwidth.download), 0, tt.name)
	}
}

// TestUserBandwidthShared has two sessions of one user, limited to 1 MiB/s together, move
// 512 KiB each at once, down then up: together they take a second or more, where each alone
// would be free to take half that. A session under a per-connection limit lower than its user's
// keeps it.
func TestUserBandwidthShared(t *testing.T) {
	shared := newPolicyFs(SessionSettings{MaxUserDownloadRate: mebibyte, MaxUserUploadRate: mebibyte})
	capped := newPolicyFs(SessionSettings{MaxDownloadRate: 256 << 10, MaxUserDownloadRate: 4 * mebibyte})
	s := newPolicyServer(t, map[string]ClientDriver{"shared": shared, "capped": capped})

	content := testContent(mebibyte / 2)
	require.NoError(t, writeFile(shared.Fs, "/half.bin", content))
	require.NoError(t, writeFile(capped.Fs, "/half.bin", content[:256<<10]))

	conns := []*ftp.ServerConn{s.dialAs(t, "shared"), s.dialAs(t, "shared")}

	for _, upload := range []bool{false, true} {
		elapsed := transferEach(t, conns, upload, "half.bin", content)
		t.Logf("2 x 512 KiB sharing 1 MiB/s, upload %v: %s", upload, elapsed)
		assert.GreaterOrEqual(t, elapsed, 850*time.Millisecond, "upload %v", upload)
	}

	for i := range conns {
		got, err := afero.ReadFile(shared.Fs, "/half.bin"+strconv.Itoa(i))
		require.NoError(t, err)
		assert.Equal(t, sha256Hex(content), sha256Hex(got))
	}

	elapsed := transferEach(t, []*ftp.ServerConn{s.dialAs(t, "capped")}, false, "half.bin", content[:256<<10])
	t.Logf("256 KiB at 256 KiB/s under 4 MiB/s for the user: %s", elapsed)
	assert.GreaterOrEqual(t, elapsed, 850*time.Millisecond)
}

// TestUserBandwidthPerUser has three users, each limited to 512 KiB/s, move 1 MiB each at once:
// each gets its own rate, so together they take about two seconds, not the six seconds of one
// shared limit. The upper bound leaves more than two seconds for a loaded machine and is still
// far below six.
func TestUserBandwidthPerUser(t *testing.T) {
	limit := SessionSettings{MaxUserDownloadRate: mebibyte / 2, MaxUserUploadRate: mebibyte / 2}
	users := map[string]ClientDriver{}
	content := testContent(mebibyte)

	for _, name := range []string{"alice", "bob", "carol"} {
		fs := newPolicyFs(limit)
		require.NoError(t, writeFile(fs.Fs, "/one.bin", content))

		users[name] = fs
	}

	s := newPolicyServer(t, users)
	conns := []*ftp.ServerConn{s.dialAs(t, "alice"), s.dialAs(t, "bob"), s.dialAs(t, "carol")}

	for _, upload := range []bool{false, true} {
		elapsed := transferEach(t, conns, upload, "one.bin", content)
		t.Logf("3 users x 1 MiB at 512 KiB/s each, upload %v: %s", upload, elapsed)
		assert.GreaterOrEqual(t, elapsed, 1700*time.Millisecond, "upload %v", upload)
		assert.Less(t, elapsed, 4500*time.Millisecond, "upload %v: the users held each other back", upload)
	}

	got, err := afero.ReadFile(users["carol"], "/one.bin2")
	require.NoError(t, err)
	assert.Equal(t, sha256Hex(content), sha256Hex(got))
}

// bandwidthPolicyFs has both ClientDriverExtensionBandwidth and SessionSettings.
type bandwidthPolicyFs struct {
	*policyFs

	upload, download int64
}

func (b bandwidthPolicyFs) Bandwidth() (upload, download int64) { return b.upload, b.download }

// limitOf returns a limiter's rate, 0 for none.
func limitOf(l *rate.Limiter) float64 {
	if l == nil {
		return 0
	}

	return float64(l.Limit())
}

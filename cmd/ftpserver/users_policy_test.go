package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ftpkit/ftpserver"
)

// writeUserLines writes a -users file of lines, each "name:pass:rest" with the password
// replaced by its hash.
func writeUserLines(t *testing.T, file string, lines ...string) {
	t.Helper()

	var b strings.Builder

	for _, line := range lines {
		name, rest, _ := strings.Cut(line, ":")
		pass, rest, _ := strings.Cut(rest, ":")
		fmt.Fprintf(&b, "%s:%s:%s\n", name, hashFor(t, pass), rest)
	}

	require.NoError(t, os.WriteFile(file, []byte(b.String()), 0o600))
}

func TestParseUserSettings(t *testing.T) {
	t.Parallel()

	hash := hashFor(t, "pw")

	tests := []struct {
		line string
		want ftpserver.SessionSettings
	}{
		{"alice:" + hash + ":/a:rw", ftpserver.SessionSettings{Account: "alice"}},
		{"alice:" + hash + ":/a:ro", ftpserver.SessionSettings{Account: "alice", ReadOnly: true}},
		{"alice:" + hash + ":/a:rw:", ftpserver.SessionSettings{Account: "alice"}},
		{
			"Partner:" + hash + ":/p:ro:idle=1h30m, stall=90s,user-down=1MiB,USER-UP=2M,sessions=2,down=500k",
			ftpserver.SessionSettings{
				Account: "Partner", ReadOnly: true, IdleTimeout: 90 * time.Minute,
				TransferStallTimeout: 90 * time.Second, MaxUserDownloadRate: 1 << 20, MaxUserUploadRate: 2_000_000,
				MaxSessions: 2, MaxDownloadRate: 500_000,
			},
		},
		{
			"bot:" + hash + ":/in:rw:rate=none,user-rate=10MB,idle=none,stall=none",
			ftpserver.SessionSettings{
				Account: "bot", IdleTimeout: -1, TransferStallTimeout: -1, MaxUploadRate: -1, MaxDownloadRate: -1,
				MaxUserUploadRate: 10_000_000, MaxUserDownloadRate: 10_000_000,
			},
		},
	}

	for _, tt := range tests {
		table, err := parseUsers(strings.NewReader(tt.line+"\n"), "users")
		require.NoError(t, err, tt.line)

		for _, acct := range table.accounts {
			assert.Equal(t, tt.want, acct.settings, tt.line)
		}
	}
}

// TestParseUserSettingsErrors refuses each malformed settings field with the file's name, the
// line's number, the user and the setting.
func TestParseUserSettingsErrors(t *testing.T) {
	t.Parallel()

	hash := hashFor(t, "pw")
	good := "alice:" + hash + ":/a:rw:sessions=3\n"

	for settings, want := range map[string]string{
		"sessions":                  `setting "sessions": want key=value`,
		"sessions=":                 `setting "sessions=": want key=value`,
		"sessions=0":                `setting sessions=0: want a number of sessions, 1 or more`,
		"sessions=two":              `setting sessions=two: want a number`,
		"idle=30":                   `setting idle=30: want a duration such as 90s, 30m or 1h, or none`,
		"idle=-5m":                  `setting idle=-5m: want a duration`,
		"stall=forever":             `setting stall=forever: want a duration`,
		"down=fast":                 `setting down=fast: want bytes per second`,
		"up=10Mbit":                 `setting up=10Mbit: want bytes per second`,
		"user-rate=0":               `setting user-rate=0: want bytes per second`,
		"speed=1M":                  `setting "speed": unknown key`,
		"idle=1h,idle=2h":           `setting "idle": given twice`,
		"rate=1M,up=2M":             `rate cannot be given with up or down`,
		"user-rate=1M,user-down=2M": `user-rate cannot be given with user-up or user-down`,
		"sessions=2,,idle=1h":       `setting "": want key=value`,
	} {
		_, err := parseUsers(strings.NewReader(good+"# bob\nbob:"+hash+":/b:ro:"+settings+"\n"), "users")
		require.Error(t, err, settings)
		assert.Contains(t, err.Error(), `users:3: user "bob": `+want, settings)
	}
}

func TestParseRate(t *testing.T) {
	t.Parallel()

	for in, want := range map[string]int64{
		"1": 1, "500000": 500_000, "500k": 500_000, "500K": 500_000, "500kB": 500_000, "10M": 10_000_000,
		"1.5M": 1_500_000, "1G": 1_000_000_000, "512KiB": 512 << 10, "10MiB": 10 << 20, "1gib": 1 << 30,
		"100b": 100,
	} {
		got, err := parseRate(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}

	for _, in := range []string{"", "0", "0.5", "M", "-1M", "1.2.3M", "10 M", "10Mbps", "1e9", "99999999999G"} {
		_, err := parseRate(in)
		require.ErrorIs(t, err, errBadRate, in)
	}
}

// TestRunUserSettings serves users with settings of their own through the bundled server: a
// read-only user's upload with curl is refused and writes nothing, and a user limited to two
// sessions is refused a third, by curl too, until one of the two quits; another user is not.
func TestRunUserSettings(t *testing.T) {
	t.Parallel()

	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed: test skipped (apt-get install -y curl)")
	}

	root := t.TempDir()
	users := filepath.Join(t.TempDir(), "users")
	writeUserLines(t, users,
		"guest:guest-pw:/pub:ro:user-down=10MiB",
		"pair:pair-pw:/pair:rw:sessions=2,idle=1h",
		"solo:solo-pw:/solo:rw:sessions=1")

	srv := startRun(t, "-root", root, "-users", users)

	curl := func(user string, args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()

		//nolint:gosec // G204: arguments of this test
		out, err := exec.CommandContext(ctx, "curl", append([]string{"-sS", "-u", user}, args...)...).CombinedOutput()

		return string(out), err
	}

	local := filepath.Join(t.TempDir(), "up.txt")
	require.NoError(t, os.WriteFile(local, []byte("not for guests"), 0o600))

	loginAs(t, srv.addr, "guest", "guest-pw") // makes the home
	out, err := curl("guest:guest-pw", "-T", local, "ftp://"+srv.addr+"/up.txt")
	require.Error(t, err, "curl must fail to upload as a read-only user")
	assert.Contains(t, out, "550")

	entries, err := os.ReadDir(filepath.Join(root, "pub"))
	require.NoError(t, err)
	assert.Empty(t, entries, "nothing written for the read-only user")

	first := dialRaw(t, srv.addr)
	first.expect("USER pair", 331)
	first.expect("PASS pair-pw", 230)
	loginAs(t, srv.addr, "pair", "pair-pw")

	// curl reports a 421 as a timeout (exit code 28); -v shows the reply.
	out, err = curl("pair:pair-pw", "-v", "ftp://"+srv.addr+"/")
	require.Error(t, err, "a third session of pair must be refused")
	assert.Contains(t, out, "< 421 Too many sessions for this user; try again later")

	conn, err := ftp.Dial(srv.addr, ftp.DialWithTimeout(startTimeout))
	require.NoError(t, err)
	requireReply(t, conn.Login("pair", "pair-pw"), 421, "Too many sessions for this user; try again later")

	loginAs(t, srv.addr, "solo", "solo-pw")

	// The place is given back by the time the server closes the connection.
	first.expect("QUIT", 221)
	_, err = first.conn.ReadLine()
	require.Error(t, err)

	out, err = curl("pair:pair-pw", "ftp://"+srv.addr+"/")
	require.NoError(t, err, "%s", out)
}

// TestProcessUserSettingsReload changes a user's session limit in the -users file: SIGHUP
// applies it to the next login, and the sessions already logged in go on.
func TestProcessUserSettingsReload(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGHUP on Windows")
	}

	t.Parallel()

	users := filepath.Join(t.TempDir(), "users")
	writeUserLines(t, users, "bot:bot-pw:/in:rw:sessions=1")

	proc := startProcess(t, "-root", t.TempDir(), "-users", users)
	first := loginAs(t, proc.addr, "bot", "bot-pw")

	conn, err := ftp.Dial(proc.addr, ftp.DialWithTimeout(startTimeout))
	require.NoError(t, err)
	requireReply(t, conn.Login("bot", "bot-pw"), 421, "Too many sessions for this user; try again later")

	writeUserLines(t, users, "bot:bot-pw:/in:rw:sessions=2")
	proc.reload(t, "users reloaded")

	second := loginAs(t, proc.addr, "bot", "bot-pw")

	conn, err = ftp.Dial(proc.addr, ftp.DialWithTimeout(startTimeout))
	require.NoError(t, err)
	requireReply(t, conn.Login("bot", "bot-pw"), 421, "Too many sessions for this user; try again later")

	for _, c := range []*ftp.ServerConn{first, second} {
		require.NoError(t, c.Stor("/f.txt", strings.NewReader("still served")))
	}
}

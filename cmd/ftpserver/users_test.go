package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jlaffaye/ftp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

func TestParseUsers(t *testing.T) {
	t.Parallel()

	hash := hashFor(t, "pw")
	table, err := parseUsers(strings.NewReader(
		"# users\n\n  alice:"+hash+":/alice:rw  \r\nbob:"+hash+":srv/bob/:ro\nroot:"+hash+":/:rw\n"), "users")
	require.NoError(t, err)
	require.Len(t, table.accounts, 3)
	assert.Equal(t, "/alice", table.accounts["alice"].home)
	assert.False(t, table.accounts["alice"].readOnly)
	assert.Equal(t, "/srv/bob", table.accounts["bob"].home)
	assert.True(t, table.accounts["bob"].readOnly)
	assert.Equal(t, "/", table.accounts["root"].home)

	tests := []struct {
		name, file, want string
	}{
		{"three fields", "# c\nalice:" + hash + ":/a\n", `users:2: 3 fields separated by ':', want 4 or 5`},
		{"six fields", "alice:" + hash + ":/a:rw:sessions=2:x\n", `users:1: 6 fields`},
		{"not bcrypt", "\n\nalice:secret:/a:rw\n", `users:3: user "alice": the password is not a bcrypt hash`},
		{"hash cut", "alice:" + hash[:59] + ":/a:rw\n", `users:1: user "alice": the password is not a bcrypt hash`},
		{"hash too long", "alice:" + hash + "x:/a:rw\n", `users:1: user "alice": the password is not a bcrypt hash`},
		{"hash mistyped", "alice:" + hash[:40] + "!" + hash[41:] + ":/a:rw\n", `60 characters, with only . / A-Z`},
		{"dot dot", "alice:" + hash + ":/a:rw\nbob:" + hash + ":/../etc:rw\n",
			`users:2: user "bob": home directory "/../etc": '..' would leave the root`},
		{"dot dot inside", "bob:" + hash + ":a/../b:rw\n", `users:1: user "bob": home directory "a/../b"`},
		{"empty home", "bob:" + hash + "::rw\n", `users:1: user "bob": home directory: empty`},
		{"bad access", "bob:" + hash + ":/b:write\n", `users:1: user "bob": access "write": want ro or rw`},
		{"empty name", ":" + hash + ":/b:rw\n", `users:1: user name "": empty`},
		{"space in name", "bo b:" + hash + ":/b:rw\n", `users:1: user name "bo b"`},
		{"duplicate", "bob:" + hash + ":/b:rw\n#\nbob:" + hash + ":/c:ro\n",
			`users:3: user "bob" is already defined on line 1`},
		{"no users", "# nobody\n\n", `users: no users`},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			_, err := parseUsers(strings.NewReader(tt.file), "users")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestUsersDummyHashHasTheHighestCost(t *testing.T) {
	t.Parallel()

	cheap, err := bcrypt.GenerateFromPassword([]byte("a"), bcrypt.MinCost)
	require.NoError(t, err)
	dearer, err := bcrypt.GenerateFromPassword([]byte("b"), bcrypt.MinCost+2)
	require.NoError(t, err)

	table, err := parseUsers(strings.NewReader("a:"+string(cheap)+":/a:rw\nb:"+string(dearer)+":/b:rw\n"), "users")
	require.NoError(t, err)

	// An unknown user's password is checked against a hash as costly as the dearest user's.
	cost, err := bcrypt.Cost(table.dummy)
	require.NoError(t, err)
	assert.Equal(t, bcrypt.MinCost+2, cost)

	for _, tt := range []struct{ user, pass string }{{"a", "b"}, {"b", "a"}, {"c", "a"}, {"", ""}} {
		_, authErr := table.authenticate(tt.user, tt.pass)
		require.ErrorIs(t, authErr, errBadCredentials, "%q/%q", tt.user, tt.pass)
	}

	acct, err := table.authenticate("b", "b")
	require.NoError(t, err)
	assert.Equal(t, "b", acct.name)

	// htpasswd -B writes $2y$ hashes: the same algorithm.
	table, err = parseUsers(strings.NewReader("y:$2y$"+string(cheap[4:])+":/y:ro\n"), "users")
	require.NoError(t, err)
	_, err = table.authenticate("y", "a")
	require.NoError(t, err)
}

func TestRunUsersHomes(t *testing.T) {
	t.Parallel()

	root := t.TempDir()
	users := filepath.Join(t.TempDir(), "users")
	writeUsers(t, users,
		testUser{"alice", "alice-pw", "/alice", "rw"},
		testUser{"bob", "bob-pw", "home/bob", "rw"},
		testUser{"admin", "admin-pw", "/", "ro"})

	srv := startRun(t, "-root", root, "-users", users)
	alice := loginAs(t, srv.addr, "alice", "alice-pw")
	bob := loginAs(t, srv.addr, "bob", "bob-pw")

	aliceData := randomBytes(t, 50_000)
	require.NoError(t, alice.Stor("/a.bin", bytes.NewReader(aliceData)))

	bobData := randomBytes(t, 20_000)
	require.NoError(t, bob.MakeDir("/docs"))
	require.NoError(t, bob.Stor("/docs/b.bin", bytes.NewReader(bobData)))

	// Each user sees its home as "/", and only it.
	assert.Equal(t, []string{"a.bin"}, names(t, alice))
	assert.Equal(t, []string{"docs"}, names(t, bob))

	_, err := bob.Retr("/a.bin")
	requireReply(t, err, 550, "Could not access file: no such file or directory")

	_, err = alice.Retr("/../home/bob/docs/b.bin")
	require.Error(t, err, "a path with '..' stays in the home")

	// The files are in the homes under -root.
	for file, data := range map[string][]byte{"alice/a.bin": aliceData, "home/bob/docs/b.bin": bobData} {
		onDisk, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(file)))
		require.NoError(t, err)
		assert.Equal(t, sha256.Sum256(data), sha256.Sum256(onDisk), file)
	}

	// A home of "/" is the whole root.
	admin := loginAs(t, srv.addr, "admin", "admin-pw")
	assert.Equal(t, []string{"alice", "home"}, names(t, admin))
	assert.Equal(t, sha256.Sum256(bobData), download(t, admin, "/home/bob/docs/b.bin"))
}

func TestRunUsersInMemory(t *testing.T) {
	t.Parallel()

	users := filepath.Join(t.TempDir(), "users")
	writeUsers(t, users, testUser{"alice", "pw", "/alice", "rw"}, testUser{"bob", "pw", "/bob", "rw"})

	srv := startRun(t, "-users", users)
	alice := loginAs(t, srv.addr, "alice", "pw")
	bob := loginAs(t, srv.addr, "bob", "pw")

	require.NoError(t, alice.Stor("/only-alice.txt", strings.NewReader("hello")))
	assert.Equal(t, []string{"only-alice.txt"}, names(t, alice))
	assert.Empty(t, names(t, bob))

	// -user and -pass do not apply: test/test is not a user of the file.
	conn, err := ftp.Dial(srv.addr, ftp.DialWithTimeout(startTimeout))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Quit() })
	requireReply(t, conn.Login("test", "test"), 530, "Login incorrect")
}

func TestRunUsersReadOnly(t *testing.T) {
	t.Parallel()

	root := t.TempDir()
	pub := filepath.Join(root, "pub")
	require.NoError(t, os.MkdirAll(filepath.Join(pub, "dir"), 0o750))
	require.NoError(t, os.WriteFile(filepath.Join(pub, "file.txt"), []byte("read me\n"), 0o600))

	users := filepath.Join(t.TempDir(), "users")
	writeUsers(t, users, testUser{"guest", "guest-pw", "/pub", "ro"})

	srv := startRun(t, "-root", root, "-users", users)
	conn := loginAs(t, srv.addr, "guest", "guest-pw")

	// Reading works.
	assert.Equal(t, sha256.Sum256([]byte("read me\n")), download(t, conn, "/file.txt"))
	assert.Equal(t, []string{"dir", "file.txt"}, names(t, conn))

	// Every write is refused with 550 before the file system is asked, through jlaffaye/ftp...
	const denied = "Permission denied: read-only session"

	requireReply(t, conn.Stor("/new.txt", strings.NewReader("x")), 550, denied)
	requireReply(t, conn.Append("/file.txt", strings.NewReader("x")), 550, denied)
	requireReply(t, conn.Delete("/file.txt"), 550, denied)
	requireReply(t, conn.MakeDir("/newdir"), 550, denied)
	requireReply(t, conn.RemoveDir("/dir"), 550, denied)
	requireReply(t, conn.RemoveDirRecur("/dir"), 550, denied)
	requireReply(t, conn.Rename("/file.txt", "/renamed.txt"), 550, denied)

	// ... and on a raw session for the commands it has no call for.
	raw := dialRaw(t, srv.addr)
	raw.expect("USER guest", 331)
	raw.expect("PASS guest-pw", 230)

	for _, cmd := range []string{
		"SITE CHMOD 600 /file.txt", "SITE CHOWN 0 /file.txt", "SITE SYMLINK /file.txt /link",
		"MFMT 20200101000000 /file.txt",
	} {
		assert.Equal(t, denied, raw.expect(cmd, 550), cmd)
	}

	raw.expect("PASV", 227)
	assert.Equal(t, denied, raw.expect("STOU", 550))

	// Nothing changed on disk.
	entries, err := os.ReadDir(pub)
	require.NoError(t, err)
	require.Len(t, entries, 2)
	content, err := os.ReadFile(filepath.Join(pub, "file.txt"))
	require.NoError(t, err)
	assert.Equal(t, "read me\n", string(content))
}

func TestRunUsersRefusesBadLogins(t *testing.T) {
	t.Parallel()

	users := filepath.Join(t.TempDir(), "users")
	writeUsers(t, users, testUser{"alice", "alice-pw", "/alice", "rw"})

	srv := startRun(t, "-users", users, "-login-failure-delay", "0", "-max-login-failures", "0")

	for _, tt := range []struct{ user, pass string }{
		{"alice", "wrong"}, {"mallory", "alice-pw"}, {"Alice", "alice-pw"}, {"alice", ""},
	} {
		conn, err := ftp.Dial(srv.addr, ftp.DialWithTimeout(startTimeout))
		require.NoError(t, err)

		// The same reply whether the user exists or not.
		requireReply(t, conn.Login(tt.user, tt.pass), 530, "Login incorrect")
		require.NoError(t, conn.Quit())
	}

	loginAs(t, srv.addr, "alice", "alice-pw")
}

func TestRunUsersFileErrors(t *testing.T) {
	t.Parallel()

	dir := t.TempDir()
	bad := filepath.Join(dir, "bad")
	require.NoError(t, os.WriteFile(bad,
		[]byte("# users\nalice:"+hashFor(t, "pw")+":/alice:rw\nbob:"+hashFor(t, "pw")+":/../bob:rw\n"), 0o600))

	err := run(context.Background(), []string{"-listen", "127.0.0.1:0", "-users", bad}, io.Discard, io.Discard)
	require.Error(t, err)
	require.NotErrorIs(t, err, errUsage)
	assert.Contains(t, err.Error(), bad+`:3: user "bob": home directory "/../bob": '..' would leave the root`)

	err = run(context.Background(), []string{"-users", filepath.Join(dir, "missing")}, io.Discard, io.Discard)
	require.ErrorIs(t, err, os.ErrNotExist)

	var help bytes.Buffer

	require.ErrorIs(t, run(context.Background(), []string{"-h"}, io.Discard, &help), flag.ErrHelp)
	assert.Contains(t, help.String(), "  -users FILE\n")
	assert.Contains(t, help.String(), "  -hash-password\n")

	for _, name := range []string{"-user", "-pass"} {
		var stderr bytes.Buffer

		err = run(context.Background(), []string{"-users", bad, name, "x"}, io.Discard, &stderr)
		require.ErrorIs(t, err, errUsage)
		assert.Contains(t, stderr.String(), "-users and "+name+" exclude each other")
	}
}

func TestPrintPasswordHash(t *testing.T) {
	t.Parallel()

	for _, input := range []string{"correct horse\nignored line\n", "correct horse\r\n", "correct horse"} {
		var out bytes.Buffer

		require.NoError(t, printPasswordHash(strings.NewReader(input), &out, io.Discard))

		hash, found := strings.CutSuffix(out.String(), "\n")
		require.True(t, found)
		require.NoError(t, bcrypt.CompareHashAndPassword([]byte(hash), []byte("correct horse")), "%q", input)
	}

	for _, input := range []string{"", "\n", strings.Repeat("x", 73) + "\n"} {
		var out bytes.Buffer

		require.Error(t, printPasswordHash(strings.NewReader(input), &out, io.Discard), "%q", input)
		assert.Empty(t, out.String())
	}
}

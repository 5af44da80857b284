package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"
	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ftpkit/ftpserver"
)

// homeEscape is a way a user of -users tries to leave the home: the commands that set it up,
// each answered as usual, and then the names through which the other homes would be reached.
type homeEscape struct {
	name   string
	setup  []string
	files  []string // RETR, STOR and APPE of each must be refused
	dirs   []string // LIST of each, and STOR, MKD and DELE inside, must be refused
	unlink []string // the links made, each removed at the end with DELE
}

// homeEscapes are made in alice's home, /alice under -root, beside bob's home /bob. Each link
// stays inside the home when it is made, or is made at the top of it, and leads to /bob once
// moved: the kernel resolves it against the whole -root unless the home is a root of its own.
var homeEscapes = []homeEscape{
	{
		name:  "file link moved up",
		setup: []string{"MKD d1", "SITE SYMLINK ../bob/secret.txt d1/l", "RNFR d1/l", "RNTO l1"},
		files: []string{"l1"}, unlink: []string{"l1"},
	},
	{
		name:  "directory link moved up",
		setup: []string{"MKD d2", "SITE SYMLINK ../bob d2/dl", "RNFR d2/dl", "RNTO dl"},
		files: []string{"dl/secret.txt", "dl/docs/inner.txt"}, dirs: []string{"dl", "dl/docs"},
		unlink: []string{"dl"},
	},
	{
		name:  "chain of links",
		setup: []string{"MKD d3", "SITE SYMLINK ../bob/secret.txt d3/far", "RNFR d3/far", "RNTO far", "SITE SYMLINK far near"},
		files: []string{"near", "far"}, unlink: []string{"near", "far"},
	},
	{
		name:  "absolute target moved up",
		setup: []string{"MKD d4", "SITE SYMLINK /bob/secret.txt d4/abs", "RNFR d4/abs", "RNTO abs"},
		files: []string{"abs"}, unlink: []string{"abs"},
	},
	{
		name:   "dot dot",
		setup:  []string{"MKD d5", "SITE SYMLINK .. d5/up", "RNFR d5/up", "RNTO up"},
		files:  []string{"up/bob/secret.txt"},
		dirs:   []string{"up", "up/bob"},
		unlink: []string{"up"},
	},
	{
		name:  "directory holding a link moved up",
		setup: []string{"MKD x", "MKD x/a", "SITE SYMLINK ../../bob/secret.txt x/a/l", "RNFR x/a", "RNTO a"},
		files: []string{"a/l"}, unlink: []string{"a/l"},
	},
}

// TestHomesAreJails has alice try each escape in turn; bob's home, and everything under -root
// but alice's home, must be as before, byte for byte, and each link alice made must be removable.
// STOR over a link is refused, or with atomic uploads replaces the link with alice's own file.
func TestHomesAreJails(t *testing.T) {
	t.Parallel()
	requireUnixLinks(t)

	for _, atomic := range []bool{true, false} {
		t.Run(fmt.Sprintf("atomic uploads %v", atomic), func(t *testing.T) {
			t.Parallel()

			addr, root := homesServer(t, fmt.Sprintf("-atomic-uploads=%v", atomic))
			before := treeDigest(t, root, "alice")
			text := loginText(t, addr, "alice", "alice-pw")
			alice := loginAs(t, addr, "alice", "alice-pw")

			for _, escape := range homeEscapes {
				requireCommands(t, text, escape.setup...)
				tryEscape(t, alice, escape, filepath.Join(root, "alice"), atomic)
				assert.Equal(t, before, treeDigest(t, root, "alice"), "%s: nothing outside alice's home changes",
					escape.name)
			}

			// Every link alice made is hers to remove: the link goes, nothing else.
			for _, escape := range homeEscapes {
				for _, link := range escape.unlink {
					require.NoError(t, alice.Delete(link), "DELE %s", link)
					assert.NoFileExists(t, filepath.Join(root, "alice", filepath.FromSlash(link)))
				}
			}

			assert.Equal(t, before, treeDigest(t, root, "alice"))

			bob := loginAs(t, addr, "bob", "bob-pw")
			assert.Equal(t, []string{"docs", "secret.txt"}, names(t, bob))
		})
	}
}

// tryEscape reads, appends, stores, lists, makes and deletes through the names of escape,
// requiring a 550 for each but STOR with atomic uploads, which must replace the link in home.
func tryEscape(t *testing.T, alice *ftp.ServerConn, escape homeEscape, home string, atomic bool) {
	t.Helper()

	for _, name := range escape.files {
		data, err := retrieve(alice, name)
		requireRefused(t, err, escape.name+": RETR "+name)
		assert.Empty(t, data, "%s: none of bob's bytes", escape.name)
		requireRefused(t, alice.Append(name, strings.NewReader("planted")), escape.name+": APPE "+name)

		err = alice.Stor(name, strings.NewReader("planted"))
		if !atomic {
			requireRefused(t, err, escape.name+": STOR "+name)

			continue
		}

		local := filepath.Join(home, filepath.FromSlash(name))
		if realDir(home, path.Dir(name)) {
			require.NoError(t, err, "%s: STOR %s replaces the link", escape.name, name)

			stored, readErr := os.ReadFile(local)
			require.NoError(t, readErr)
			assert.Equal(t, "planted", string(stored), "%s: STOR %s", escape.name, name)
		} else {
			requireRefused(t, err, escape.name+": STOR "+name)
		}
	}

	for _, dir := range escape.dirs {
		_, err := alice.List(dir)
		requireRefused(t, err, escape.name+": LIST "+dir)
		requireRefused(t, alice.Stor(dir+"/planted", strings.NewReader("x")), escape.name+": STOR in "+dir)
		requireRefused(t, alice.MakeDir(dir+"/made"), escape.name+": MKD in "+dir)
		requireRefused(t, alice.Delete(dir+"/secret.txt"), escape.name+": DELE in "+dir)
	}
}

// TestHomesAreJailsWithCurl runs the first escape with curl: its quoted commands make and move
// the link, then the download and the upload through it are refused.
func TestHomesAreJailsWithCurl(t *testing.T) {
	t.Parallel()
	requireUnixLinks(t)

	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed: test skipped (apt-get install -y curl)")
	}

	addr, root := homesServer(t)
	before := treeDigest(t, root, "alice")

	curl := func(args ...string) ([]byte, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()

		//nolint:gosec // G204: arguments of this test
		return exec.CommandContext(ctx, "curl", append([]string{"-sS", "-u", "alice:alice-pw"}, args...)...).Output()
	}

	out, err := curl("-Q", "MKD d", "-Q", "SITE SYMLINK ../bob/secret.txt d/l", "-Q", "RNFR d/l", "-Q", "RNTO l",
		"ftp://"+addr+"/l")
	require.Error(t, err, "curl must fail to download through the link")
	assert.Empty(t, out, "none of bob's bytes")

	// The link itself is alice's, and she sees it.
	out, err = curl("ftp://" + addr + "/")
	require.NoError(t, err)
	assert.Regexp(t, `(?m)^l[rwx-]{9} .* l\r?$`, string(out))

	local := filepath.Join(t.TempDir(), "up.txt")
	require.NoError(t, os.WriteFile(local, []byte("planted by alice"), 0o600))

	_, err = curl("-a", "-T", local, "ftp://"+addr+"/l")
	require.Error(t, err, "curl must fail to append through the link")
	assert.Equal(t, before, treeDigest(t, root, "alice"))

	// An upload, atomic by default, replaces the link with a file of alice's.
	out, err = curl("-T", local, "ftp://"+addr+"/l")
	require.NoError(t, err, "%s", out)
	assert.Equal(t, before, treeDigest(t, root, "alice"))

	data, err := os.ReadFile(filepath.Join(root, "alice", "l"))
	require.NoError(t, err)
	assert.Equal(t, "planted by alice", string(data))
}

// fakeSession stands for a session in calls of the driver; only its identity is used.
type fakeSession struct {
	ftpserver.ClientContext

	id int
}

// TestHomeClosedWithSession: a home under -root is opened at each login and closed when that
// session ends, or when the driver is closed, and not before.
func TestHomeClosedWithSession(t *testing.T) {
	t.Parallel()

	root := t.TempDir()
	users := filepath.Join(t.TempDir(), "users")
	writeUsers(t, users, testUser{"alice", "alice-pw", "/alice", "rw"})
	drv := newTestDriver(t, "-root", root, "-users", users)

	first, second := &fakeSession{id: 1}, &fakeSession{id: 2}
	homes := make([]afero.Fs, 0, 3)

	for _, cc := range []*fakeSession{first, second, second} {
		cd, err := drv.AuthUser(cc, "alice", "alice-pw")
		require.NoError(t, err)

		homes = append(homes, cd)
	}

	drv.ClientDisconnected(first)

	_, err := homes[0].Stat("/")
	require.ErrorIs(t, err, fs.ErrClosed, "the first session's home is closed")

	for _, home := range homes[1:] {
		_, err = home.Stat("/")
		require.NoError(t, err, "the second session's homes stay open")
	}

	require.NoError(t, drv.Close())

	for _, home := range homes {
		_, err = home.Stat("/")
		require.ErrorIs(t, err, fs.ErrClosed)
	}
}

// TestHomesAreJailsWithLftp makes a directory link with lftp's quoted commands, moves it up with
// its mv (RNFR/RNTO), and then fails to list, read or write through it.
func TestHomesAreJailsWithLftp(t *testing.T) {
	t.Parallel()
	requireUnixLinks(t)

	if _, err := exec.LookPath("lftp"); err != nil {
		t.Skip("lftp is not installed: test skipped (apt-get install -y lftp)")
	}

	addr, root := homesServer(t)
	before := treeDigest(t, root, "alice")

	lftp := func(commands string) ([]byte, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()

		// Each script fails with its last command. (With cmd:fail-exit, lftp would wait a while
		// before it exits after a failed cat.)
		script := "set net:max-retries 1; open -u alice,alice-pw ftp://" + addr + "; " + commands

		return exec.CommandContext(ctx, "lftp", "-c", script).CombinedOutput()
	}

	out, err := lftp("mkdir d; quote SITE SYMLINK ../bob d/dl; mv d/dl dl; cls -1")
	require.NoError(t, err, "%s", out)
	assert.NotContains(t, string(out), "failed", "each command of the set-up works")
	assert.Contains(t, string(out), "dl", "the link is alice's, and she sees it")

	for _, probe := range []string{"cls -1 dl/", "cat dl/secret.txt", "put /etc/hostname -o dl/planted", "rm dl/secret.txt"} {
		out, err = lftp(probe)
		require.Error(t, err, "%s must fail: %s", probe, out)
		assert.Contains(t, string(out), "550", probe)
	}

	assert.Equal(t, before, treeDigest(t, root, "alice"))
}

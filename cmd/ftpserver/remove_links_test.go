package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEveryLinkRemovable places links in the directory a user is served, under -root and in a
// home of -users: dangling, leading to a file or a directory inside, leading to a file or a
// directory outside, by a relative or an absolute text. Each is listed, and can be renamed and
// deleted, the link itself and never what it names.
func TestEveryLinkRemovable(t *testing.T) {
	t.Parallel()
	requireUnixLinks(t)

	for _, mode := range []struct {
		name, user, pass string
		home             string // under -root; "" without -users
	}{
		{"root", "test", "test", ""},
		{"users home", "alice", "alice-pw", "alice"},
	} {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()

			base := t.TempDir()
			root := filepath.Join(base, "root")
			served := filepath.Join(root, mode.home)
			require.NoError(t, os.MkdirAll(filepath.Join(served, "sub"), 0o750))
			require.NoError(t, os.WriteFile(filepath.Join(served, "file.txt"), []byte("inside"), 0o600))
			require.NoError(t, os.WriteFile(filepath.Join(base, "outside.txt"), []byte("outside"), 0o600))

			links := map[string]string{
				"dangling": "missing.txt", "inside": "file.txt", "dir-inside": "sub",
				"outside": filepath.Join(base, "outside.txt"), "up": "../../outside.txt",
				"dir-outside": base, "dir-up": "..",
			}
			for link, target := range links {
				require.NoError(t, os.Symlink(target, filepath.Join(served, link)))
			}

			args := []string{"-root", root}
			if mode.home != "" {
				users := filepath.Join(t.TempDir(), "users")
				writeUsers(t, users, testUser{mode.user, mode.pass, "/" + mode.home, "rw"})
				args = append(args, "-users", users)
			}

			srv := startRun(t, args...)
			conn := loginAs(t, srv.addr, mode.user, mode.pass)
			before := treeDigest(t, base, "root")
			listed := names(t, conn)

			for link, target := range links {
				assert.Contains(t, listed, link)

				require.NoError(t, conn.Rename(link, link+".moved"), "RNFR/RNTO %s", link)
				text, err := os.Readlink(filepath.Join(served, link+".moved"))
				require.NoError(t, err, "%s is moved as a link", link)
				assert.Equal(t, target, text)

				require.NoError(t, conn.Delete(link+".moved"), "DELE %s", link)
				_, err = os.Lstat(filepath.Join(served, link+".moved"))
				require.ErrorIs(t, err, os.ErrNotExist, "%s is deleted", link)
			}

			assert.Equal(t, []string{"file.txt", "sub"}, names(t, conn), "the targets inside stay")
			assert.Equal(t, before, treeDigest(t, base, "root"), "the targets outside stay")
		})
	}
}

// TestMemoryEntriesRemovable: the in-memory file system has no links (SITE SYMLINK is refused);
// its files and directories, as the single user and in a home of -users, can be renamed and
// removed.
func TestMemoryEntriesRemovable(t *testing.T) {
	t.Parallel()

	users := filepath.Join(t.TempDir(), "users")
	writeUsers(t, users, testUser{"alice", "alice-pw", "/alice", "rw"})

	for _, args := range [][]string{nil, {"-users", users}} {
		srv := startRun(t, args...)
		user, pass := "test", "test"

		if args != nil {
			user, pass = "alice", "alice-pw"
		}

		conn := loginAs(t, srv.addr, user, pass)
		require.NoError(t, conn.MakeDir("d"))
		require.NoError(t, conn.Stor("f", strings.NewReader("x")))

		text := loginText(t, srv.addr, user, pass)
		code, msg := textCmd(t, text, "SITE SYMLINK f l")
		assert.Equal(t, 550, code, msg)

		require.NoError(t, conn.Rename("d", "d2"))
		require.NoError(t, conn.Rename("f", "f2"))
		assert.Equal(t, []string{"d2", "f2"}, names(t, conn))
		require.NoError(t, conn.Delete("f2"))
		require.NoError(t, conn.RemoveDir("d2"))
		assert.Empty(t, names(t, conn))
	}
}

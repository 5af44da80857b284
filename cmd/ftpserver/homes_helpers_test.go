package main

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"net/textproto"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/jlaffaye/ftp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// homesServer serves, under a new -root, the -users alice (rw, /alice) and bob (rw, /bob),
// with bob's home holding secret.txt and docs/inner.txt. It returns the server's address and
// the -root directory.
func homesServer(t *testing.T, extra ...string) (addr, root string) {
	t.Helper()

	root = t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "alice"), 0o750))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "bob", "docs"), 0o750))
	require.NoError(t, os.WriteFile(filepath.Join(root, "bob", "secret.txt"), randomBytes(t, 3000), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(root, "bob", "docs", "inner.txt"), randomBytes(t, 500), 0o600))

	users := filepath.Join(t.TempDir(), "users")
	writeUsers(t, users, testUser{"alice", "alice-pw", "/alice", "rw"}, testUser{"bob", "bob-pw", "/bob", "rw"})

	srv := startRun(t, append([]string{"-root", root, "-users", users}, extra...)...)

	return srv.addr, root
}

// treeDigest describes every entry under dir but those under skip (a slash path relative to
// dir; "" skips nothing): type and permissions, the SHA-256 of files, the text of links. Links
// are described, never followed.
func treeDigest(t *testing.T, dir, skip string) map[string]string {
	t.Helper()

	root, err := os.OpenRoot(dir)
	require.NoError(t, err)

	defer func() { require.NoError(t, root.Close()) }()

	digest := map[string]string{}

	require.NoError(t, fs.WalkDir(root.FS(), ".", func(name string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}

		if skip != "" && (name == skip || strings.HasPrefix(name, skip+"/")) {
			return fs.SkipDir
		}

		info, err := root.Lstat(name)
		if err != nil {
			return err
		}

		desc := info.Mode().String()

		switch {
		case info.Mode().IsRegular():
			data, err := root.ReadFile(name)
			if err != nil {
				return err
			}

			sum := sha256.Sum256(data)
			desc += " " + hex.EncodeToString(sum[:])
		case info.Mode()&fs.ModeSymlink != 0:
			text, err := root.Readlink(name)
			if err != nil {
				return err
			}

			desc += " -> " + text
		}

		digest[name] = desc

		return nil
	}))

	return digest
}

// loginText connects to addr with a line-level session and logs in as user.
func loginText(t *testing.T, addr, user, pass string) *textproto.Conn {
	t.Helper()

	conn := dialText(t, addr)
	code, msg := textCmd(t, conn, "USER "+user)
	require.Equal(t, 331, code, msg)
	code, msg = textCmd(t, conn, "PASS "+pass)
	require.Equal(t, 230, code, msg)

	return conn
}

// requireCommands sends each line and requires a positive reply (below 400) to each.
func requireCommands(t *testing.T, conn *textproto.Conn, lines ...string) {
	t.Helper()

	for _, line := range lines {
		code, msg := textCmd(t, conn, line)
		require.Less(t, code, 400, "%s: %d %s", line, code, msg)
	}
}

// retrieve downloads name, returning its bytes or the error of RETR or of the transfer.
func retrieve(conn *ftp.ServerConn, name string) ([]byte, error) {
	resp, err := conn.Retr(name)
	if err != nil {
		return nil, err
	}

	data, err := io.ReadAll(resp)
	if closeErr := resp.Close(); err == nil {
		err = closeErr
	}

	return data, err
}

// requireRefused requires err to be a 550 reply.
func requireRefused(t *testing.T, err error, what string) {
	t.Helper()

	var reply *textproto.Error

	if assert.ErrorAs(t, err, &reply, "%s must be refused", what) {
		assert.Equal(t, 550, reply.Code, "%s: %s", what, reply.Msg)
	}
}

// requireUnixLinks skips on Windows, where the links of these tests need privileges.
func requireUnixLinks(t *testing.T) {
	t.Helper()

	if runtime.GOOS == "windows" {
		t.Skip("needs Unix symbolic links")
	}
}

// realDir tells whether dir, a slash path relative to home, is a directory of home reached
// without a link.
func realDir(home, dir string) bool {
	p := home

	for elem := range strings.SplitSeq(path.Clean(dir), "/") {
		if elem == "." {
			continue
		}

		p = filepath.Join(p, elem)

		info, err := os.Lstat(p)
		if err != nil || !info.IsDir() {
			return false
		}
	}

	return true
}

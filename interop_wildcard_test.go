package ftpserver

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The wildcard interoperability tests run the mget of tnftp and the recursive ncftpget, which
// expand a remote pattern with NLST, against the bundled server. Each skips when its client is
// missing; CI installs the Debian packages tnftp and ncftp.

// requirePackage skips the test when the client name, from the Debian package pkg, is missing.
func requirePackage(t *testing.T, name, pkg string) {
	t.Helper()

	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s is not installed: interoperability test skipped (apt-get install -y %s)", name, pkg)
	}
}

// wildcardServerTree writes the served tree of the wildcard interoperability tests and returns
// the root.
func wildcardServerTree(t *testing.T) string {
	t.Helper()

	root := t.TempDir()
	files := map[string]int{
		"dir/a.txt":      1000,
		"dir/b.txt":      70_000,
		"dir/c.log":      300,
		"dir/x.bin":      1 << 20,
		"dir/sub/s.txt":  5000,
		"dir/.hidden":    10,
		"other/skip.txt": 20,
	}

	writeSizedTree(t, root, files)

	return root
}

// pickHashes keeps the hashes of the named files.
func pickHashes(hashes map[string]string, names ...string) map[string]string {
	picked := make(map[string]string, len(names))
	for _, name := range names {
		picked[name] = hashes[name]
	}

	return picked
}

func TestInteropTnftpMget(t *testing.T) {
	requirePackage(t, "tnftp", "tnftp")

	root, dst := wildcardServerTree(t), t.TempDir()
	addr := startBundledServer(t, root)[0]
	host, port, _ := strings.Cut(addr, ":")

	// -n: no auto-login, the script logs in; "prompt off" lets mget fetch every match without
	// asking. The pattern that matches nothing fails alone and mget goes on with the next one;
	// tnftp does not show a 4xx reply while it expands a pattern, so the script asks NLST for
	// that pattern again with verbose on to show the reply.
	script := strings.Join([]string{
		"user test test",
		"prompt off",
		"binary",
		"lcd " + dst,
		"cd dir",
		"mget *.txt *.none ?.bin",
		"verbose",
		"nlist *.none",
		"bye",
	}, "\n") + "\n"

	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()

	cmd := exec.CommandContext(ctx, "tnftp", "-n", host, port)
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "tnftp:\n%s", out)

	assert.Contains(t, string(out), "\n450 Could not list: no such file or directory\n",
		"tnftp shows the 450 of the pattern that matches nothing")
	assert.Equal(t, pickHashes(treeHashes(t, filepath.Join(root, "dir")), "a.txt", "b.txt", "x.bin"),
		treeHashes(t, dst), "mget fetched exactly the matching files, intact")
}

func TestInteropNcftpgetWildcard(t *testing.T) {
	requirePackage(t, "ncftpget", "ncftp")

	root := wildcardServerTree(t)
	addr := startBundledServer(t, root)[0]
	host, port, _ := strings.Cut(addr, ":")
	// -V: no progress meter; -T: no attempt at ncftp's TAR mode for directories.
	base := []string{"-V", "-u", "test", "-p", "test", "-P", port}
	served := treeHashes(t, filepath.Join(root, "dir"))

	t.Run("recursive", func(t *testing.T) {
		dst := t.TempDir()
		runClient(t, "ncftpget", append(append([]string{}, base...), "-R", "-T", host, dst, "/dir/*")...)
		assert.Equal(t, pickHashes(served, "a.txt", "b.txt", "c.log", "x.bin", "sub/s.txt"), treeHashes(t, dst),
			"/dir/* is every visible entry of /dir, subdirectories fetched whole")
	})

	t.Run("files", func(t *testing.T) {
		dst := t.TempDir()
		runClient(t, "ncftpget", append(append([]string{}, base...), host, dst, "/dir/*.txt")...)
		assert.Equal(t, pickHashes(served, "a.txt", "b.txt"), treeHashes(t, dst))
	})

	t.Run("no match", func(t *testing.T) {
		dst := t.TempDir()
		out, err := runClientResult(t, "ncftpget", append(append([]string{}, base...), host, dst, "/dir/*.none")...)
		require.Error(t, err, "ncftpget fails when its pattern matches nothing:\n%s", out)
		assert.Contains(t, out, "/dir/*.none: server said: Could not list: no such file or directory")
		assert.Empty(t, treeHashes(t, dst))
	})
}

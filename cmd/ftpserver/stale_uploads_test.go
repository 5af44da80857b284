package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ftpkit/ftpserver"
)

func TestRunRemovesStaleUploads(t *testing.T) {
	t.Parallel()

	root, outside := t.TempDir(), t.TempDir()
	stale := []string{
		ftpserver.AtomicUploadPrefix + "0123456789abcdef",
		filepath.Join("a", "b", ftpserver.AtomicUploadPrefix+"fedcba9876543210"),
	}
	kept := []string{"keep.txt", ".hidden", filepath.Join("a", "b", "c.txt"), filepath.Join("a", "ftpkit-upload-x")}

	for _, name := range append(append([]string{}, stale...), kept...) {
		require.NoError(t, os.MkdirAll(filepath.Join(root, filepath.Dir(name)), 0o750))
		require.NoError(t, os.WriteFile(filepath.Join(root, name), []byte(name), 0o600))
	}

	// A link with the prefix is removed, not followed; a linked directory is not entered.
	target := filepath.Join(outside, "target.txt")
	require.NoError(t, os.WriteFile(target, []byte("outside"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(outside, ftpserver.AtomicUploadPrefix+"1111111111111111"),
		[]byte("outside"), 0o600))
	require.NoError(t, os.Symlink(target, filepath.Join(root, ftpserver.AtomicUploadPrefix+"2222222222222222")))
	require.NoError(t, os.Symlink(outside, filepath.Join(root, "linked")))

	stale = append(stale, ftpserver.AtomicUploadPrefix+"2222222222222222")

	var stderr bytes.Buffer

	srv := startRunLogging(t, &stderr, "-root", root)
	login(t, srv.addr)
	require.NoError(t, srv.stop(t))

	for _, name := range stale {
		_, err := os.Lstat(filepath.Join(root, name))
		require.ErrorIs(t, err, os.ErrNotExist, "%s is stale", name)
		assert.Contains(t, stderr.String(), `msg="removed stale upload" path=`+filepath.ToSlash(name)+"\n")
	}

	for _, name := range kept {
		data, err := os.ReadFile(filepath.Join(root, name))
		require.NoError(t, err)
		assert.Equal(t, name, string(data))
	}

	entries, err := os.ReadDir(outside)
	require.NoError(t, err)
	assert.Len(t, entries, 2, "nothing outside the root is removed")
	assert.Equal(t, 3, bytes.Count(stderr.Bytes(), []byte("removed stale upload")), stderr.String())
}

func TestRemoveStaleUploadsCount(t *testing.T) {
	t.Parallel()

	root := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(root, ftpserver.AtomicUploadPrefix+"0000000000000000"), nil, 0o600))
	require.NoError(t, os.Mkdir(filepath.Join(root, ftpserver.AtomicUploadPrefix+"dir"), 0o750))

	logger, _ := newLogger(io.Discard, false)

	assert.Equal(t, 1, removeStaleUploads(root, logger), "a directory is never a temporary file")
	assert.Equal(t, 0, removeStaleUploads(root, logger))
	assert.DirExists(t, filepath.Join(root, ftpserver.AtomicUploadPrefix+"dir"))
}

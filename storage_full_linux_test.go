package ftpserver

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mountSmallTmpfs mounts a tmpfs of size bytes on a new directory and unmounts it when the
// test ends; it skips the test where mounting is not allowed.
func mountSmallTmpfs(t *testing.T, size string) string {
	t.Helper()

	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		t.Skipf("cannot mount a tmpfs to fill (needs root or CAP_SYS_ADMIN): %v; "+
			"TestStorageFull covers the same replies with a driver", err)
	}

	// Registered after TempDir, so it runs before the directory is removed.
	t.Cleanup(func() { assert.NoError(t, syscall.Unmount(dir, 0)) })

	return dir
}

// TestStorageFullTmpfs fills a real file system: an upload larger than the room left gets
// 452 with the system's text, the old file survives byte for byte, the atomic upload's
// temporary file is gone, and its room is free again for the next upload.
func TestStorageFullTmpfs(t *testing.T) {
	dir := mountSmallTmpfs(t, "1m")

	old := testContent(200_000)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "keep.bin"), old, 0o600))

	fsys := afero.NewBasePathFs(afero.NewOsFs(), dir)
	s := newTestServer(t, withFs(fsys), withSettings(func(settings *Settings) { settings.AtomicUploads = true }))
	rc := s.rawLoggedIn(t)
	rc.expect("TYPE I", StatusOK)

	code, msg := rc.storeRaw("/keep.bin", testContent(2<<20))
	assert.Equal(t, StatusActionNotTakenInsufficientStorage, code)
	assert.Equal(t, "Issue during transfer: no space left on device", msg)

	kept, err := os.ReadFile(filepath.Join(dir, "keep.bin"))
	require.NoError(t, err)
	assert.Equal(t, sha256Hex(old), sha256Hex(kept), "the old file survives")
	requireOnlyNames(t, fsys, "/", "keep.bin")

	replacement := testContent(600_000)
	code, _ = rc.storeRaw("/keep.bin", replacement)
	require.Equal(t, StatusClosingDataConn, code, "the failed upload's room is free again")

	stored, err := os.ReadFile(filepath.Join(dir, "keep.bin"))
	require.NoError(t, err)
	assert.Equal(t, sha256Hex(replacement), sha256Hex(stored))
}

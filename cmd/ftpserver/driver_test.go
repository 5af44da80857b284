package main

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ftpkit/ftpserver"
	"github.com/ftpkit/ftpserver/rootfs"
)

// logIn returns the client driver of the default user.
func logIn(t *testing.T, drv *driver) *clientDriver {
	t.Helper()

	cd, err := drv.AuthUser(nil, "test", "test")
	require.NoError(t, err)

	client, ok := cd.(interface{ base() *clientDriver })
	require.True(t, ok, "AuthUser returned a %T", cd)

	return client.base()
}

func TestDriverAuthUser(t *testing.T) {
	t.Parallel()

	drv := newTestDriver(t, "-user", "u", "-pass", "p")

	for _, tt := range []struct{ user, pass string }{
		{"u", "wrong"}, {"wrong", "p"}, {"", ""}, {"u", ""}, {"u", "pp"},
	} {
		cd, err := drv.AuthUser(nil, tt.user, tt.pass)
		require.ErrorIs(t, err, errBadCredentials, "%q/%q", tt.user, tt.pass)
		assert.Nil(t, cd)
	}

	cd, err := drv.AuthUser(nil, "u", "p")
	require.NoError(t, err)
	assert.NotNil(t, cd)
}

func TestDriverSettings(t *testing.T) {
	t.Parallel()

	settings, err := newTestDriver(t).GetSettings()
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:2121", settings.ListenAddr)
	assert.Nil(t, settings.PassiveTransferPortRange, "no range must leave the interface nil")
	assert.True(t, settings.EnableHASH)
	assert.True(t, settings.EnableCOMB)
	assert.Equal(t, 5, settings.DeflateCompressionLevel)
	assert.Equal(t, ftpserver.TransferTypeBinary, settings.DefaultTransferType)
	assert.Equal(t, ftpserver.DefaultIdleTimeout, settings.IdleTimeout)

	settings, err = newTestDriver(t,
		"-pasv-ports", "30000-30009", "-public-host", "192.0.2.1", "-idle-timeout", "-1",
		"-max-clients", "10", "-max-clients-per-ip", "2",
	).GetSettings()
	require.NoError(t, err)
	assert.Equal(t, &ftpserver.PortRange{Start: 30000, End: 30009}, settings.PassiveTransferPortRange)
	assert.Equal(t, "192.0.2.1", settings.PublicHost)
	assert.Equal(t, -1, settings.IdleTimeout)
	assert.Equal(t, 10, settings.MaxClients)
	assert.Equal(t, 2, settings.MaxClientsPerIP)
}

func TestDriverTLS(t *testing.T) {
	t.Parallel()

	config, err := newTestDriver(t).GetTLSConfig()
	require.ErrorIs(t, err, errTLSNotConfigured)
	assert.Nil(t, config)
}

func TestMemoryAvailableSpace(t *testing.T) {
	t.Parallel()

	drv := newTestDriver(t)
	cd := logIn(t, drv)

	avail, err := cd.GetAvailableSpace("/")
	require.NoError(t, err)
	assert.Equal(t, int64(memoryCapacity), avail)

	require.NoError(t, cd.MkdirAll("/a/b", 0o755))
	require.NoError(t, afero.WriteFile(cd, "/a/b/f", make([]byte, 1000), 0o644))
	require.NoError(t, afero.WriteFile(cd, "/g", make([]byte, 24), 0o644))

	avail, err = cd.GetAvailableSpace("/a")
	require.NoError(t, err)
	assert.Equal(t, int64(memoryCapacity-1024), avail)

	// A second login sees the same files.
	avail, err = logIn(t, drv).GetAvailableSpace("/")
	require.NoError(t, err)
	assert.Equal(t, int64(memoryCapacity-1024), avail)
}

func TestMemorySymlinkRefused(t *testing.T) {
	t.Parallel()

	cd := logIn(t, newTestDriver(t))
	require.NoError(t, afero.WriteFile(cd, "/target", []byte("x"), 0o644))

	err := cd.Symlink("/target", "/link")
	require.ErrorIs(t, err, os.ErrPermission)
}

func TestRootSymlinkAndSpace(t *testing.T) {
	t.Parallel()

	root := t.TempDir()
	cd := logIn(t, newTestDriver(t, "-root", root))
	require.NoError(t, afero.WriteFile(cd, "/target", []byte("hello"), 0o644))

	if runtime.GOOS != "windows" {
		require.NoError(t, cd.Symlink("/target", "/link"))

		data, err := os.ReadFile(filepath.Join(root, "link"))
		require.NoError(t, err)
		assert.Equal(t, "hello", string(data))
	}

	avail, err := cd.GetAvailableSpace("/")
	if runtime.GOOS == "linux" {
		require.NoError(t, err)
		assert.Positive(t, avail)
	}

	// A path that does not exist is an error, not a figure for another directory.
	_, err = cd.GetAvailableSpace("/missing")
	require.Error(t, err)
}

func TestRootSpaceNotThroughLinkLeaving(t *testing.T) {
	t.Parallel()

	if runtime.GOOS == "windows" {
		t.Skip("needs Unix symbolic links")
	}

	root := t.TempDir()
	require.NoError(t, os.Symlink("..", filepath.Join(root, "top")))

	// AVBL measures the directory opened beneath the root, never one a link leads out to.
	_, err := logIn(t, newTestDriver(t, "-root", root)).GetAvailableSpace("/top")
	require.ErrorIs(t, err, rootfs.ErrOutsideRoot)
}

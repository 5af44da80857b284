package ftpserver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ftpkit/ftpserver/rootfs"
)

// TestRootfsEveryLinkRemovable: over rootfs, and over a home opened from it with Sub, a link
// that leads nowhere, inside or outside is listed and can be renamed and deleted: DELE and RNFR
// look at the link itself (afero.Lstater), never at what it names.
func TestRootfsEveryLinkRemovable(t *testing.T) {
	links := map[string]string{
		"dangling": "missing.txt", "dangling-out": "../missing.txt", "inside": "keep.txt",
		"outside": "../secret.txt", "abs": "@/secret.txt", "dir-out": "..",
	}
	s := newJailedServer(t, links, map[string]string{"keep.txt": "keep"})

	parent, err := rootfs.New(s.outside)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, parent.Close()) })

	home, err := parent.Sub("served")
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, home.Close()) })

	servers := map[string]*testServer{"rootfs": s.testServer, "Sub": newTestServer(t, withFs(home))}

	for name, srv := range servers {
		conn := srv.dial(t)

		for link := range links {
			require.NoError(t, conn.Rename(link, link+".moved"), "%s: RNFR/RNTO %s", name, link)
			info, err := os.Lstat(filepath.Join(s.served, link+".moved"))
			require.NoError(t, err)
			assert.Equal(t, os.ModeSymlink, info.Mode().Type(), "%s: %s is moved as a link", name, link)

			require.NoError(t, conn.Rename(link+".moved", link), "%s: RNFR/RNTO %s back", name, link)
		}

		for link := range links {
			require.NoError(t, conn.Delete(link), "%s: DELE %s", name, link)
			require.NoFileExists(t, filepath.Join(s.served, link))
		}

		assert.Equal(t, "keep", retrText(t, conn, "keep.txt"))
		s.requireOutsideUntouched(t)

		// The next server finds the links again.
		for link, target := range links {
			if rest, ok := strings.CutPrefix(target, "@/"); ok {
				target = filepath.Join(s.outside, rest)
			}

			require.NoError(t, os.Symlink(target, filepath.Join(s.served, link)))
		}
	}
}

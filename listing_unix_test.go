//go:build unix

package ftpserver

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ftpkit/ftpserver/rootfs"
)

// statTestFile is a FileInfo carrying stat data, as the os package's do.
type statTestFile struct {
	listingTestFile

	st *syscall.Stat_t
}

func (f statTestFile) Sys() any { return f.st }

func TestAppendMLSxSystemFacts(t *testing.T) {
	t.Parallel()

	mtime := listingTestNow
	file := statTestFile{
		listingTestFile{"a.txt", 3, 0o640, mtime},
		&syscall.Stat_t{Dev: 0x803, Ino: 0x1a2b, Uid: 1000, Gid: 100},
	}

	tests := []struct {
		name  string
		fi    os.FileInfo
		facts mlstFacts
		want  string
	}{
		{
			"every fact", file, allMLSTFacts,
			"type=file;size=3;modify=20260315120000;perm=adfrw;unique=803U1a2b;UNIX.mode=0640;UNIX.owner=1000;" +
				"UNIX.group=100; a.txt\r\n",
		},
		{"unique only", file, factUnique, "unique=803U1a2b; a.txt\r\n"},
		{"owner and group", file, factUnixOwner | factUnixGroup, "UNIX.owner=1000;UNIX.group=100; a.txt\r\n"},
		{
			"no stat data: the facts are left out", listingTestFile{"m", 1, 0o644, mtime},
			factUnique | factUnixMode | factUnixOwner | factUnixGroup, "UNIX.mode=0644; m\r\n",
		},
		{
			"a nil stat pointer is no stat data", statTestFile{listingTestFile{"n", 1, 0o644, mtime}, nil},
			factUnique | factUnixOwner, " n\r\n",
		},
	}

	for _, tt := range tests {
		assert.Equal(t, tt.want, string(appendMLSxEntry(nil, tt.fi, tt.fi.Name(), "", tt.facts, false)), tt.name)
	}
}

// osFacts returns the unique, UNIX.owner and UNIX.group facts the os package's stat data give.
func osFacts(t *testing.T, path string) map[string]string {
	t.Helper()

	info, err := os.Stat(path)
	require.NoError(t, err)

	st, ok := info.Sys().(*syscall.Stat_t)
	require.True(t, ok)

	return map[string]string{
		"unique":     strconv.FormatUint(deviceNumber(st.Dev), 16) + "U" + strconv.FormatUint(st.Ino, 16),
		"unix.owner": strconv.FormatUint(uint64(st.Uid), 10),
		"unix.group": strconv.FormatUint(uint64(st.Gid), 10),
	}
}

func TestMLSxSystemFactsOnDisk(t *testing.T) {
	dir := t.TempDir()
	checkMLSxSystemFacts(t, dir, afero.NewBasePathFs(afero.NewOsFs(), dir))
}

func TestMLSxSystemFactsOnRootfs(t *testing.T) {
	dir := t.TempDir()
	fsys, err := rootfs.New(dir)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, fsys.Close()) })

	checkMLSxSystemFacts(t, dir, fsys)
}

// checkMLSxSystemFacts checks the facts MLSD and MLST take from the system's stat data, for a
// file system fs serving dir.
func checkMLSxSystemFacts(t *testing.T, dir string, fs afero.Fs) {
	t.Helper()

	s := newTestServer(t, withFs(fs))
	require.NoError(t, writeFile(s.driver.fs, "/f.txt", []byte("x")))
	require.NoError(t, s.driver.fs.Mkdir("/sub", 0o755))

	rc := s.rawLoggedIn(t)
	rc.expect("OPTS MLST "+allMLSTFacts.String(), StatusOK)

	entries := map[string]map[string]string{}
	for _, line := range rc.listing("MLSD") {
		facts, name := mlsxFacts(t, line)
		entries[name] = facts
	}

	for name, path := range map[string]string{".": dir, "f.txt": filepath.Join(dir, "f.txt"), "sub": filepath.Join(dir, "sub")} {
		require.Contains(t, entries, name)

		for fact, want := range osFacts(t, path) {
			assert.Equal(t, want, entries[name][fact], "%s of %s", fact, name)
		}
	}

	assert.NotEqual(t, entries["f.txt"]["unique"], entries["sub"]["unique"], "unique tells files apart")

	// OPTS MLST selects among all facts, the new ones included (RFC 3659 7.9).
	assert.Equal(t, "MLST OPTS unique;UNIX.group;", rc.expect("OPTS MLST UNIX.group;unique;", StatusOK))

	lines := strings.Split(rc.expect("MLST /f.txt", StatusFileOK), "\n")
	require.Len(t, lines, 3)

	facts, name := mlsxFacts(t, strings.TrimPrefix(lines[1], " "))
	assert.Equal(t, "/f.txt", name)

	want := osFacts(t, filepath.Join(dir, "f.txt"))
	assert.Equal(t, map[string]string{"unique": want["unique"], "unix.group": want["unix.group"]}, facts)
}

// Not parallel: AllocsPerRun counts the allocations of every goroutine, so it runs alone.
func TestMLSxEntryOfOsFileNoAllocs(t *testing.T) {
	info, err := os.Stat(t.TempDir())
	require.NoError(t, err)

	buf := make([]byte, 0, 256)

	assert.Zero(t, testing.AllocsPerRun(100, func() {
		buf = appendMLSxEntry(buf[:0], info, ".", "cdir", allMLSTFacts, false)
	}))
}

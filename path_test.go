package ftpserver

import (
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCleanPath(t *testing.T) {
	tests := []struct {
		cwd, name, want string
	}{
		{"/", "", "/"},
		{"/a", "", "/a"},
		{"/", "a", "/a"},
		{"/a", "b", "/a/b"},
		{"/a", "/b", "/b"},
		{"/a", ".", "/a"},
		{"/a", "./", "/a"},
		{"/a/b", "..", "/a"},
		{"/", "..", "/"},
		{"/", "../../..", "/"},
		{"/a", "../../../..", "/"},
		{"/a/b", "../../../../etc/passwd", "/etc/passwd"},
		{"/", "/../../etc/passwd", "/etc/passwd"},
		{"/", "a/../../b", "/b"},
		{"/", "//", "/"},
		{"/", "//a//b//", "/a/b"},
		{"/", "/./a/./b/.", "/a/b"},
		{"/a", "b/", "/a/b"},
		{"/a", "b///", "/a/b"},
		{"/", "...", "/..."},
		{"/", "..a", "/..a"},
		{"/", "a b", "/a b"},
		{"/", " a", "/ a"},
		{"/", `..\..\x`, `/..\..\x`}, // a backslash is a character of the name, not a separator
		{"/x", `a"b`, `/x/a"b`},
	}

	for _, tt := range tests {
		assert.Equal(t, tt.want, cleanPath(tt.cwd, tt.name), "cleanPath(%q, %q)", tt.cwd, tt.name)
	}
}

func FuzzCleanPath(f *testing.F) {
	for _, seed := range []string{"", "..", "../../etc/passwd", "//a/./b/", "a/../../..", `\..\`} {
		f.Add("/", seed)
		f.Add("/a/b", seed)
	}

	f.Fuzz(func(t *testing.T, cwd, name string) {
		got := cleanPath(cleanPath("/", cwd), name)
		require.True(t, strings.HasPrefix(got, "/"), "not absolute: %q", got)
		require.Equal(t, path.Clean(got), got, "not clean")
		require.NotContains(t, strings.Split(got, "/"), "..")
	})
}

func TestRelativePath(t *testing.T) {
	tests := []struct {
		base, target, want string
	}{
		{"/", "/", ""},
		{"/", "/a/b", "a/b"},
		{"/a", "/a", ""},
		{"/a", "/a/b/c", "b/c"},
		{"/a/b", "/a", ".."},
		{"/a/b", "/", "../.."},
		{"/a/b", "/a/c", "../c"},
		{"/a/b", "/x/y", "../../x/y"},
		{"/ab", "/a", "../a"},
		{"/a", "/ab", "../ab"},
	}

	for _, tt := range tests {
		assert.Equal(t, tt.want, relativePath(tt.base, tt.target), "relativePath(%q, %q)", tt.base, tt.target)
	}
}

func FuzzRelativePath(f *testing.F) {
	f.Add("/a/b", "/a/c")
	f.Add("/", "/x")

	f.Fuzz(func(t *testing.T, base, target string) {
		base, target = cleanPath("/", base), cleanPath("/", target)
		got := relativePath(base, target)
		require.Equal(t, target, cleanPath(base, got), "relativePath(%q, %q) = %q", base, target, got)
	})
}

func TestPathEscapesStayInRoot(t *testing.T) {
	s := newTestServer(t, withOsFs(t))
	served, outside := jailDirs(t, s)
	secretPath := filepath.Join(outside, "secret.txt")
	require.NoError(t, os.WriteFile(secretPath, []byte("outside secret"), 0o600))
	require.NoError(t, os.Mkdir(filepath.Join(outside, "etc"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(outside, "etc", "passwd"), []byte("root:x:0:0"), 0o600))
	// A decoy with the same name inside: any path that climbs is clamped at the root and finds it.
	require.NoError(t, writeFile(s.driver.fs, "/secret.txt", []byte("inside")))
	require.NoError(t, s.driver.fs.Mkdir("/sub", 0o755))

	conn := s.dial(t)

	for _, name := range []string{
		"../secret.txt", "../../secret.txt", "/../secret.txt", "//../secret.txt", "/./../secret.txt",
		"..//secret.txt", "sub/../../secret.txt", "/sub/../../../secret.txt", "secret.txt/",
	} {
		r, err := conn.Retr(name)
		require.NoError(t, err, name)
		assert.Equal(t, "inside", string(readAllClose(t, r)), "RETR %s", name)
	}

	rc := s.rawLoggedIn(t)
	rc.expect("TYPE I", StatusOK) // SIZE and REST answer in binary only
	rc.expect("RETR ../etc/passwd", StatusActionNotTaken)
	rc.expect("RETR ../../etc/passwd", StatusActionNotTaken)
	rc.expect("SIZE ../etc/passwd", StatusActionNotTaken)
	rc.expect("RETR "+secretPath, StatusActionNotTaken) // the real path means nothing inside
	rc.expect("DELE ../secret.txt", StatusFileOK)       // deletes the decoy, inside
	rc.expect("DELE ../secret.txt", StatusActionNotTaken)
	rc.expect("CWD ..", StatusFileOK)
	assert.Equal(t, []string{"sub"}, names(rc.listing("LIST ../..")), "the parent of the root is the root")

	secret, err := os.ReadFile(secretPath)
	require.NoError(t, err)
	assert.Equal(t, "outside secret", string(secret), "the file outside is untouched")

	// An upload that climbs lands inside.
	require.NoError(t, conn.Stor("../../escaped.txt", strings.NewReader("up")))
	_, err = os.Stat(filepath.Join(outside, "escaped.txt"))
	require.ErrorIs(t, err, os.ErrNotExist)
	_, err = os.Stat(filepath.Join(served, "escaped.txt"))
	require.NoError(t, err)
}

func TestSymlinkCannotPointOutside(t *testing.T) {
	s := newTestServer(t, withOsFs(t))
	_, outside := jailDirs(t, s)
	require.NoError(t, os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("outside secret"), 0o600))

	rc := s.rawLoggedIn(t)
	rc.expect("TYPE I", StatusOK) // SIZE and REST answer in binary only
	rc.expect("SITE SYMLINK ../secret.txt /link", StatusOK)

	// The target was resolved inside the root, where there is no secret.txt.
	rc.expect("SIZE /link", StatusActionNotTaken)

	require.NoError(t, writeFile(s.driver.fs, "/secret.txt", []byte("inside")))

	r, err := s.dial(t).Retr("/link")
	require.NoError(t, err)
	assert.Equal(t, "inside", string(readAllClose(t, r)))
}

func TestWorkingDirectoryNeverLeavesRoot(t *testing.T) {
	s := newTestServer(t)
	require.NoError(t, s.driver.fs.MkdirAll("/sub/deeper", 0o755))

	rc := s.rawLoggedIn(t)
	pwd := func() string {
		t.Helper()

		return rc.expect("PWD", StatusPathCreated)
	}

	rc.expect("CDUP", StatusFileOK)
	assert.Equal(t, `"/" is the current directory`, pwd(), "CDUP at the root stays there")
	rc.expect("CWD ../../..", StatusFileOK)
	assert.Equal(t, `"/" is the current directory`, pwd())
	rc.expect("CWD //", StatusFileOK)
	assert.Equal(t, `"/" is the current directory`, pwd())
	rc.expect("CWD /./sub/./", StatusFileOK)
	assert.Equal(t, `"/sub" is the current directory`, pwd())
	rc.expect("CWD deeper///", StatusFileOK)
	assert.Equal(t, `"/sub/deeper" is the current directory`, pwd())
	rc.expect("CWD ../../../../sub", StatusFileOK)
	assert.Equal(t, `"/sub" is the current directory`, pwd())
	rc.expect("XCUP", StatusFileOK)
	rc.expect("XCUP", StatusFileOK)
	assert.Equal(t, `"/" is the current directory`, pwd())
}

func TestNULInPathRefused(t *testing.T) {
	s := newTestServer(t)
	require.NoError(t, writeFile(s.driver.fs, "/a", []byte("x")))

	rc := s.rawLoggedIn(t)
	// SIZE and REST answer in binary only; a prepared data connection must not change the answer.
	rc.expect("TYPE I", StatusOK)
	rc.pasv()

	for _, command := range []string{
		"CWD a\x00b", "XCWD /a\x00", "MKD a\x00b", "XMKD a\x00b", "RMD a\x00b", "DELE a\x00b",
		"RETR a\x00b", "STOR a\x00b", "APPE a\x00b", "SIZE a\x00b", "MDTM a\x00b",
		"RNFR a\x00b", "LIST a\x00b", "NLST a\x00b", "MLSD a\x00b", "MLST a\x00b", "STAT a\x00b",
		"MFMT 20200101000000 a\x00b", "SITE CHMOD 644 a\x00b", "SITE SYMLINK /a b\x00c",
	} {
		assert.Equal(t, "Invalid path", rc.expect(command, StatusSyntaxErrorParameters), "%q", command)
	}

	rc.expect("RNFR /a", StatusFileActionPending)
	rc.expect("RNTO b\x00c", StatusSyntaxErrorParameters)

	names, err := afero.ReadDir(s.driver.fs, "/")
	require.NoError(t, err)
	require.Len(t, names, 1, "nothing was created")
}

// pathRecorder is a driver that records every path it is asked about.
type pathRecorder struct {
	afero.Fs

	mu    sync.Mutex
	paths []string
}

func (r *pathRecorder) record(names ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()

	r.paths = append(r.paths, names...)
}

func (r *pathRecorder) Stat(name string) (os.FileInfo, error) {
	r.record(name)

	return r.Fs.Stat(name)
}

func (r *pathRecorder) Open(name string) (afero.File, error) {
	r.record(name)

	return r.Fs.Open(name)
}

func (r *pathRecorder) OpenFile(name string, flag int, perm os.FileMode) (afero.File, error) {
	r.record(name)

	return r.Fs.OpenFile(name, flag, perm)
}

func (r *pathRecorder) Mkdir(name string, perm os.FileMode) error {
	r.record(name)

	return r.Fs.Mkdir(name, perm)
}

func (r *pathRecorder) Remove(name string) error {
	r.record(name)

	return r.Fs.Remove(name)
}

func (r *pathRecorder) Rename(oldname, newname string) error {
	r.record(oldname, newname)

	return r.Fs.Rename(oldname, newname)
}

func (r *pathRecorder) Chtimes(name string, atime, mtime time.Time) error {
	r.record(name)

	return r.Fs.Chtimes(name, atime, mtime)
}

func TestDriverSeesOnlyCleanPaths(t *testing.T) {
	recorder := &pathRecorder{Fs: afero.NewMemMapFs()}
	s := newTestServer(t, func(d *testDriver) { d.fs = recorder })
	require.NoError(t, recorder.MkdirAll("/sub/x", 0o755))

	rc := s.rawLoggedIn(t)
	rc.expect("TYPE I", StatusOK) // SIZE and REST answer in binary only
	for _, command := range []string{
		"CWD sub//x/", "CWD ../..", "MKD ./../new/", "MKD //new2", "RMD new2/.", "SIZE ../../../f",
		"MDTM /./f", "RNFR sub/../sub", "RNTO ./../renamed//", "MFMT 20200101000000 ../../renamed",
		"MLST ../", "STAT ..//renamed", "DELE ..", "CDUP",
	} {
		rc.cmd(command)
	}

	assert.Equal(t, []string{"x"}, names(rc.listing("LIST ../../renamed/../renamed/")))
	assert.NotEmpty(t, rc.listing("LIST -la //"))

	recorder.mu.Lock()
	defer recorder.mu.Unlock()

	require.NotEmpty(t, recorder.paths)

	for _, p := range recorder.paths {
		assert.True(t, strings.HasPrefix(p, "/"), "relative path given to the driver: %q", p)
		assert.Equal(t, path.Clean(p), p, "unclean path given to the driver")
	}
}

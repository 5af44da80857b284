package ftpserver

import (
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pathOnlyClient is a client handler with just what absPath reads.
func pathOnlyClient(cwd string, change func(*Settings)) *clientHandler {
	settings := Settings{}
	if change != nil {
		change(&settings)
	}

	return &clientHandler{loginState: loginState{path: cwd}, settings: settings.withDefaults()}
}

func TestAbsPathRefusals(t *testing.T) {
	t.Parallel()

	long := "/" + strings.Repeat("d", DefaultMaxPathLength-1)

	tests := []struct {
		name   string
		cwd    string
		arg    string
		change func(*Settings)
		want   string
		err    error
	}{
		{"plain", "/a", "b", nil, "/a/b", nil},
		{"UTF-8", "/", "été/日本", nil, "/été/日本", nil},
		{"NUL", "/", "a\x00b", nil, "", errInvalidPath},
		{"Latin-1 refused", "/", "caf\xe9", nil, "", errNameNotUTF8},
		{"truncated sequence refused", "/", "\xe6\x97", nil, "", errNameNotUTF8},
		{"Latin-1 passed through", "/", "caf\xe9", func(s *Settings) { s.InvalidUTF8Names = InvalidUTF8PassThrough },
			"/caf\xe9", nil},
		{"NUL even when passing through", "/", "\xe9\x00", func(s *Settings) {
			s.InvalidUTF8Names = InvalidUTF8PassThrough
		}, "", errInvalidPath},
		{"at the default limit", "/", long, nil, long, nil},
		{"over the default limit", "/", long + "x", nil, "", errPathTooLong},
		{"over by the working directory", "/" + strings.Repeat("c", 10), strings.Repeat("n", DefaultMaxPathLength-11),
			nil, "", errPathTooLong},
		{"dot-dots shrink it back", "/", long + "/..", nil, "/", nil},
		{"own limit", "/abc", "defg", func(s *Settings) { s.MaxPathLength = 8 }, "", errPathTooLong},
		{"own limit reached", "/abc", "def", func(s *Settings) { s.MaxPathLength = 8 }, "/abc/def", nil},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			got, err := pathOnlyClient(tt.cwd, tt.change).absPath(tt.arg)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				assert.Empty(t, got)

				return
			}

			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// namesFs records every name the server gives the driver.
type namesFs struct {
	afero.Fs

	mu    sync.Mutex
	names []string
}

func (f *namesFs) saw(names ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()

	f.names = append(f.names, names...)
}

func (f *namesFs) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()

	return slices.Clone(f.names)
}

func (f *namesFs) Create(name string) (afero.File, error) { f.saw(name); return f.Fs.Create(name) }
func (f *namesFs) Mkdir(name string, perm os.FileMode) error {
	f.saw(name)
	return f.Fs.Mkdir(name, perm)
}
func (f *namesFs) MkdirAll(name string, perm os.FileMode) error {
	f.saw(name)

	return f.Fs.MkdirAll(name, perm)
}
func (f *namesFs) Open(name string) (afero.File, error) { f.saw(name); return f.Fs.Open(name) }
func (f *namesFs) OpenFile(name string, flag int, perm os.FileMode) (afero.File, error) {
	f.saw(name)

	return f.Fs.OpenFile(name, flag, perm)
}
func (f *namesFs) Remove(name string) error    { f.saw(name); return f.Fs.Remove(name) }
func (f *namesFs) RemoveAll(name string) error { f.saw(name); return f.Fs.RemoveAll(name) }
func (f *namesFs) Rename(oldname, newname string) error {
	f.saw(oldname, newname)

	return f.Fs.Rename(oldname, newname)
}
func (f *namesFs) Stat(name string) (os.FileInfo, error) { f.saw(name); return f.Fs.Stat(name) }
func (f *namesFs) Chmod(name string, mode os.FileMode) error {
	f.saw(name)

	return f.Fs.Chmod(name, mode)
}
func (f *namesFs) Chown(name string, uid, gid int) error {
	f.saw(name)

	return f.Fs.Chown(name, uid, gid)
}
func (f *namesFs) Chtimes(name string, atime, mtime time.Time) error {
	f.saw(name)

	return f.Fs.Chtimes(name, atime, mtime)
}

func TestInvalidNamesNeverReachTheDriver(t *testing.T) {
	const maxPath = 64

	names := &namesFs{Fs: afero.NewMemMapFs()}
	s := newTestServer(t, func(d *testDriver) { d.fs = names },
		withSettings(func(settings *Settings) { settings.MaxPathLength = maxPath }))
	rc := s.rawLoggedIn(t)
	rc.expect("TYPE I", StatusOK) // SIZE and REST answer in binary only

	long := strings.Repeat("x", maxPath)

	for _, command := range []string{
		"CWD caf\xe9", "MKD caf\xe9", "RMD caf\xe9", "DELE caf\xe9", "RETR caf\xe9", "STOR caf\xe9",
		"APPE caf\xe9", "STOU caf\xe9", "SIZE caf\xe9", "MDTM caf\xe9", "RNFR caf\xe9", "MLST caf\xe9",
		"MFMT 20200101000000 caf\xe9", "SITE CHMOD 644 caf\xe9",
	} {
		msg := rc.expect(command, StatusActionNotTakenNoFile)
		assert.Equal(t, "Invalid path: File name is not valid UTF-8", msg, "%q", command)
	}

	for _, command := range []string{"CWD " + long, "STOR " + long, "RNFR " + long, "MKD " + long} {
		assert.Equal(t, "Invalid path: Path too long", rc.expect(command, StatusActionNotTakenNoFile))
	}

	// A listing of an invalid name is refused before the data connection is used.
	rc.expect("LIST caf\xe9", StatusActionNotTakenNoFile)

	rc.expect("RNFR /", StatusFileActionPending)
	rc.expect("RNTO caf\xe9", StatusActionNotTakenNoFile)
	rc.expect("SITE SYMLINK / caf\xe9", StatusActionNotTakenNoFile)
	rc.expect("MKD ok", StatusPathCreated) // the recording works

	seen := names.seen()
	assert.Contains(t, seen, "/ok")

	for _, name := range seen {
		assert.True(t, utf8.ValidString(name), "the driver saw %q", name)
		assert.LessOrEqual(t, len(name), maxPath, "the driver saw a name of %d bytes", len(name))
	}
}

func TestInvalidUTF8PassThrough(t *testing.T) {
	s := newTestServer(t, withSettings(func(settings *Settings) {
		settings.InvalidUTF8Names = InvalidUTF8PassThrough
	}))
	rc := s.rawLoggedIn(t)

	rc.expect("MKD caf\xe9", StatusPathCreated)
	rc.expect("CWD caf\xe9", StatusFileOK)
	assert.Equal(t, "\"/caf\xe9\" is the current directory", rc.expect("PWD", StatusPathCreated))

	info, err := s.driver.fs.Stat("/caf\xe9")
	require.NoError(t, err)
	assert.True(t, info.IsDir())
}

// FuzzAbsPath resolves arbitrary names against arbitrary working directories under both
// UTF-8 policies: a result is always absolute, clean, free of "..", NUL and (unless passed
// through) invalid UTF-8, and within MaxPathLength.
func FuzzAbsPath(f *testing.F) {
	for _, seed := range []string{
		"", "..", "../../etc/passwd", "//a/./b/", "a/../../..", `\..\`, "a\x00b", "caf\xe9",
		"\xe6\x97", "日本/../..", strings.Repeat("../", 40), strings.Repeat("a", 80), "a/\xff/..",
	} {
		f.Add("/", seed, false, uint8(0))
		f.Add("/a/b", seed, true, uint8(32))
	}

	// Found by the fuzzer: a working directory with NUL (a driver's SetPath can set one).
	f.Add("\x00", "", true, uint8('6'))

	f.Fuzz(func(t *testing.T, cwd, name string, passThrough bool, maxLen uint8) {
		c := pathOnlyClient(cleanPath("/", cwd), func(s *Settings) {
			if passThrough {
				s.InvalidUTF8Names = InvalidUTF8PassThrough
			}

			s.MaxPathLength = int(maxLen)
		})

		got, err := c.absPath(name)
		if err != nil {
			require.Empty(t, got)

			return
		}

		require.True(t, strings.HasPrefix(got, "/"), "not absolute: %q", got)
		require.Equal(t, path.Clean(got), got, "not clean")
		require.NotContains(t, strings.Split(got, "/"), "..")
		require.NotContains(t, got, "\x00")
		require.LessOrEqual(t, len(got), c.settings.MaxPathLength)

		if !passThrough {
			require.True(t, utf8.ValidString(name), "invalid UTF-8 accepted: %q", name)
		}
	})
}

package ftpserver

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// enableCOMB is the option of every test that needs COMB.
func enableCOMB(s *Settings) { s.EnableCOMB = true }

// requireNoCOMBTemp checks that no temporary file of a COMB was left in dir.
func requireNoCOMBTemp(t *testing.T, fs afero.Fs, dir string) {
	t.Helper()

	requireNoTemp(t, fs, dir, combTempPrefix)
}

func TestCOMBDisabled(t *testing.T) {
	s := newTestServer(t, withSettings(enableHASH))
	rc := s.rawLoggedIn(t)

	assert.Contains(t, rc.expect(`COMB "a" "b"`, StatusCommandNotImplemented), "disabled")
	assert.NotContains(t, strings.Split(rc.expect("FEAT", StatusSystemStatus), "\n"), " COMB")
}

func TestCOMBNeedsLogin(t *testing.T) {
	s := newTestServer(t, withSettings(enableCOMB))
	s.raw(t).expect(`COMB "a" "b"`, StatusNotLoggedIn)
}

func TestCOMB(t *testing.T) {
	onFileSystems(t, func(t *testing.T, s *testServer) {
		t.Helper()

		conn := s.dial(t)
		rc := s.rawLoggedIn(t)
		assert.Contains(t, strings.Split(rc.expect("FEAT", StatusSystemStatus), "\n"), " COMB")

		parts := map[string][]byte{
			"p1":         testContent(1000),
			"p2":         testContent(3*transferChunk + 5),
			"p3":         []byte("seven b"),
			"p4":         []byte("tail"),
			"part one":   []byte("one "),
			`part "two"`: []byte("two"),
		}
		for name, data := range parts {
			require.NoError(t, conn.Stor(name, bytes.NewReader(data)))
		}

		// The parts are appended in the order given, not in the order of their names, and removed.
		assert.Equal(t, "COMB succeeded!", rc.expect(`COMB "target.bin" "p3" "p1" "p2"`, StatusFileOK))

		want := bytes.Join([][]byte{parts["p3"], parts["p1"], parts["p2"]}, nil)
		r, err := conn.Retr("target.bin")
		require.NoError(t, err)
		require.Equal(t, sha256Hex(want), sha256Hex(readAllClose(t, r)))

		for _, name := range []string{"/p1", "/p2", "/p3"} {
			exists, err := afero.Exists(s.driver.fs, name)
			require.NoError(t, err)
			assert.False(t, exists, name)
		}

		// An existing target is appended to; bare names work when they have no spaces.
		rc.expect("COMB target.bin p4", StatusFileOK)
		requireContent(t, s.driver.fs, "/target.bin", append(want, parts["p4"]...))

		// Quoted names hold spaces and doubled quotes, and resolve from the working directory.
		require.NoError(t, s.driver.fs.Mkdir("/sub", 0o755))
		rc.expect("CWD /sub", StatusFileOK)
		rc.expect(`COMB "new target" "/part one" "../part ""two"""`, StatusFileOK)
		requireContent(t, s.driver.fs, "/sub/new target", []byte("one two"))

		requireNoCOMBTemp(t, s.driver.fs, "/")
		requireNoCOMBTemp(t, s.driver.fs, "/sub")
	}, withSettings(enableCOMB))
}

func TestCOMBMissingPartLeavesEverything(t *testing.T) {
	onFileSystems(t, func(t *testing.T, s *testServer) {
		t.Helper()

		require.NoError(t, writeFile(s.driver.fs, "/target", []byte("old")))
		require.NoError(t, writeFile(s.driver.fs, "/p1", []byte("one")))

		rc := s.rawLoggedIn(t)
		assert.Contains(t, rc.expect(`COMB "target" "p1" "missing"`, StatusActionNotTaken), "no such file or directory")
		assert.Contains(t, rc.expect(`COMB "new" "p1" "missing"`, StatusActionNotTaken), "no such file or directory")

		requireContent(t, s.driver.fs, "/target", []byte("old"))
		requireContent(t, s.driver.fs, "/p1", []byte("one"))

		exists, err := afero.Exists(s.driver.fs, "/new")
		require.NoError(t, err)
		assert.False(t, exists)
		requireNoCOMBTemp(t, s.driver.fs, "/")
	}, withSettings(enableCOMB))
}

// failingFs refuses to open or to remove one file, which it still lists and stats.
type failingFs struct {
	afero.Fs

	failOpen, failRemove string
}

func (f failingFs) OpenFile(name string, flag int, perm os.FileMode) (afero.File, error) {
	if name == f.failOpen {
		return nil, &os.PathError{Op: "open", Path: name, Err: os.ErrPermission}
	}

	return f.Fs.OpenFile(name, flag, perm)
}

func (f failingFs) Remove(name string) error {
	if name == f.failRemove {
		return &os.PathError{Op: "remove", Path: name, Err: os.ErrPermission}
	}

	return f.Fs.Remove(name)
}

func TestCOMBFailureMidwayLeavesEverything(t *testing.T) {
	fs := failingFs{Fs: afero.NewMemMapFs(), failOpen: "/p3"}
	s := newTestServer(t, withSettings(enableCOMB), withFs(fs))

	for name, data := range map[string]string{"/target": "old", "/p1": "one", "/p2": "two", "/p3": "three"} {
		require.NoError(t, writeFile(fs.Fs, name, []byte(data)))
	}

	// p1 and p2 were copied when p3 failed: the temporary file goes, nothing else changes.
	rc := s.rawLoggedIn(t)
	assert.Contains(t, rc.expect("COMB target p1 p2 p3", StatusActionNotTaken), "permission denied")

	for name, data := range map[string]string{"/target": "old", "/p1": "one", "/p2": "two", "/p3": "three"} {
		requireContent(t, fs.Fs, name, []byte(data))
	}

	requireNoCOMBTemp(t, fs.Fs, "/")
}

func TestCOMBPartNotRemovable(t *testing.T) {
	fs := failingFs{Fs: afero.NewMemMapFs(), failRemove: "/p2"}
	s := newTestServer(t, withSettings(enableCOMB), withFs(fs))
	require.NoError(t, writeFile(fs.Fs, "/p1", []byte("one")))
	require.NoError(t, writeFile(fs.Fs, "/p2", []byte("two")))

	// The target holds the parts: COMB succeeded, and says what it could not clean up.
	rc := s.rawLoggedIn(t)
	msg := rc.expect("COMB t p1 p2", StatusFileOK)
	assert.Equal(t, "COMB succeeded!; could not remove /p2: permission denied", msg)

	requireContent(t, fs.Fs, "/t", []byte("onetwo"))

	exists, err := afero.Exists(fs.Fs, "/p1")
	require.NoError(t, err)
	assert.False(t, exists)
}

func TestCOMBErrors(t *testing.T) {
	s := newTestServer(t, withSettings(enableCOMB))
	require.NoError(t, writeFile(s.driver.fs, "/a", []byte("a")))
	require.NoError(t, writeFile(s.driver.fs, "/t", []byte("t")))
	require.NoError(t, s.driver.fs.Mkdir("/dir", 0o755))

	rc := s.rawLoggedIn(t)
	for _, line := range []string{
		"COMB", "COMB t", `COMB "t"`, `COMB "t" "a`, `COMB "t" "a"x`, `COMB "t" ""`,
		"COMB t t", "COMB t a a", "COMB t a /a", "COMB /dir/../t a ./t", "COMB t a\x00b",
	} {
		rc.expect(line, StatusSyntaxErrorParameters)
	}

	// draft-bryan-ftpext-hash-02 3.5's code for "not a file", used for COMB too.
	assert.Contains(t, rc.expect("COMB t dir", StatusActionNotTakenNoFile), "not a regular file")
	assert.Contains(t, rc.expect("COMB dir a", StatusActionNotTakenNoFile), "not a regular file")

	requireContent(t, s.driver.fs, "/a", []byte("a"))
	requireContent(t, s.driver.fs, "/t", []byte("t"))
}

func TestCOMBOpensThroughGetHandle(t *testing.T) {
	fs := &handleFs{Fs: afero.NewMemMapFs()}
	s := newTestServer(t, withSettings(enableCOMB), withFs(fs))
	require.NoError(t, writeFile(fs.Fs, "/t", []byte("0")))
	require.NoError(t, writeFile(fs.Fs, "/p", []byte("1")))

	s.rawLoggedIn(t).expect("COMB t p", StatusFileOK)
	requireContent(t, fs.Fs, "/t", []byte("01"))

	calls := fs.calls.all()
	require.Len(t, calls, 3)
	assert.True(t, strings.HasPrefix(calls[0].name, "/"+combTempPrefix), calls[0].name)
	assert.Equal(t, os.O_WRONLY|os.O_CREATE|os.O_EXCL, calls[0].flags)
	assert.Equal(t, []handleCall{{"/t", os.O_RDONLY, 0}, {"/p", os.O_RDONLY, 0}}, calls[1:])
}

func TestSplitQuotedArgs(t *testing.T) {
	for _, tt := range []struct {
		param string
		want  []string
		err   error
	}{
		{param: `"final.log" "132.log"`, want: []string{"final.log", "132.log"}},
		{param: "final5.log 64.log 65.log", want: []string{"final5.log", "64.log", "65.log"}},
		{param: `final7.log "6 6.log" 67.log`, want: []string{"final7.log", "6 6.log", "67.log"}},
		{param: `  a   "b c"  `, want: []string{"a", "b c"}},
		{param: `"say ""hi""" x"y`, want: []string{`say "hi"`, `x"y`}},
		{param: `""""`, want: []string{`"`}},
		{param: ""},
		{param: `"a`, err: errUnclosedQuote},
		{param: `"a""`, err: errUnclosedQuote},
		{param: `"a"b`, err: errTextAfterQuote},
		{param: `a ""`, err: errEmptyName},
	} {
		got, err := splitQuotedArgs(tt.param)
		require.ErrorIs(t, err, tt.err, "%q", tt.param)
		assert.Equal(t, tt.want, got, "%q", tt.param)
	}
}

func FuzzParseCOMBArgs(f *testing.F) {
	for _, seed := range []string{`"final.log" "132.log"`, "a b c", `a "b c" d`, `"x""y" z`, `"a`, `"a"b`, "a"} {
		f.Add(seed)
	}

	f.Fuzz(func(t *testing.T, param string) {
		target, parts, err := parseCOMBArgs(param)
		if err != nil {
			require.Empty(t, target)
			require.Nil(t, parts)

			return
		}

		require.NotEmpty(t, parts)

		names := append([]string{target}, parts...)
		quoted := make([]string, 0, len(names))

		for _, name := range names {
			require.NotEmpty(t, name)
			quoted = append(quoted, quoteArg(name))
		}

		// Every name quoted, as GoAnywhere and CuteFTP send them, reads back the same.
		againTarget, againParts, err := parseCOMBArgs(strings.Join(quoted, " "))
		require.NoError(t, err)
		require.Equal(t, target, againTarget)
		require.Equal(t, parts, againParts)
	})
}

func TestCOMBKeepsTargetMode(t *testing.T) {
	onFileSystems(t, func(t *testing.T, s *testServer) {
		t.Helper()

		fs := s.driver.fs
		require.NoError(t, writeFile(fs, "/private", []byte("a")))
		require.NoError(t, fs.Chmod("/private", 0o600))
		require.NoError(t, writeFile(fs, "/p", []byte("b")))

		s.rawLoggedIn(t).expect("COMB private p", StatusFileOK)

		info, err := fs.Stat("/private")
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
		requireContent(t, fs, "/private", []byte("ab"))
	}, withSettings(enableCOMB))
}

package ftpserver

import (
	"net/textproto"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jlaffaye/ftp"
	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// wildcardTree is the tree the wildcard tests list: names with and without wildcard
// characters, a hidden file, a subdirectory, and a directory whose own name holds a '*'.
var wildcardTree = map[string]string{
	"/top.txt":         "top",
	"/dir/a.txt":       "aaa",
	"/dir/b.txt":       "bbbbbb",
	"/dir/c.log":       "log",
	"/dir/.hidden.txt": "hidden",
	"/dir/a*b":         "literal star",
	"/dir/aXb":         "matched by a*b",
	"/dir/sub/s.txt":   "nested",
	"/d*r/f.txt":       "under a starred directory",
}

func writeTree(t *testing.T, fs afero.Fs, tree map[string]string) {
	t.Helper()

	for name, content := range tree {
		require.NoError(t, fs.MkdirAll(path.Dir(name), 0o755))
		require.NoError(t, writeFile(fs, name, []byte(content)))
	}
}

// replyOf returns the code and text of the FTP error a jlaffaye/ftp call failed with.
func replyOf(t *testing.T, err error) (int, string) {
	t.Helper()

	var protoErr *textproto.Error
	require.ErrorAs(t, err, &protoErr)

	return protoErr.Code, protoErr.Msg
}

func TestNLSTWildcards(t *testing.T) {
	s := newTestServer(t)
	writeTree(t, s.driver.fs, wildcardTree)

	tests := []struct {
		name, cwd, arg string
		want           []string // the names NLST answers, in order; nil when it fails
		code           int
		text           string
	}{
		{name: "star in the working directory", cwd: "/dir", arg: "*.txt", want: []string{"a.txt", "b.txt"}},
		{name: "absolute", cwd: "/", arg: "/dir/*.txt", want: []string{"/dir/a.txt", "/dir/b.txt"}},
		{name: "relative with directory", cwd: "/", arg: "dir/*.txt", want: []string{"dir/a.txt", "dir/b.txt"}},
		{name: "dot-slash kept as given", cwd: "/dir", arg: "./*.log", want: []string{"./c.log"}},
		{name: "question mark", cwd: "/", arg: "dir/?.log", want: []string{"dir/c.log"}},
		{name: "class", cwd: "/", arg: "dir/[ab].txt", want: []string{"dir/a.txt", "dir/b.txt"}},
		{name: "negated class", cwd: "/", arg: "dir/[^a].txt", want: []string{"dir/b.txt"}},
		{name: "range", cwd: "/", arg: "dir/[b-z].*", want: []string{"dir/b.txt", "dir/c.log"}},
		{name: "star matches directories too", cwd: "/dir", arg: "s*", want: []string{"sub"}},
		{
			name: "all, sorted, hidden left out", cwd: "/", arg: "dir/*",
			want: []string{"dir/a*b", "dir/a.txt", "dir/aXb", "dir/b.txt", "dir/c.log", "dir/sub"},
		},
		{name: "-a shows hidden names", cwd: "/", arg: "-a dir/*.txt", want: []string{"dir/.hidden.txt", "dir/a.txt", "dir/b.txt"}},
		{name: "a pattern starting with a dot matches hidden names", cwd: "/dir", arg: ".*", want: []string{".hidden.txt"}},
		{name: "a literal name wins over its pattern", cwd: "/", arg: "dir/a*b", want: []string{"dir/a*b"}},
		{name: "backslash escapes a wildcard", cwd: "/", arg: `dir/\a\*?`, want: []string{"dir/a*b"}},
		{name: "wildcards in earlier elements are literal", cwd: "/", arg: "d*r/*.txt", want: []string{"d*r/f.txt"}},
		{name: "the top directory", cwd: "/dir", arg: "/*", want: []string{"/d*r", "/dir", "/top.txt"}},
		{name: "dot-dot above the root stays at the root", cwd: "/dir", arg: "../../../*.txt", want: []string{"../../../top.txt"}},
		{name: "a trailing slash is dropped", cwd: "/", arg: "dir/*.txt/", want: []string{"dir/a.txt", "dir/b.txt"}},
		{name: "a plain directory is not a pattern", cwd: "/", arg: "dir/sub", want: []string{"dir/sub/s.txt"}},
		// A directory's entries are named relative to the working directory, as ftpserverlib names
		// them; a pattern's matches as the pattern names them, as a shell's glob does.
		{name: "an absolute directory", cwd: "/dir", arg: "/dir/sub", want: []string{"sub/s.txt"}},
		{name: "an absolute pattern", cwd: "/dir", arg: "/dir/s*", want: []string{"/dir/sub"}},
		{name: "a directory above the working directory", cwd: "/dir/sub", arg: "/d*r", want: []string{"../../d*r/f.txt"}},
		{
			name: "no match", cwd: "/", arg: "dir/*.none",
			code: StatusFileActionNotTaken, text: "Could not list: no such file or directory",
		},
		{
			name: "no such directory", cwd: "/", arg: "missing/*.txt",
			code: StatusFileActionNotTaken, text: "Could not list: no such file or directory",
		},
		{
			name: "a wildcard directory is not expanded", cwd: "/", arg: "d*/a.txt",
			code: StatusFileActionNotTaken, text: "Could not list: no such file or directory",
		},
		{
			name: "under a file", cwd: "/", arg: "top.txt/*",
			code: StatusFileActionNotTaken, text: "Could not list: not a directory",
		},
		{
			name: "unterminated class", cwd: "/", arg: "dir/[ab",
			code: StatusSyntaxErrorParameters, text: "Cannot list /dir/[ab: malformed wildcard pattern",
		},
		{
			name: "trailing backslash", cwd: "/", arg: `dir/*\`,
			code: StatusSyntaxErrorParameters, text: `Cannot list /dir/*\: malformed wildcard pattern`,
		},
	}

	conn := s.dial(t)

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, conn.ChangeDir(tc.cwd))

			got, err := conn.NameList(tc.arg)
			if tc.want == nil {
				code, text := replyOf(t, err)
				assert.Equal(t, tc.code, code, text)
				assert.Equal(t, tc.text, text)

				return
			}

			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestLISTWildcards(t *testing.T) {
	s := newTestServer(t)
	writeTree(t, s.driver.fs, wildcardTree)

	// Without MLSD, jlaffaye/ftp sends LIST and parses its ls -l lines.
	conn := s.dial(t, ftp.DialWithDisabledMLSD(true))

	entries, err := conn.List("/dir/*.txt")
	require.NoError(t, err)

	sizes := map[string]uint64{}
	for _, e := range entries {
		assert.Equal(t, ftp.EntryTypeFile, e.Type, e.Name)
		sizes[e.Name] = e.Size
	}

	assert.Equal(t, map[string]uint64{"a.txt": 3, "b.txt": 6}, sizes, "LIST names the matches as entries of their directory")

	entries, err = conn.List("/dir/s?b")
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, "sub", entries[0].Name)
	assert.Equal(t, ftp.EntryTypeFolder, entries[0].Type, "a matching directory is listed as itself, not entered")

	_, err = conn.List("/dir/*.none")
	code, text := replyOf(t, err)
	assert.Equal(t, StatusFileActionNotTaken, code)
	assert.Equal(t, "Could not list: no such file or directory", text)

	rc := s.rawLoggedIn(t)
	rc.expect("CWD /dir", StatusFileOK)
	assert.Equal(t, []string{"a.txt", "b.txt"}, names(rc.listing("LIST *.txt")))
	assert.Equal(t, []string{".hidden.txt", "a.txt", "b.txt"}, names(rc.listing("LIST -a *.txt")))
	assert.Equal(t, []string{".hidden.txt", "a.txt", "b.txt"}, names(rc.listing("LIST -la *.txt")))
	assert.Equal(t, []string{"a*b"}, names(rc.listing("LIST a*b")), "the literal name wins")

	lines := rc.listing("LIST -l ?.log")
	require.Len(t, lines, 1)
	m := lsLine.FindStringSubmatch(lines[0])
	require.NotNil(t, m, lines[0])
	assert.Equal(t, []string{"-", "3", "c.log"}, []string{m[1], m[3], m[7]})

	assert.Equal(t, "Cannot list /dir/[: malformed wildcard pattern", rc.expect("LIST [", StatusSyntaxErrorParameters))
}

func TestSTATAndMLSDWildcards(t *testing.T) {
	s := newTestServer(t)
	writeTree(t, s.driver.fs, wildcardTree)

	rc := s.rawLoggedIn(t)
	lines := strings.Split(rc.expect("STAT /dir/*.txt", StatusDirectoryStatus), "\n")
	require.Len(t, lines, 4)
	assert.Equal(t, "STAT /dir/*.txt", lines[0])
	assert.Equal(t, "End", lines[3])

	for i, want := range []string{"a.txt", "b.txt"} {
		m := lsLine.FindStringSubmatch(strings.TrimPrefix(lines[i+1], " "))
		require.NotNil(t, m, lines[i+1])
		assert.Equal(t, want, m[7])
	}

	assert.Equal(t, "Could not STAT: no such file or directory", rc.expect("STAT /dir/*.none", StatusFileActionNotTaken))
	assert.Equal(t, "Could not STAT: not a directory", rc.expect("STAT /top.txt/*", StatusFileActionNotTaken))
	assert.Equal(t, "Cannot list /dir/[x: malformed wildcard pattern",
		rc.expect("STAT /dir/[x", StatusSyntaxErrorParameters))

	// MLSD and MLST name one directory or file; a pattern is a name like any other.
	assert.Equal(t, "Could not list: no such file or directory", rc.expect("MLSD /dir/*", StatusActionNotTaken))
	assert.Equal(t, "Could not list: no such file or directory", rc.expect("MLST /dir/*.txt", StatusActionNotTaken))
}

func TestWildcardsReadOneDirectoryThroughReadDir(t *testing.T) {
	fs := &listerFs{Fs: afero.NewMemMapFs()}
	require.NoError(t, fs.MkdirAll("/real/deeper", 0o755))

	s := newTestServer(t, withFs(fs))
	got, err := s.dial(t).NameList("/real/v*.txt")
	require.NoError(t, err)
	assert.Equal(t, []string{"/real/virtual.txt"}, got, "the entries come from ClientDriverExtensionFileList")
	assert.Equal(t, []string{"/real"}, fs.dirs.all(), "only the pattern's directory is read")
}

func TestWildcardLimits(t *testing.T) {
	s := newTestServer(t, withSettings(func(s *Settings) {
		s.MaxWildcardMatches = 3
		s.MaxWildcardDirEntries = 10
	}))
	fs := s.driver.fs

	for i := range 5 {
		require.NoError(t, writeFile(fs, "/five/f"+strconv.Itoa(i), []byte("x")))
	}

	for i := range 11 {
		require.NoError(t, writeFile(fs, "/eleven/g"+strconv.Itoa(i), []byte("x")))
	}

	conn := s.dial(t)

	got, err := conn.NameList("/five/f[0-2]")
	require.NoError(t, err)
	assert.Equal(t, []string{"/five/f0", "/five/f1", "/five/f2"}, got, "as many matches as the limit")

	_, err = conn.NameList("/five/f*")
	code, text := replyOf(t, err)
	assert.Equal(t, StatusActionNotTaken, code)
	assert.Equal(t, "Cannot list /five/f*: the pattern matches too many names (more than 3)", text)

	_, err = conn.NameList("/eleven/g1?")
	code, text = replyOf(t, err)
	assert.Equal(t, StatusActionNotTaken, code)
	assert.Equal(t, "Cannot list /eleven/g1?: the directory is too large to expand a pattern in (more than 10 entries)",
		text, "the directory is refused even though the pattern would match only one name")

	// Plain listings are not bounded: they stream.
	got, err = conn.NameList("/eleven")
	require.NoError(t, err)
	assert.Len(t, got, 11)

	rc := s.rawLoggedIn(t)
	assert.Equal(t, "Cannot list /five/*: the pattern matches too many names (more than 3)",
		rc.expect("LIST /five/*", StatusActionNotTaken))
	assert.Equal(t, "Cannot list /eleven/*: the directory is too large to expand a pattern in (more than 10 entries)",
		rc.expect("STAT /eleven/*", StatusActionNotTaken))
}

func TestWildcardSettingsDefaults(t *testing.T) {
	for _, value := range []int{0, -1} {
		s := Settings{MaxWildcardMatches: value, MaxWildcardDirEntries: value}.withDefaults()
		assert.Equal(t, DefaultMaxWildcardMatches, s.MaxWildcardMatches)
		assert.Equal(t, DefaultMaxWildcardDirEntries, s.MaxWildcardDirEntries)
	}

	s := Settings{MaxWildcardMatches: 7, MaxWildcardDirEntries: 9}.withDefaults()
	assert.Equal(t, 7, s.MaxWildcardMatches)
	assert.Equal(t, 9, s.MaxWildcardDirEntries)
}

// TestWildcardsStayInTheRoot serves a directory beside which a file lies outside the served
// root: no pattern reaches it.
func TestWildcardsStayInTheRoot(t *testing.T) {
	outer := t.TempDir()
	root := filepath.Join(outer, "root")
	require.NoError(t, os.Mkdir(root, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(outer, "secret.txt"), []byte("outside"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(root, "inside.txt"), []byte("inside"), 0o600))

	s := newTestServer(t, func(d *testDriver) { d.fs = afero.NewBasePathFs(afero.NewOsFs(), root) })
	conn := s.dial(t)

	for _, arg := range []string{"../*.txt", "/../*", "../../*", "/*/../*.txt", "*/../../*"} {
		got, err := conn.NameList(arg)
		if err != nil {
			code, text := replyOf(t, err)
			assert.Equal(t, StatusFileActionNotTaken, code, "%s: %s", arg, text)
			assert.NotContains(t, text, outer, arg)

			continue
		}

		for _, name := range got {
			assert.Equal(t, "inside.txt", path.Base(name), "%s lists only the served root", arg)
		}
	}

	got, err := conn.NameList("../*.txt")
	require.NoError(t, err)
	assert.Equal(t, []string{"../inside.txt"}, got)
}

// FuzzWildcardMatcher checks the matcher against path.Match for any pattern and names: it never
// panics, refuses exactly the patterns path.Match refuses, and returns the matching names,
// sorted, within its limits.
func FuzzWildcardMatcher(f *testing.F) {
	f.Add("*.txt", "a.txt/b.log/.h.txt/c.txt", 3)
	f.Add("[", "[", 1)
	f.Add(`\*`, "*/a", 1)
	f.Add("[^a-c]?", "ab/dd/zz", 2)
	f.Add(".*", ".a/b", 5)

	f.Fuzz(func(t *testing.T, pattern, joined string, limit int) {
		limit = 1 + abs(limit)%8
		settings := Settings{MaxWildcardMatches: limit, MaxWildcardDirEntries: 2 * limit}

		m, err := newWildcardMatcher(pattern, false, &settings)

		_, matchErr := path.Match(pattern, "")
		if matchErr != nil {
			require.ErrorIs(t, err, errBadPattern)

			return
		}

		require.NoError(t, err)

		var (
			entries []os.FileInfo
			want    []string
		)

		for _, name := range strings.Split(joined, "/") {
			entries = append(entries, fakeInfo{name: name})

			ok, _ := path.Match(pattern, name)
			if ok && (!strings.HasPrefix(name, ".") || strings.HasPrefix(pattern, ".")) {
				want = append(want, name)
			}
		}

		addErr := m.add(entries)

		switch {
		case len(entries) > 2*limit:
			require.ErrorIs(t, addErr, errDirectoryTooLarge)

			return
		case len(want) > limit:
			require.ErrorIs(t, addErr, errTooManyMatches)

			return
		}

		require.NoError(t, addErr)

		matches, err := m.result()
		if len(want) == 0 {
			require.ErrorIs(t, err, os.ErrNotExist)

			return
		}

		require.NoError(t, err)

		got := make([]string, 0, len(matches))
		for _, info := range matches {
			got = append(got, info.Name())
		}

		slices.Sort(want)
		assert.Equal(t, want, got)
	})
}

func abs(n int) int {
	if n < 0 {
		return -n
	}

	return n
}

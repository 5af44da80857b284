package ftpserver

import (
	"fmt"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"
	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCWDAndPWD(t *testing.T) {
	s := newTestServer(t)
	require.NoError(t, s.driver.fs.MkdirAll("/a/b", 0o755))
	require.NoError(t, writeFile(s.driver.fs, "/a/f.txt", []byte("x")))

	rc := s.rawLoggedIn(t)
	assert.Equal(t, `"/" is the current directory`, rc.expect("PWD", StatusPathCreated))

	rc.expect("CWD /a", StatusFileOK)
	rc.expect("XCWD b", StatusFileOK)
	assert.Equal(t, `"/a/b" is the current directory`, rc.expect("XPWD", StatusPathCreated))

	// RFC 959 5.4 lists 200 for CDUP, but clients (jlaffaye/ftp among them) expect the 250
	// of CWD, which CDUP is a special case of; servers answer 250.
	assert.Equal(t, "CDUP worked on /a", rc.expect("CDUP", StatusFileOK))
	assert.Equal(t, `"/a" is the current directory`, rc.expect("PWD", StatusPathCreated))
	rc.expect("XCUP", StatusFileOK)
	assert.Equal(t, `"/" is the current directory`, rc.expect("PWD", StatusPathCreated))

	assert.Equal(t, "CD worked on /a/b", rc.expect("CWD a/b", StatusFileOK))
	assert.Equal(t, "CD issue: no such file or directory", rc.expect("CWD /missing", StatusActionNotTaken))
	assert.Equal(t, "Can't change directory to /a/f.txt: Not a Directory", rc.expect("CWD /a/f.txt", StatusActionNotTaken))
	rc.expect("CWD ../f.txt", StatusActionNotTaken)
	assert.Equal(t, `"/a/b" is the current directory`, rc.expect("PWD", StatusPathCreated), "a failed CWD moves nowhere")

	conn := s.dial(t)
	require.NoError(t, conn.ChangeDir("/a/b"))
	require.NoError(t, conn.ChangeDirToParent())

	dir, err := conn.CurrentDir()
	require.NoError(t, err)
	assert.Equal(t, "/a", dir)
}

func TestPWDQuotesEmbeddedQuotes(t *testing.T) {
	s := newTestServer(t)
	rc := s.rawLoggedIn(t)

	// RFC 959 appendix II: a quote inside the quoted path name is doubled.
	assert.Equal(t, `"/a""b" created`, rc.expect(`MKD a"b`, StatusPathCreated))
	assert.Equal(t, `"/a""b/""q""" created`, rc.expect(`XMKD a"b/"q"`, StatusPathCreated))

	rc.expect(`CWD a"b/"q"`, StatusFileOK)
	assert.Equal(t, `"/a""b/""q""" is the current directory`, rc.expect("PWD", StatusPathCreated))

	info, err := s.driver.fs.Stat(`/a"b/"q"`)
	require.NoError(t, err)
	assert.True(t, info.IsDir())
}

func TestMKDAndRMD(t *testing.T) {
	onFileSystems(t, func(t *testing.T, s *testServer) {
		t.Helper()

		fs := s.driver.fs
		rc := s.rawLoggedIn(t)

		assert.Equal(t, `"/d" created`, rc.expect("MKD /d", StatusPathCreated))
		rc.expect("CWD /d", StatusFileOK)
		assert.Equal(t, `"/d/e" created`, rc.expect("XMKD e", StatusPathCreated), "relative to the working directory")
		rc.expect("CWD /", StatusFileOK)

		assert.Equal(t, `Could not create "/d" : file exists`, rc.expect("MKD /d", StatusActionNotTaken))

		require.NoError(t, writeFile(fs, "/d/e/file.txt", []byte("keep me")))
		assert.Equal(t, "Could not delete dir /d/e: directory not empty", rc.expect("RMD /d/e", StatusActionNotTaken))
		rc.expect("XRMD /d", StatusActionNotTaken)

		data, err := afero.ReadFile(fs, "/d/e/file.txt")
		require.NoError(t, err, "a refused RMD leaves the contents alone")
		assert.Equal(t, "keep me", string(data))

		assert.Equal(t, "Could not delete dir /d/e/file.txt: not a directory", rc.expect("RMD /d/e/file.txt", StatusActionNotTaken))
		assert.Equal(t, "Could not delete dir /missing: no such file or directory", rc.expect("RMD /missing", StatusActionNotTaken))
		assert.Equal(t, "Cannot remove the root directory", rc.expect("RMD /", StatusActionNotTaken))
		rc.expect("RMD ../..", StatusActionNotTaken)

		require.NoError(t, fs.Remove("/d/e/file.txt"))
		assert.Equal(t, "Deleted dir /d/e", rc.expect("RMD /d/e", StatusFileOK))
		rc.expect("XRMD d", StatusFileOK)

		_, err = fs.Stat("/d")
		require.Error(t, err)
	})
}

func TestLISTFormat(t *testing.T) {
	s := newTestServer(t)
	fs := s.driver.fs
	recent := time.Now().Add(-2 * time.Hour).UTC()
	old := time.Date(2019, 3, 4, 5, 6, 7, 0, time.UTC)

	require.NoError(t, writeFile(fs, "/recent.txt", []byte("12345")))
	require.NoError(t, fs.Chtimes("/recent.txt", recent, recent))
	require.NoError(t, writeFile(fs, "/old.txt", testContent(123_456)))
	require.NoError(t, fs.Chtimes("/old.txt", old, old))
	require.NoError(t, fs.Mkdir("/sub", 0o755))
	future := time.Now().Add(48 * time.Hour).UTC()
	require.NoError(t, writeFile(fs, "/future.txt", nil))
	require.NoError(t, fs.Chtimes("/future.txt", future, future))

	rc := s.rawLoggedIn(t)
	lines := rc.listing("LIST")
	require.Len(t, lines, 4)

	fields := map[string][]string{}
	for _, line := range lines {
		m := lsLine.FindStringSubmatch(line)
		require.NotNil(t, m, "not an ls -l line: %q", line)
		fields[m[7]] = m[1:7]
	}

	assert.Equal(t, []string{"-", "rw-r--r--", "5", recent.Format("Jan"), fmt.Sprintf("%2d", recent.Day()),
		recent.Format("15:04")}, fields["recent.txt"], "recent files show the time of day")
	assert.Equal(t, []string{"-", "rw-r--r--", "123456", "Mar", " 4", " 2019"}, fields["old.txt"],
		"files older than six months show the year")
	assert.Equal(t, fmt.Sprintf(" %d", future.Year()), fields["future.txt"][5], "as ls does, the future shows the year")
	require.Contains(t, fields, "sub")
	assert.Equal(t, []string{"d", "rwxr-xr-x"}, fields["sub"][:2])

	// LIST of a file lists that file alone.
	single := rc.listing("LIST /old.txt")
	require.Len(t, single, 1)
	assert.Equal(t, lines[slices.IndexFunc(lines, func(l string) bool { return strings.HasSuffix(l, " old.txt") })],
		single[0])

	// RFC 959 5.4: 450 is the reply of LIST and NLST for a path they cannot list; MLSD has 550.
	assert.Equal(t, "Could not list: no such file or directory", rc.expect("LIST /missing", StatusFileActionNotTaken))
	assert.Equal(t, "Could not list: no such file or directory", rc.expect("NLST /missing", StatusFileActionNotTaken))
	assert.Equal(t, "Could not list: no such file or directory", rc.expect("MLSD /missing", StatusActionNotTaken))
}

func TestLISTParsedByClient(t *testing.T) {
	s := newTestServer(t)
	fs := s.driver.fs
	recent := time.Now().Add(-3 * time.Hour).UTC().Truncate(time.Minute)
	old := time.Date(2015, 12, 24, 18, 0, 0, 0, time.UTC)

	require.NoError(t, writeFile(fs, "/recent.bin", testContent(777)))
	require.NoError(t, fs.Chtimes("/recent.bin", recent, recent))
	require.NoError(t, writeFile(fs, "/old.bin", testContent(1)))
	require.NoError(t, fs.Chtimes("/old.bin", old, old))
	require.NoError(t, fs.Mkdir("/dir", 0o755))

	// Without MLSD, jlaffaye/ftp parses the ls -l lines of LIST.
	conn := s.dial(t, ftp.DialWithDisabledMLSD(true))
	entries, err := conn.List("/")
	require.NoError(t, err)
	require.Len(t, entries, 3)

	byName := map[string]*ftp.Entry{}
	for _, e := range entries {
		byName[e.Name] = e
	}

	require.Contains(t, byName, "recent.bin")
	assert.Equal(t, ftp.EntryTypeFile, byName["recent.bin"].Type)
	assert.EqualValues(t, 777, byName["recent.bin"].Size)
	assert.Equal(t, recent, byName["recent.bin"].Time.UTC())

	require.Contains(t, byName, "old.bin")
	assert.Equal(t, time.Date(2015, 12, 24, 0, 0, 0, 0, time.UTC), byName["old.bin"].Time.UTC())

	require.Contains(t, byName, "dir")
	assert.Equal(t, ftp.EntryTypeFolder, byName["dir"].Type)
}

func TestLISTOptionsAndHiddenFiles(t *testing.T) {
	s := newTestServer(t)
	fs := s.driver.fs
	require.NoError(t, writeFile(fs, "/visible.txt", []byte("v")))
	require.NoError(t, writeFile(fs, "/.hidden", []byte("h")))
	require.NoError(t, fs.Mkdir("/sub", 0o755))
	require.NoError(t, writeFile(fs, "/sub/.profile", []byte("p")))

	rc := s.rawLoggedIn(t)
	withoutHidden := []string{"sub", "visible.txt"}
	withHidden := []string{".hidden", "sub", "visible.txt"}

	assert.Equal(t, withoutHidden, names(rc.listing("LIST")))
	assert.Equal(t, withoutHidden, names(rc.listing("LIST -l")))
	assert.Equal(t, withHidden, names(rc.listing("LIST -a")))
	assert.Equal(t, withHidden, names(rc.listing("LIST -la")))
	assert.Equal(t, withHidden, names(rc.listing("LIST -l -a")))
	assert.Equal(t, []string{".profile"}, names(rc.listing("LIST -la /sub")))
	assert.Empty(t, rc.listing("LIST -l sub"))

	slices.Sort(withoutHidden)
	nlst := rc.listing("NLST")
	slices.Sort(nlst)
	assert.Equal(t, withoutHidden, nlst)

	nlst = rc.listing("NLST -a")
	slices.Sort(nlst)
	assert.Equal(t, withHidden, nlst)

}

func TestDisableLISTArgs(t *testing.T) {
	s := newTestServer(t, withSettings(func(s *Settings) { s.DisableLISTArgs = true }))
	rc := s.rawLoggedIn(t)

	// No file named "-la" yet: the argument is a path, not options.
	rc.expect("LIST -la", StatusFileActionNotTaken)
	rc.expect("NLST -la", StatusFileActionNotTaken)

	require.NoError(t, writeFile(s.driver.fs, "/-la", []byte("dash")))
	require.NoError(t, writeFile(s.driver.fs, "/other", []byte("x")))

	lines := rc.listing("LIST -la")
	require.Len(t, lines, 1)
	m := lsLine.FindStringSubmatch(lines[0])
	require.NotNil(t, m, lines[0])
	assert.Equal(t, "4", m[3], "the size of the file named -la")
	assert.Equal(t, "-la", m[7])
	assert.Equal(t, []string{"-la"}, rc.listing("NLST -la"))
}

func TestNLSTWithClient(t *testing.T) {
	s := newTestServer(t)
	require.NoError(t, s.driver.fs.MkdirAll("/a/b", 0o755))
	require.NoError(t, writeFile(s.driver.fs, "/a/one", []byte("1")))
	require.NoError(t, writeFile(s.driver.fs, "/a/two", []byte("2")))

	conn := s.dial(t)
	require.NoError(t, conn.ChangeDir("/a"))

	got, err := conn.NameList("")
	require.NoError(t, err)
	slices.Sort(got)
	assert.Equal(t, []string{"b", "one", "two"}, got)

	_, err = conn.NameList("/missing")
	require.Error(t, err)
}

func TestWalkWithClient(t *testing.T) {
	s := newTestServer(t)
	for _, name := range []string{"/w/a.txt", "/w/d1/b.txt", "/w/d1/d2/c.txt", "/w/e/.hidden"} {
		require.NoError(t, s.driver.fs.MkdirAll(path.Dir(name), 0o755))
		require.NoError(t, writeFile(s.driver.fs, name, []byte(name)))
	}

	var files []string

	walker := s.dial(t).Walk("/w")
	for walker.Next() {
		require.NoError(t, walker.Err())

		if walker.Stat().Type == ftp.EntryTypeFile {
			files = append(files, walker.Path())
		}
	}

	slices.Sort(files)
	assert.Equal(t, []string{"/w/a.txt", "/w/d1/b.txt", "/w/d1/d2/c.txt", "/w/e/.hidden"}, files)
}

func TestMLSD(t *testing.T) {
	s := newTestServer(t)
	fs := s.driver.fs
	mtime := time.Date(2021, 7, 8, 9, 10, 11, 0, time.UTC)
	require.NoError(t, writeFile(fs, "/f.txt", []byte("hello")))
	require.NoError(t, fs.Chtimes("/f.txt", mtime, mtime))
	require.NoError(t, fs.Mkdir("/sub", 0o750))
	require.NoError(t, fs.Chtimes("/sub", mtime, mtime))
	require.NoError(t, writeFile(fs, "/.dot", nil))

	rc := s.rawLoggedIn(t)
	assert.NotContains(t, strings.Join(rc.listing("MLSD"), "\n"), "UNIX.", "the UNIX facts wait for OPTS MLST")
	rc.expect("OPTS MLST "+allMLSTFacts.String(), StatusOK)

	lines := rc.listing("MLSD")
	require.Len(t, lines, 4, "MLSD takes no options and lists the directory, then every entry")

	entries := map[string]map[string]string{}
	for _, line := range lines {
		facts, name := mlsxFacts(t, line)
		entries[name] = facts
	}

	// RFC 3659 7.5.1: the listed directory itself comes first, as type=cdir.
	cdir, _ := mlsxFacts(t, lines[0])
	assert.Equal(t, map[string]string{"type": "cdir", "perm": "cdeflmp", "unix.mode": "0755"},
		map[string]string{"type": cdir["type"], "perm": cdir["perm"], "unix.mode": cdir["unix.mode"]})
	assert.Equal(t, entries["."], cdir)

	require.Contains(t, entries, "f.txt")
	assert.Equal(t, map[string]string{
		"type": "file", "size": "5", "modify": "20210708091011", "perm": "adfrw", "unix.mode": "0644",
	}, entries["f.txt"])

	require.Contains(t, entries, "sub")
	assert.Equal(t, "dir", entries["sub"]["type"])
	assert.Equal(t, "20210708091011", entries["sub"]["modify"])
	assert.Equal(t, "0750", entries["sub"]["unix.mode"])
	assert.Subset(t, strings.Split(entries["sub"]["perm"], ""), []string{"c", "e", "l", "m"})
	assert.Contains(t, entries, ".dot")

	assert.Equal(t, "/f.txt is not a directory", rc.expect("MLSD /f.txt", StatusSyntaxErrorParameters))
	rc.expect("MLSD /missing", StatusActionNotTaken)

	// jlaffaye/ftp uses MLSD when FEAT announces MLST.
	conn := s.dial(t)
	listed, err := conn.List("/")
	require.NoError(t, err)
	require.Len(t, listed, 4)
	assert.Equal(t, ".", listed[0].Name)
	assert.Equal(t, ftp.EntryTypeFolder, listed[0].Type)

	for _, e := range listed {
		if e.Name == "f.txt" {
			assert.EqualValues(t, 5, e.Size)
			assert.Equal(t, mtime, e.Time.UTC())
		}
	}
}

func TestMLSDPermOnReadOnlyFs(t *testing.T) {
	s := newTestServer(t, func(d *testDriver) {
		base := afero.NewMemMapFs()
		require.NoError(t, writeFile(base, "/f.txt", []byte("x")))
		require.NoError(t, base.Mkdir("/sub", 0o755))
		d.fs = afero.NewReadOnlyFs(base)
	})

	rc := s.rawLoggedIn(t)
	perms := map[string]string{}
	for _, line := range rc.listing("MLSD") {
		facts, name := mlsxFacts(t, line)
		perms[name] = facts["perm"]
	}

	assert.Equal(t, map[string]string{".": "el", "f.txt": "r", "sub": "el"}, perms, "no writing action is offered")
}

func TestMLST(t *testing.T) {
	s := newTestServer(t)
	mtime := time.Date(2022, 8, 13, 13, 33, 57, 0, time.UTC)
	require.NoError(t, s.driver.fs.Mkdir("/sub", 0o755))
	require.NoError(t, writeFile(s.driver.fs, "/sub/f.txt", testContent(1024)))
	require.NoError(t, s.driver.fs.Chtimes("/sub/f.txt", mtime, mtime))

	rc := s.rawLoggedIn(t)
	rc.expect("CWD /sub", StatusFileOK)
	rc.expect("OPTS MLST "+allMLSTFacts.String(), StatusOK)

	lines := strings.Split(rc.expect("MLST f.txt", StatusFileOK), "\n")
	require.Len(t, lines, 3)
	assert.Equal(t, "File details", lines[0])
	require.True(t, strings.HasPrefix(lines[1], " "), "RFC 3659 7.2: the entry starts with a space: %q", lines[1])

	facts, name := mlsxFacts(t, lines[1][1:])
	assert.Equal(t, "f.txt", name, "MLST names the path as the client gave it")
	assert.Equal(t, map[string]string{
		"type": "file", "size": "1024", "modify": "20220813133357", "perm": "adfrw", "unix.mode": "0644",
	}, facts)

	// Without an argument MLST describes the working directory.
	lines = strings.Split(rc.expect("MLST", StatusFileOK), "\n")
	require.Len(t, lines, 3)
	facts, name = mlsxFacts(t, strings.TrimPrefix(lines[1], " "))
	assert.Equal(t, "/sub", name)
	assert.Equal(t, "dir", facts["type"])

	assert.Equal(t, "File details", lines[0])
	assert.Equal(t, "/sub/../sub/f.txt", mlstName(t, rc.expect("MLST /sub/../sub/f.txt", StatusFileOK)))
	assert.Equal(t, "Could not list: no such file or directory", rc.expect("MLST /missing", StatusActionNotTaken))

	conn := s.dial(t)
	entry, err := conn.GetEntry("/sub/f.txt")
	require.NoError(t, err)
	assert.EqualValues(t, 1024, entry.Size)
	assert.Equal(t, mtime, entry.Time.UTC())
}

func TestMLSDAndMLSTDisabled(t *testing.T) {
	s := newTestServer(t, withSettings(func(s *Settings) {
		s.DisableMLSD = true
		s.DisableMLST = true
	}))
	rc := s.rawLoggedIn(t)
	assert.Equal(t, "MLSD is disabled on this server", rc.expect("MLSD", StatusCommandNotImplemented))
	assert.Equal(t, "MLST is disabled on this server", rc.expect("MLST /", StatusCommandNotImplemented))
	assert.NotContains(t, rc.expect("FEAT", StatusSystemStatus), "MLST")

	// jlaffaye/ftp falls back to LIST.
	require.NoError(t, writeFile(s.driver.fs, "/f", []byte("x")))
	entries, err := s.dial(t).List("/")
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, "f", entries[0].Name)
}

func TestSTATPath(t *testing.T) {
	s := newTestServer(t)
	require.NoError(t, s.driver.fs.Mkdir("/dir", 0o755))
	require.NoError(t, writeFile(s.driver.fs, "/dir/a.txt", []byte("aaa")))
	require.NoError(t, writeFile(s.driver.fs, "/dir/b.txt", []byte("bbbbbb")))

	rc := s.rawLoggedIn(t)
	// RFC 959 4.2.1: 212 for a directory, 213 for a file.
	lines := strings.Split(rc.expect("STAT /dir", StatusDirectoryStatus), "\n")
	require.Len(t, lines, 4)
	assert.Equal(t, "STAT /dir", lines[0])
	assert.Equal(t, "End", lines[3])

	listed := rc.listing("LIST /dir")
	for _, line := range lines[1:3] {
		require.True(t, strings.HasPrefix(line, " "), "continuation lines are indented: %q", line)
		assert.Contains(t, listed, line[1:], "STAT shows the LIST lines")
	}

	lines = strings.Split(rc.expect("STAT /dir/b.txt", StatusFileStatus), "\n")
	require.Len(t, lines, 3)
	assert.Equal(t, "STAT /dir/b.txt", lines[0])
	m := lsLine.FindStringSubmatch(strings.TrimPrefix(lines[1], " "))
	require.NotNil(t, m, lines[1])
	assert.Equal(t, "6", m[3])
	assert.Equal(t, "b.txt", m[7])

	assert.Equal(t, "Could not STAT: no such file or directory", rc.expect("STAT /missing", StatusFileActionNotTaken))
}

func TestHugeDirectoryStreams(t *testing.T) {
	const count = 20_000

	s := newTestServer(t)
	fs := s.driver.fs
	require.NoError(t, fs.Mkdir("/huge", 0o755))

	for i := range count {
		f, err := fs.Create("/huge/file-" + strconv.Itoa(i))
		require.NoError(t, err)
		require.NoError(t, f.Close())
	}

	rc := s.rawLoggedIn(t)

	for _, command := range []string{"LIST /huge", "NLST /huge", "MLSD /huge"} {
		lines := rc.listing(command)
		if strings.HasPrefix(command, "MLSD") {
			require.True(t, strings.HasPrefix(lines[0], "type=cdir;"), lines[0])
			lines = lines[1:]
		}

		require.Len(t, lines, count, command)

		seen := make(map[string]bool, count)
		for _, line := range lines {
			seen[path.Base(line[strings.LastIndexByte(line, ' ')+1:])] = true
		}

		assert.Len(t, seen, count, "%s lists every entry once", command)
		assert.True(t, seen["file-0"] && seen["file-19999"], command)
	}
}

func TestNLSTNamesFollowTheArgument(t *testing.T) {
	s := newTestServer(t)
	require.NoError(t, s.driver.fs.MkdirAll("/dir/sub", 0o755))
	require.NoError(t, writeFile(s.driver.fs, "/dir/a.txt", []byte("a")))

	rc := s.rawLoggedIn(t)
	assert.ElementsMatch(t, []string{"dir"}, rc.listing("NLST"))
	assert.ElementsMatch(t, []string{"dir/a.txt", "dir/sub"}, rc.listing("NLST /dir"))
	assert.ElementsMatch(t, []string{"dir/a.txt", "dir/sub"}, rc.listing("NLST dir/"))
	assert.ElementsMatch(t, []string{"dir/a.txt"}, rc.listing("NLST /dir/a.txt"))
	assert.ElementsMatch(t, []string{"dir/a.txt"}, rc.listing("NLST /../dir/a.txt"))
	assert.ElementsMatch(t, []string{"dir"}, rc.listing("NLST /"))

	rc.expect("CWD /dir", StatusFileOK)
	assert.ElementsMatch(t, []string{"a.txt", "sub"}, rc.listing("NLST -a"))
	assert.ElementsMatch(t, []string{"a.txt", "sub"}, rc.listing("NLST /dir"))

	// Names above the working directory climb with "..", so that each one works in RETR.
	rc.expect("CWD /dir/sub", StatusFileOK)
	assert.ElementsMatch(t, []string{"../../dir"}, rc.listing("NLST /"))
	assert.ElementsMatch(t, []string{"../a.txt", "../sub"}, rc.listing("NLST /dir"))
	assert.ElementsMatch(t, []string{"../a.txt"}, rc.listing("NLST ../a.txt"))
}

// unreadableDirFs refuses to open /secret, as a directory the server may not read.
type unreadableDirFs struct{ afero.Fs }

func (f unreadableDirFs) Open(name string) (afero.File, error) {
	if name == "/secret" {
		return nil, &os.PathError{Op: "open", Path: name, Err: os.ErrPermission}
	}

	return f.Fs.Open(name)
}

func TestSTATOfUnreadableDirectory(t *testing.T) {
	fs := unreadableDirFs{afero.NewMemMapFs()}
	s := newTestServer(t, withFs(fs))
	require.NoError(t, fs.Mkdir("/secret", 0o755))

	rc := s.rawLoggedIn(t)
	// The directory is opened before the 212 starts, so its failure gets a reply of its own.
	assert.Equal(t, "Could not list: permission denied", rc.expect("STAT /secret", StatusFileActionNotTaken))
	rc.expect("NOOP", StatusOK)
}

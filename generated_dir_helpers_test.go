package ftpserver

import (
	"io"
	"io/fs"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/require"
)

// generatedDirFs is an in-memory file system where some directories hold entries made up as
// they are read, so that a listing of hundreds of thousands of entries costs neither disk nor
// the memory of storing them.
type generatedDirFs struct {
	afero.Fs

	dirs map[string]generatedDir
}

// generatedDir describes a made-up directory: entries empty files named f000000, f000001...
// and, when failAfter is above 0, a read error once that many entries have been read, or a
// panic when panics is set. read, when set, counts the entries handed out.
type generatedDir struct {
	entries   int
	failAfter int
	panics    bool
	read      *atomic.Int64
}

// generatedModTime is the modification time of every made-up entry: old enough that LIST shows
// its year.
var generatedModTime = time.Date(2020, time.January, 2, 3, 4, 5, 0, time.UTC)

// withGeneratedDirs serves a generatedDirFs holding dirs.
func withGeneratedDirs(tb testing.TB, dirs map[string]generatedDir) testOption {
	tb.Helper()

	served := generatedDirFs{Fs: afero.NewMemMapFs(), dirs: dirs}
	for dir := range dirs {
		require.NoError(tb, served.MkdirAll(dir, 0o755))
	}

	return func(d *testDriver) { d.fs = served }
}

func (f generatedDirFs) Open(name string) (afero.File, error) {
	file, err := f.Fs.Open(name)
	dir, ok := f.dirs[name]

	if err != nil || !ok {
		return file, err
	}

	return &generatedDirFile{File: file, dir: dir}, nil
}

// generatedDirFile reads the entries of a generatedDir.
type generatedDirFile struct {
	afero.File

	dir  generatedDir
	next int
}

func (d *generatedDirFile) Readdir(count int) ([]os.FileInfo, error) {
	if d.dir.failAfter > 0 && d.next >= d.dir.failAfter {
		if d.dir.panics {
			panic("generated directory: read past failAfter")
		}

		return nil, &fs.PathError{Op: "readdir", Path: d.Name(), Err: fs.ErrPermission}
	}

	left := d.dir.entries - d.next
	if d.dir.failAfter > 0 {
		left = min(left, d.dir.failAfter-d.next)
	}

	if left <= 0 {
		return nil, io.EOF
	}

	if count > 0 {
		left = min(left, count)
	}

	infos := make([]os.FileInfo, left)
	for i := range infos {
		infos[i] = generatedEntry(d.next + i)
	}

	d.next += left

	if d.dir.read != nil {
		d.dir.read.Add(int64(left))
	}

	return infos, nil
}

// generatedEntry is the made-up entry number n: an empty file named f and n on six digits.
type generatedEntry int

// generatedName is the name of entry n.
func generatedName(n int) string {
	digits := strconv.Itoa(n)
	for len(digits) < 6 {
		digits = "0" + digits
	}

	return "f" + digits
}

func (e generatedEntry) Name() string       { return generatedName(int(e)) }
func (e generatedEntry) Size() int64        { return 0 }
func (e generatedEntry) Mode() os.FileMode  { return 0o644 }
func (e generatedEntry) ModTime() time.Time { return generatedModTime }
func (e generatedEntry) IsDir() bool        { return false }
func (e generatedEntry) Sys() any           { return nil }

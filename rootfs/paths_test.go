package rootfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests here run every case twice: through the fast path of the system (openat2 on Linux)
// and through os.Root alone, and require the same error, the same result and the same tree
// afterwards from both, besides the expected outcome.

// linkTree builds, in a new directory, a file secret.txt and a directory root served by the
// returned Fs, with links two levels down so that lookups cross directories:
//
//	file.txt                  "inside"
//	chain -> dir/up
//	dir/sub/deep.txt          "deep"
//	dir/in -> ../file.txt     inside
//	dir/alias -> sub          a directory link inside
//	dir/fresh -> sub/fresh.txt  dangling, inside
//	dir/up -> ../../secret.txt  leaving
//	dir/top -> ../..          the directory around the root
//	dir/abs -> <outside>/secret.txt
//	dir/chain -> ../chain     leaving through two more links
//	dir/dangle -> ../../created.txt  dangling, leaving
//	dir/loop -> loop
//
// The variant says how the root is opened.
func linkTree(t *testing.T, variant pathVariant) (fsys *Fs, outside string) {
	t.Helper()
	requireSymlinks(t)

	outside = t.TempDir()
	root := filepath.Join(outside, "root")

	require.NoError(t, os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("outside secret"), 0o600))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "dir", "sub"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "file.txt"), []byte("inside"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(root, "dir", "sub", "deep.txt"), []byte("deep"), 0o644))

	for link, target := range map[string]string{
		"chain": "dir/up", "dir/in": "../file.txt", "dir/alias": "sub", "dir/fresh": "sub/fresh.txt",
		"dir/up": "../../secret.txt", "dir/top": "../..", "dir/abs": filepath.Join(outside, "secret.txt"),
		"dir/chain": "../chain", "dir/dangle": "../../created.txt", "dir/loop": "loop",
	} {
		require.NoError(t, os.Symlink(target, filepath.Join(root, filepath.FromSlash(link))))
	}

	fsys = openVariant(t, variant, outside, "root")

	if variant.rootOnly {
		fsys.beneath.close()
		fsys.beneath = nil
	}

	return fsys, outside
}

// pathVariant is a way of opening the root of a test tree.
type pathVariant struct {
	name     string
	rootOnly bool // without the fast path: os.Root answers every call
	// sub opens the root with Sub from an Fs over the directory around it, which is closed at
	// once: the directory around, and what it holds, must then be as far out of reach as for New.
	sub bool
}

// pathVariants are the ways TestPathsAgree runs each case; the first is the reference.
var pathVariants = []pathVariant{
	{name: "fast path"},
	{name: "os.Root", rootOnly: true},
	{name: "Sub", sub: true},
	{name: "Sub with os.Root", rootOnly: true, sub: true},
}

// openVariant opens dir/name as variant says, to be closed at the end of the test.
func openVariant(t *testing.T, variant pathVariant, dir, name string) *Fs {
	t.Helper()

	var (
		fsys *Fs
		err  error
	)

	if variant.sub {
		parent, parentErr := New(dir)
		require.NoError(t, parentErr)

		fsys, err = parent.Sub(name)
		require.NoError(t, parent.Close())
	} else {
		fsys, err = New(filepath.Join(dir, name))
	}

	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, fsys.Close()) })

	return fsys
}

// treeState describes everything under dir, the root included, but modification times: type,
// permissions, the bytes of files and the text of links (dir itself written as "@").
func treeState(t *testing.T, dir string) map[string]string {
	t.Helper()

	root, err := os.OpenRoot(dir)
	require.NoError(t, err)

	defer func() { require.NoError(t, root.Close()) }()

	state := map[string]string{}

	require.NoError(t, fs.WalkDir(root.FS(), ".", func(p string, _ fs.DirEntry, walkErr error) error {
		if walkErr != nil || p == "." {
			return walkErr
		}

		info, err := root.Lstat(p)
		if err != nil {
			return err
		}

		desc := info.Mode().String()

		switch {
		case info.Mode().IsRegular():
			data, readErr := root.ReadFile(p)
			desc += " " + string(data)
			err = readErr
		case info.Mode()&fs.ModeSymlink != 0:
			text, readErr := root.Readlink(p)
			desc += " -> " + strings.ReplaceAll(text, dir, "@")
			err = readErr
		}

		state[p] = desc

		return err
	}))

	return state
}

// pathOps are the operations of the table below, each returning what it read or described.
var pathOps = map[string]func(f *Fs, name string) (string, error){
	"read": func(f *Fs, name string) (string, error) {
		file, err := f.Open(name)
		if err != nil {
			return "", err
		}
		defer file.Close()

		info, err := file.Stat()
		if err != nil {
			return "", err
		}

		if info.IsDir() {
			names, readErr := file.Readdirnames(-1)
			sort.Strings(names)

			return strings.Join(names, ","), readErr
		}

		data, err := io.ReadAll(file)

		return string(data), err
	},
	"create":   writeOp(os.O_RDWR | os.O_CREATE | os.O_TRUNC),
	"excl":     writeOp(os.O_WRONLY | os.O_CREATE | os.O_EXCL),
	"append":   writeOp(os.O_WRONLY | os.O_APPEND),
	"stat":     statOp(false),
	"lstat":    statOp(true),
	"mkdir":    func(f *Fs, name string) (string, error) { return "", f.Mkdir(name, 0o750) },
	"remove":   func(f *Fs, name string) (string, error) { return "", f.Remove(name) },
	"rename":   func(f *Fs, name string) (string, error) { return "", f.Rename(name, "dir/sub/moved") },
	"renameto": func(f *Fs, name string) (string, error) { return "", f.Rename("dir/sub/deep.txt", name) },
	"self":     func(f *Fs, name string) (string, error) { return "", f.Rename(name, name) },
}

// writeOp opens a name with flag, writes "new" and closes it.
func writeOp(flag int) func(f *Fs, name string) (string, error) {
	return func(f *Fs, name string) (string, error) {
		file, err := f.OpenFile(name, flag, 0o640)
		if err != nil {
			return "", err
		}

		_, err = file.WriteString("new")
		if closeErr := file.Close(); err == nil {
			err = closeErr
		}

		return "", err
	}
}

// statOp describes a name: its base name, mode and, for a file, size.
func statOp(lstat bool) func(f *Fs, name string) (string, error) {
	return func(f *Fs, name string) (string, error) {
		var (
			info fs.FileInfo
			err  error
		)

		if lstat {
			info, _, err = f.LstatIfPossible(name)
		} else {
			info, err = f.Stat(name)
		}

		if err != nil {
			return "", err
		}

		if !hasSystemStat(info) {
			return "", fmt.Errorf("Sys() is %T", info.Sys())
		}

		desc := info.Name() + " " + info.Mode().String()
		if info.Mode().IsRegular() {
			desc += fmt.Sprint(" ", info.Size())
		}

		return desc, nil
	}
}

// pathCases are the operations and names of the table, with the error each must give (nil
// for success). Names are deeper than the root's own directory, where the fast path answers.
var pathCases = []struct {
	op, name string
	want     error
}{
	{"read", "dir/in", nil},
	{"read", "/dir/sub/deep.txt", nil},
	{"read", "dir/alias/deep.txt", nil},
	{"read", "dir/sub/", nil},
	{"read", "dir/./sub/../in", nil},
	{"read", "dir/up", ErrOutsideRoot},
	{"read", "dir/abs", ErrOutsideRoot},
	{"read", "dir/chain", ErrOutsideRoot},
	{"read", "dir/top/secret.txt", ErrOutsideRoot},
	{"read", "dir/top/root/file.txt", ErrOutsideRoot},
	{"read", "dir/dangle", ErrOutsideRoot},
	{"read", "dir/loop", syscall.ELOOP},
	{"read", "dir/missing", fs.ErrNotExist},
	{"read", "file.txt/x", syscall.ENOTDIR},
	{"create", "dir/sub/new.txt", nil},
	{"create", "dir/fresh", nil},
	{"create", "dir/in", nil},
	{"create", "dir/dangle", ErrOutsideRoot},
	{"create", "dir/up", ErrOutsideRoot},
	{"create", "dir/top/planted", ErrOutsideRoot},
	{"create", "dir/sub", syscall.EISDIR},
	{"create", "missing/new.txt", fs.ErrNotExist},
	{"excl", "dir/sub/new.txt", nil},
	{"excl", "dir/fresh", fs.ErrExist},
	{"excl", "dir/dangle", fs.ErrExist},
	{"excl", "dir/sub/deep.txt", fs.ErrExist},
	{"append", "dir/in", nil},
	{"append", "dir/up", ErrOutsideRoot},
	{"append", "dir/missing", fs.ErrNotExist},
	{"stat", "dir/in", nil},
	{"stat", "dir/alias", nil},
	{"stat", "dir/alias/deep.txt", nil},
	{"stat", "dir/up", ErrOutsideRoot},
	{"stat", "dir/top", ErrOutsideRoot},
	{"stat", "dir/top/secret.txt", ErrOutsideRoot},
	{"stat", "dir/loop", syscall.ELOOP},
	{"stat", "dir/fresh", fs.ErrNotExist},
	{"stat", "dir/missing", fs.ErrNotExist},
	{"lstat", "dir/up", nil},
	{"lstat", "dir/alias", nil},
	{"lstat", "dir/loop", nil},
	{"lstat", "dir/alias/deep.txt", nil},
	{"lstat", "dir/top/secret.txt", ErrOutsideRoot},
	{"lstat", "dir/abs/x", ErrOutsideRoot},
	{"mkdir", "dir/sub/made", nil},
	{"mkdir", "dir/alias/made", nil},
	{"mkdir", "dir/top/made", ErrOutsideRoot},
	{"mkdir", "dir/sub", fs.ErrExist},
	{"mkdir", "dir/up", fs.ErrExist},
	{"mkdir", "dir/missing/made", fs.ErrNotExist},
	{"remove", "dir/sub/deep.txt", nil},
	{"remove", "dir/up", nil},
	{"remove", "dir/top", nil},
	{"remove", "dir/alias/deep.txt", nil},
	{"remove", "dir/top/secret.txt", ErrOutsideRoot},
	{"remove", "dir/sub", syscall.ENOTEMPTY},
	{"remove", "dir/missing", fs.ErrNotExist},
	{"rename", "dir/up", nil},
	{"rename", "dir/alias", nil},
	{"rename", "file.txt", nil},
	{"rename", "dir/top/secret.txt", ErrOutsideRoot},
	{"rename", "dir/missing", fs.ErrNotExist},
	{"renameto", "dir/alias/renamed", nil},
	{"renameto", "dir/sub/deep.txt", nil},
	{"renameto", "file.txt", nil},
	{"renameto", "dir/up", nil},
	{"renameto", "dir/top/planted", ErrOutsideRoot},
	{"renameto", "dir/sub/", syscall.EEXIST},
	{"renameto", "dir", syscall.EEXIST},
	{"renameto", "missing/x", fs.ErrNotExist},
	{"self", "dir/sub/deep.txt", nil},
	{"self", "dir/sub", syscall.EEXIST},
	{"self", "dir/top/secret.txt", ErrOutsideRoot},
}

func TestPathsAgree(t *testing.T) {
	for _, tc := range pathCases {
		t.Run(tc.op+" "+tc.name, func(t *testing.T) {
			results := make([]string, len(pathVariants))
			trees := make([]string, len(pathVariants))

			for i, variant := range pathVariants {
				fsys, outside := linkTree(t, variant)
				secret := snapshot(t, outside)

				got, err := pathOps[tc.op](fsys, tc.name)
				if tc.want == nil {
					require.NoError(t, err, variant.name)
				} else {
					require.ErrorIs(t, err, tc.want, variant.name)
				}

				if errors.Is(tc.want, ErrOutsideRoot) {
					require.ErrorIs(t, err, fs.ErrPermission, variant.name)
				} else {
					require.NotErrorIs(t, err, ErrOutsideRoot, variant.name)
				}

				assert.Equal(t, secret, snapshot(t, outside), "%s: nothing outside the root changes", variant.name)

				results[i] = fmt.Sprintf("%q %v", got, err)
				trees[i] = fmt.Sprint(treeState(t, outside))
			}

			for i, variant := range pathVariants[1:] {
				assert.Equal(t, results[0], results[i+1], "%s answers as the fast path does", variant.name)
				assert.Equal(t, trees[0], trees[i+1], "%s leaves the tree as the fast path does", variant.name)
			}
		})
	}
}

func TestDeepNamesAfterClose(t *testing.T) {
	fsys, _ := linkTree(t, pathVariants[0])

	file, err := fsys.Open("dir/sub/deep.txt")
	require.NoError(t, err)
	require.NoError(t, fsys.Close())

	data, err := io.ReadAll(file)
	require.NoError(t, err)
	assert.Equal(t, "deep", string(data), "a file opened before Close stays usable")
	require.NoError(t, file.Close())

	_, err = fsys.Open("dir/sub/deep.txt")
	require.ErrorIs(t, err, fs.ErrClosed)
	_, err = fsys.Stat("dir/sub/deep.txt")
	require.ErrorIs(t, err, fs.ErrClosed)
	require.ErrorIs(t, fsys.Rename("dir/sub/deep.txt", "dir/sub/x"), fs.ErrClosed)
	require.ErrorIs(t, fsys.Remove("dir/sub/deep.txt"), fs.ErrClosed)
	require.ErrorIs(t, fsys.Mkdir("dir/sub/made", 0o755), fs.ErrClosed)
}

// TestCloseWhileInUse closes the Fs while other goroutines open, stat and rename deep names:
// each call either works or fails with fs.ErrClosed, and no call resolves a name against a
// descriptor closed under it (the race detector watches the bookkeeping).
func TestCloseWhileInUse(t *testing.T) {
	fsys, _ := linkTree(t, pathVariants[0])

	var (
		wg      sync.WaitGroup
		once    sync.Once
		started = make(chan struct{})
	)

	// The first worker to have done some calls, or to stop, lets Close go ahead.
	start := func() { once.Do(func() { close(started) }) }

	for worker := range 4 {
		wg.Add(1)

		go func() {
			defer wg.Done()
			defer start()

			name := fmt.Sprintf("dir/sub/w%d", worker)

			for i := 0; ; i++ {
				if i == 10 {
					start()
				}

				file, err := fsys.Create(name)
				if err == nil {
					err = file.Close()
				}

				if err == nil {
					_, err = fsys.Stat(name)
				}

				if err == nil {
					err = fsys.Rename(name, name+".moved")
				}

				if err != nil {
					assert.ErrorIs(t, err, fs.ErrClosed)

					return
				}
			}
		}()
	}

	<-started
	require.NoError(t, fsys.Close())
	wg.Wait()
}

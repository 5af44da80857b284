package rootfs

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"testing"
	"time"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fileState is what a test checks of a file outside the root: nothing may change it.
type fileState struct {
	data  string
	mode  fs.FileMode
	mtime time.Time
}

// snapshot records every entry of dir (not recursive: the trees here are flat outside the
// root), skipping the directory root, whose contents the tests change on purpose.
func snapshot(t *testing.T, dir string) map[string]fileState {
	t.Helper()

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)

	states := map[string]fileState{}

	for _, entry := range entries {
		if entry.Name() == "root" {
			continue
		}

		p := filepath.Join(dir, entry.Name())
		info, err := os.Lstat(p)
		require.NoError(t, err)

		state := fileState{mode: info.Mode(), mtime: info.ModTime()}

		if info.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			require.NoError(t, err)

			state.data = string(data)
		}

		states[entry.Name()] = state
	}

	return states
}

// escapeTree builds, in a new directory, a file secret.txt and a directory root served by the
// returned Fs. Inside root: file.txt, dir/in -> ../file.txt (inside), dir/up -> ../../secret.txt
// and the directory link dir/top -> ../.. (both leaving), abs -> the secret's absolute path,
// chain -> dir/up, dangling -> ../created.txt (missing, outside), and loop -> loop.
func escapeTree(t *testing.T) (fsys *Fs, outside string) {
	t.Helper()

	outside = t.TempDir()
	root := filepath.Join(outside, "root")
	secret := filepath.Join(outside, "secret.txt")

	require.NoError(t, os.WriteFile(secret, []byte("outside secret"), 0o600))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "dir"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "file.txt"), []byte("inside"), 0o644))

	for link, target := range map[string]string{
		"dir/in": "../file.txt", "dir/up": "../../secret.txt", "dir/top": "../..",
		"abs": secret, "chain": "dir/up", "dangling": "../created.txt", "loop": "loop",
	} {
		require.NoError(t, os.Symlink(target, filepath.Join(root, link)))
	}

	fsys, err := New(root)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, fsys.Close()) })

	return fsys, outside
}

func requireSymlinks(t *testing.T) {
	t.Helper()

	if runtime.GOOS == "windows" {
		t.Skip("the link trees of these tests need Unix symbolic links")
	}
}

func TestEscapesRefused(t *testing.T) {
	requireSymlinks(t)

	open := func(flag int) func(*Fs, string) error {
		return func(f *Fs, name string) error {
			file, err := f.OpenFile(name, flag, 0o644)
			if err == nil {
				_ = file.Close()
			}

			return err
		}
	}
	stat := func(f *Fs, name string) error { _, err := f.Stat(name); return err }
	mtime := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)

	ops := []struct {
		op  string
		run func(*Fs, string) error
	}{
		{"read", open(os.O_RDONLY)},
		{"append", open(os.O_WRONLY | os.O_APPEND)},
		{"create", open(os.O_WRONLY | os.O_CREATE | os.O_TRUNC)},
		{"stat", stat},
		{"chmod", func(f *Fs, name string) error { return f.Chmod(name, 0o777) }},
		{"chown", func(f *Fs, name string) error { return f.Chown(name, os.Getuid(), os.Getgid()) }},
		{"chtimes", func(f *Fs, name string) error { return f.Chtimes(name, mtime, mtime) }},
	}

	for _, name := range []string{"dir/up", "/abs", "chain", "dir/top/secret.txt", "/dir/../dir/up"} {
		for _, op := range ops {
			t.Run(op.op+" "+name, func(t *testing.T) {
				fsys, outside := escapeTree(t)
				before := snapshot(t, outside)

				err := op.run(fsys, name)
				require.ErrorIs(t, err, ErrOutsideRoot)
				require.ErrorIs(t, err, fs.ErrPermission)
				assert.Equal(t, before, snapshot(t, outside))
			})
		}
	}
}

func TestEscapesThroughParentRefused(t *testing.T) {
	requireSymlinks(t)

	// Each names something beneath dir/top, a link to the directory around the root.
	cases := []struct {
		op  string
		run func(*Fs) error
	}{
		{"mkdir", func(f *Fs) error { return f.Mkdir("dir/top/new", 0o755) }},
		{"mkdirall", func(f *Fs) error { return f.MkdirAll("dir/top/new/deeper", 0o755) }},
		{"remove", func(f *Fs) error { return f.Remove("dir/top/secret.txt") }},
		{"removeall", func(f *Fs) error { return f.RemoveAll("dir/top/secret.txt") }},
		{"rename from", func(f *Fs) error { return f.Rename("dir/top/secret.txt", "stolen.txt") }},
		{"rename to", func(f *Fs) error { return f.Rename("file.txt", "dir/top/planted.txt") }},
		{"symlink", func(f *Fs) error { return f.SymlinkIfPossible("/file.txt", "dir/top/planted") }},
		{"readlink", func(f *Fs) error { _, err := f.ReadlinkIfPossible("dir/top/root"); return err }},
		{"lstat", func(f *Fs) error { _, _, err := f.LstatIfPossible("dir/top/secret.txt"); return err }},
		{"lchown", func(f *Fs) error { return f.Lchown("dir/top/secret.txt", os.Getuid(), os.Getgid()) }},
		{"create dangling", func(f *Fs) error {
			file, err := f.Create("dangling")
			if err == nil {
				_ = file.Close()
			}

			return err
		}},
	}

	for _, tc := range cases {
		t.Run(tc.op, func(t *testing.T) {
			fsys, outside := escapeTree(t)
			before := snapshot(t, outside)

			err := tc.run(fsys)
			require.ErrorIs(t, err, ErrOutsideRoot)
			require.ErrorIs(t, err, fs.ErrPermission)
			assert.Equal(t, before, snapshot(t, outside))
		})
	}
}

func TestLinksInsideWork(t *testing.T) {
	requireSymlinks(t)

	fsys, outside := escapeTree(t)
	before := snapshot(t, outside)

	data, err := afero.ReadFile(fsys, "/dir/in")
	require.NoError(t, err)
	assert.Equal(t, "inside", string(data))

	// Moved one level down, the same text still ends inside the root.
	require.NoError(t, fsys.Mkdir("/dir/sub", 0o755))
	require.NoError(t, fsys.Rename("/dir/in", "/dir/sub/in"))
	_, err = fsys.Stat("/dir/sub/in")
	require.ErrorIs(t, err, fs.ErrNotExist, "../file.txt from dir/sub is dir/file.txt")

	// Moved to the top, the same text leaves the root: refused when followed.
	require.NoError(t, fsys.Rename("/dir/sub/in", "/in"))
	_, err = afero.ReadFile(fsys, "/in")
	require.ErrorIs(t, err, ErrOutsideRoot)

	// The link itself is still there and can be read, moved and removed.
	text, err := fsys.ReadlinkIfPossible("/in")
	require.NoError(t, err)
	assert.Equal(t, "../file.txt", text)

	info, lstatCalled, err := fsys.LstatIfPossible("/in")
	require.NoError(t, err)
	assert.True(t, lstatCalled)
	assert.Equal(t, fs.ModeSymlink, info.Mode().Type())
	require.NoError(t, fsys.Remove("/in"))

	// A loop fails as a loop, not as an escape.
	_, err = fsys.Stat("/loop")
	require.Error(t, err)
	require.NotErrorIs(t, err, ErrOutsideRoot)

	assert.Equal(t, before, snapshot(t, outside))
}

func TestSymlinkWritesRelativeText(t *testing.T) {
	requireSymlinks(t)

	fsys, _ := escapeTree(t)

	cases := []struct{ target, link, text string }{
		{"/file.txt", "/l1", "file.txt"},
		{"/file.txt", "/dir/l2", "../file.txt"},
		{"/dir", "/dir/sub-l3", "."},
		{"/", "/dir/l4", ".."},
		{"/dir/in", "/dir/l5", "in"},
		{"file.txt", "/dir/l6", "file.txt"},
		{"../../../etc/passwd", "/l7", "../../../etc/passwd"},
	}

	for _, tc := range cases {
		require.NoError(t, fsys.SymlinkIfPossible(tc.target, tc.link), tc.link)

		text, err := fsys.ReadlinkIfPossible(tc.link)
		require.NoError(t, err)
		assert.Equal(t, filepath.FromSlash(tc.text), text, "link %s to %s", tc.link, tc.target)
	}

	data, err := afero.ReadFile(fsys, "/dir/l2")
	require.NoError(t, err)
	assert.Equal(t, "inside", string(data))

	// A link made with a climbing text is made, and refused when followed.
	_, err = fsys.Open("/l7")
	require.ErrorIs(t, err, ErrOutsideRoot)
}

func TestNamesStayBeneathRoot(t *testing.T) {
	cases := map[string]string{
		"":            ".",
		"/":           ".",
		".":           ".",
		"..":          ".",
		"/..":         ".",
		"/a/b":        "a/b",
		"a/b/":        "a/b",
		"//a//b":      "a/b",
		"/a/../../b":  "b",
		"../../x":     "x",
		"/a/./b/../c": "a/c",
	}

	for name, want := range cases {
		assert.Equal(t, filepath.FromSlash(want), rel(name), "rel(%q)", name)
	}
}

func TestFsOperations(t *testing.T) {
	fsys, err := New(t.TempDir())
	require.NoError(t, err)

	defer func() { require.NoError(t, fsys.Close()) }()

	assert.Equal(t, "rootfs", fsys.Name())
	require.NoError(t, fsys.MkdirAll("/a/b", 0o755))
	require.NoError(t, fsys.Mkdir("/a/c", 0o700))
	require.ErrorIs(t, fsys.Mkdir("/a/c", 0o700), fs.ErrExist)

	file, err := fsys.Create("/a/b/f.txt")
	require.NoError(t, err)
	assert.IsType(t, &os.File{}, file, "files are *os.File, for sendfile")
	_, err = file.WriteString("hello")
	require.NoError(t, err)
	require.NoError(t, file.Close())

	file, err = fsys.OpenFile("/a/b/f.txt", os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = file.WriteString(" world")
	require.NoError(t, err)
	require.NoError(t, file.Close())

	data, err := afero.ReadFile(fsys, "a/b/f.txt")
	require.NoError(t, err)
	assert.Equal(t, "hello world", string(data))

	mtime := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	require.NoError(t, fsys.Chtimes("/a/b/f.txt", mtime, mtime))
	require.NoError(t, fsys.Chmod("/a/b/f.txt", 0o600))
	require.NoError(t, fsys.Chown("/a/b/f.txt", os.Getuid(), os.Getgid()))

	info, err := fsys.Stat("/a/b/f.txt")
	require.NoError(t, err)
	assert.Equal(t, int64(11), info.Size())
	assert.True(t, info.ModTime().Equal(mtime))

	if runtime.GOOS != "windows" {
		assert.Equal(t, fs.FileMode(0o600), info.Mode().Perm())
	}

	require.NoError(t, fsys.Rename("/a/b/f.txt", "/a/c/g.txt"))

	dir, err := fsys.Open("/a")
	require.NoError(t, err)
	entries, err := dir.Readdirnames(-1)
	require.NoError(t, err)
	require.NoError(t, dir.Close())
	sort.Strings(entries)
	assert.Equal(t, []string{"b", "c"}, entries)

	require.NoError(t, fsys.Remove("/a/b"))
	_, err = fsys.Stat("/a/b")
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.NoError(t, fsys.RemoveAll("/a"))
	require.NoError(t, fsys.RemoveAll("/a"), "a missing name is not an error")

	info, err = fsys.Stat("/")
	require.NoError(t, err)
	assert.True(t, info.IsDir())
}

func TestClosedFsFails(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o600))

	fsys, err := New(dir)
	require.NoError(t, err)
	assert.Equal(t, dir, fsys.Dir())

	file, err := fsys.Open("/f")
	require.NoError(t, err)
	require.NoError(t, fsys.Close())

	// A file opened before Close stays usable; nothing new opens.
	data, err := io.ReadAll(file)
	require.NoError(t, err)
	assert.Equal(t, "x", string(data))
	require.NoError(t, file.Close())

	_, err = fsys.Open("/f")
	require.ErrorIs(t, err, fs.ErrClosed)
}

func TestNewRefusesMissingDirectory(t *testing.T) {
	_, err := New(filepath.Join(t.TempDir(), "missing"))
	require.ErrorIs(t, err, fs.ErrNotExist)
}

func TestSubOpensOnlyDirectoriesBeneath(t *testing.T) {
	requireSymlinks(t)

	fsys, outside := linkTree(t, pathVariants[0])

	tests := []struct {
		dir  string
		want error
	}{
		{"missing", fs.ErrNotExist},
		{"dir/top", ErrOutsideRoot}, // a link to the directory around the root
		{"dir/up", ErrOutsideRoot},  // a link to a file outside
		{"../..", nil},              // cleaned to the root itself, as any name
		{"dir/alias", nil},          // a link that stays beneath leads to its directory
		{"/dir/sub/", nil},
	}

	// os.Root's error for a file on the way has a cause of its own, not syscall.ENOTDIR.
	_, err := fsys.Sub("file.txt")
	require.ErrorContains(t, err, "not a directory")

	for _, tt := range tests {
		sub, subErr := fsys.Sub(tt.dir)
		if tt.want != nil {
			require.ErrorIs(t, subErr, tt.want, tt.dir)
			assert.Nil(t, sub)

			continue
		}

		require.NoError(t, subErr, tt.dir)
		require.NoError(t, sub.Close())
	}

	sub, err := fsys.Sub("/dir/alias")
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(outside, "root", "dir", "alias"), sub.Dir())

	data, err := afero.ReadFile(sub, "/deep.txt")
	require.NoError(t, err)
	assert.Equal(t, "deep", string(data))

	// ".." stops at the new root, and the parent's files are out of reach.
	_, err = sub.Stat("/../file.txt")
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.NoError(t, sub.SymlinkIfPossible("../../file.txt", "/up"))
	_, err = afero.ReadFile(sub, "/up")
	require.ErrorIs(t, err, ErrOutsideRoot)

	require.NoError(t, sub.Close())
	_, err = sub.Stat("/deep.txt")
	require.ErrorIs(t, err, fs.ErrClosed)

	// Closing a Sub leaves its parent open, and a closed parent opens no more.
	_, err = fsys.Stat("/dir/sub/deep.txt")
	require.NoError(t, err)
	require.NoError(t, fsys.Close())
	_, err = fsys.Sub("dir")
	require.ErrorIs(t, err, fs.ErrClosed)
}

// benchSystems returns the file systems the benchmarks compare over dir: afero's BasePathFs
// over OsFs, rootfs, and rootfs with os.Root answering every call.
func benchSystems(b *testing.B, dir string) []struct {
	name string
	fs   afero.Fs
} {
	b.Helper()

	fsys, err := New(dir)
	require.NoError(b, err)
	b.Cleanup(func() { assert.NoError(b, fsys.Close()) })

	rootOnly, err := New(dir)
	require.NoError(b, err)
	b.Cleanup(func() { assert.NoError(b, rootOnly.Close()) })
	rootOnly.beneath.close()
	rootOnly.beneath = nil

	return []struct {
		name string
		fs   afero.Fs
	}{{"BasePathFs", afero.NewBasePathFs(afero.NewOsFs(), dir)}, {"rootfs", fsys}, {"os.Root", rootOnly}}
}

// BenchmarkOpenRead opens, stats, reads and closes a 4 KiB file, as a download does, at the
// top of the served directory and four directories down, through afero's BasePathFs over OsFs
// and through rootfs, which resolves each element beneath the root.
func BenchmarkOpenRead(b *testing.B) {
	dir := b.TempDir()
	content := make([]byte, 4<<10)
	deep := filepath.Join(dir, "a", "b", "c", "d")
	require.NoError(b, os.MkdirAll(deep, 0o755))
	require.NoError(b, os.WriteFile(filepath.Join(dir, "f"), content, 0o644))
	require.NoError(b, os.WriteFile(filepath.Join(deep, "f"), content, 0o644))

	buf := make([]byte, len(content))

	for _, system := range benchSystems(b, dir) {
		for _, name := range []string{"/f", "/a/b/c/d/f"} {
			b.Run(system.name+name, func(b *testing.B) {
				for b.Loop() {
					_, err := system.fs.Stat(name)
					require.NoError(b, err)

					file, err := system.fs.Open(name)
					require.NoError(b, err)

					_, err = file.Stat()
					require.NoError(b, err)
					_, err = io.ReadFull(file, buf)
					require.NoError(b, err)
					require.NoError(b, file.Close())
				}
			})
		}
	}
}

// BenchmarkUpload writes a 4 KiB file as an atomic upload does: a stat of the target, a new
// temporary file beside it, renamed over the target, at the top of the served directory and
// four directories down.
func BenchmarkUpload(b *testing.B) {
	dir := b.TempDir()
	content := make([]byte, 4<<10)
	require.NoError(b, os.MkdirAll(filepath.Join(dir, "a", "b", "c", "d"), 0o755))

	for _, system := range benchSystems(b, dir) {
		for _, parent := range []string{"/", "/a/b/c/d/"} {
			b.Run(system.name+parent+"f", func(b *testing.B) {
				target, temp := parent+"f", parent+".upload"

				for b.Loop() {
					_, _ = system.fs.Stat(target)

					file, err := system.fs.OpenFile(temp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
					require.NoError(b, err)
					_, err = file.Write(content)
					require.NoError(b, err)
					require.NoError(b, file.Close())
					require.NoError(b, system.fs.Rename(temp, target))
				}
			})
		}
	}
}

// BenchmarkRename moves a file into a sibling directory and back, at the top of the served
// directory and four directories down.
func BenchmarkRename(b *testing.B) {
	dir := b.TempDir()

	for _, parent := range []string{"", "a/b/c/d/"} {
		require.NoError(b, os.MkdirAll(filepath.Join(dir, parent, "x"), 0o755))
		require.NoError(b, os.WriteFile(filepath.Join(dir, parent, "f"), nil, 0o644))
	}

	for _, system := range benchSystems(b, dir) {
		for _, parent := range []string{"/", "/a/b/c/d/"} {
			b.Run(system.name+parent+"f", func(b *testing.B) {
				from, to := parent+"f", parent+"x/f"

				for b.Loop() {
					require.NoError(b, system.fs.Rename(from, to))
					require.NoError(b, system.fs.Rename(to, from))
				}
			})
		}
	}
}

// BenchmarkSub measures what a login costs to open its home with Sub and close it at the end.
func BenchmarkSub(b *testing.B) {
	dir := b.TempDir()
	require.NoError(b, os.MkdirAll(filepath.Join(dir, "home", "alice"), 0o755))

	fsys, err := New(dir)
	require.NoError(b, err)
	b.Cleanup(func() { assert.NoError(b, fsys.Close()) })

	for b.Loop() {
		home, subErr := fsys.Sub("/home/alice")
		if subErr != nil {
			b.Fatal(subErr)
		}

		if closeErr := home.Close(); closeErr != nil {
			b.Fatal(closeErr)
		}
	}
}

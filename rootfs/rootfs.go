// Package rootfs serves a directory of the local file system as an afero.Fs whose every
// operation stays beneath that directory, enforced through Go's os.Root: names are resolved one
// element at a time with system calls relative to the open directory (openat and its kin), not
// as strings, so neither a link nor a rename racing with the lookup can lead above it.
//
// Prefer it to afero's BasePathFs over OsFs for serving a directory to FTP clients. BasePathFs
// joins a prefix to each name as a string and lets the kernel resolve the result, so a symbolic
// link is followed wherever it points: a link placed outside the tree by an administrator, or a
// relative link such as "w/latest -> ../../file" that pointed inside until a client moved it
// (RNFR/RNTO) to a shallower directory, or moved the directory holding it. Through rootfs every
// open, stat, rename, remove, mkdir, chmod, chown, chtimes, symlink and readlink resolves
// beneath the root: links that end inside the root keep working, those
// that would leave it fail with an error matching both ErrOutsideRoot and fs.ErrPermission
// (the FTP server answers 550).
//
// To give several users each a home beneath one tree, open each home with Sub: the home becomes
// a root of its own, enforced as the tree is. A path prefix over an Fs (afero's BasePathFs over
// rootfs) is not such a jail: the prefix only rewrites names, while links are resolved against
// the whole tree, so a user who makes a link in a directory, then moves it up a level, reads and
// writes the other users' homes.
//
// The files it opens are *os.File, so a server can hand downloads to sendfile and uploads to
// its own buffered copy as it does for afero's OsFs.
//
// On Linux, opens, stats, renames, removes and mkdirs of names below the root's own directory
// resolve the whole name in one openat2 call with RESOLVE_BENEATH, which gives the kernel the
// same guarantee to keep, instead of opening and closing every directory on the way; os.Root
// remains the path for everything else, and for every call where openat2 is unavailable. The
// one visible difference: the kernel follows up to 40 links in one lookup, os.Root up to 8.
//
// What os.Root does not cover, rootfs does not either: a hard link inside the root to a file
// outside it is the same file, and a mount point inside the root is entered.
package rootfs

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/afero"
)

// ErrOutsideRoot is the cause of the error returned when a name, or a symbolic link met while
// resolving it, leads outside the root. It matches fs.ErrPermission with errors.Is, so code that
// handles permission errors (an FTP server replying 550) handles it too.
var ErrOutsideRoot error = outsideRootError{}

// outsideRootError is the type of ErrOutsideRoot.
type outsideRootError struct{}

func (outsideRootError) Error() string { return "path leads outside the served directory" }

// Is makes ErrOutsideRoot a permission error for errors.Is.
func (outsideRootError) Is(target error) bool { return target == fs.ErrPermission }

// errEscapes is the error os.Root gives for a path that leaves the root. The os package does not
// export it, so New learns it once from a name that os.Root refuses before any system call.
var (
	errEscapes    error
	errEscapesSet sync.Once
)

// learnEscapeError records the error root gives for an absolute name: os.Root refuses such a
// name as an escape before asking the kernel anything.
func learnEscapeError(root *os.Root) {
	errEscapesSet.Do(func() {
		_, err := root.Lstat("/")

		var pathErr *fs.PathError
		if errors.As(err, &pathErr) {
			errEscapes = pathErr.Err
		}
	})
}

// Fs is an afero.Fs over one directory opened with os.Root. Names are slash-separated and taken
// relative to the root whether or not they start with "/"; ".." elements are cleaned away
// lexically first, as a client's path is, so they stop at the root.
//
// An Fs owns its os.Root: Close releases it, after which every method fails. It is safe for
// concurrent use by any number of sessions.
type Fs struct {
	root *os.Root

	// beneath answers the common calls in fewer system calls where the kernel can confine a
	// whole lookup to the root (openat2 on Linux); nil elsewhere, and then os.Root answers.
	beneath *beneath
}

var (
	_ afero.Fs        = (*Fs)(nil)
	_ afero.Symlinker = (*Fs)(nil)
)

// New opens dir, which must exist and be a directory, as the root of a new Fs. The caller owns
// the Fs and closes it when no session uses it any more.
func New(dir string) (*Fs, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err //nolint:wrapcheck // the *fs.PathError already names the operation and dir
	}

	learnEscapeError(root)

	return &Fs{root: root, beneath: openBeneath(root)}, nil
}

// Sub opens dir, a directory of f, as the root of a new Fs, and is the way to give each user a
// home of its own beneath one served tree. dir is resolved beneath f's root as any name is, so a
// link on the way is followed only while it stays beneath f; the directory it leads to becomes
// the new root, and nothing done through the new Fs (links made, moved or followed, "..",
// absolute link targets) reaches outside it. Sub of "/" is a second Fs over f's own directory.
//
// A path prefix over f, such as afero's BasePathFs, is no substitute: the prefix confines the
// names a client gives, but the kernel resolves the links met on the way against f's root, so a
// link a user makes in the prefix directory, or moves there, leads into the rest of f's tree.
//
// The new Fs holds descriptors of its own: it stays usable when f is closed, and the caller
// closes it when no session uses it any more. It keeps serving the directory it opened even if
// that directory is renamed meanwhile. An error is the one a lookup of dir gives: fs.ErrNotExist
// when it is missing, ErrOutsideRoot when a link leads out of f, fs.ErrClosed when f is closed.
func (f *Fs) Sub(dir string) (*Fs, error) {
	root, err := f.root.OpenRoot(rel(dir))
	if err != nil {
		return nil, confine(err)
	}

	return &Fs{root: root, beneath: openBeneath(root)}, nil
}

// Close closes the root directory. Files already open stay usable; every later call on the Fs
// fails. An Fs opened from it with Sub is not closed: it has descriptors of its own.
func (f *Fs) Close() error {
	f.beneath.close()

	return f.root.Close() //nolint:wrapcheck // os.Root's error names the directory
}

// Dir returns the directory the Fs serves: as given to New, or for an Fs made by Sub, its
// parent's Dir joined with the name given to Sub.
func (f *Fs) Dir() string {
	return f.root.Name()
}

// Name returns "rootfs", the name of this afero.Fs implementation.
func (*Fs) Name() string {
	return "rootfs"
}

// Create creates or truncates the named file, mode 0666 before umask, and opens it read-write.
func (f *Fs) Create(name string) (afero.File, error) {
	return f.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o666)
}

// Open opens the named file or directory for reading.
func (f *Fs) Open(name string) (afero.File, error) {
	return f.OpenFile(name, os.O_RDONLY, 0)
}

// OpenFile opens the named file with flag, creating it with the permission bits of perm (before
// umask) when flag has os.O_CREATE. Bits of perm beyond the nine permission bits are ignored.
// The file is an *os.File.
func (f *Fs) OpenFile(name string, flag int, perm os.FileMode) (afero.File, error) {
	name = rel(name)
	if file, handled, err := f.beneath.openFile(name, flag, perm); handled {
		if err != nil {
			return nil, err
		}

		return file, nil
	}

	file, err := f.root.OpenFile(name, flag, perm.Perm())
	if err != nil {
		// Not file itself: a nil *os.File in the interface would not compare equal to nil.
		return nil, confine(err)
	}

	return file, nil
}

// Mkdir creates the named directory with the permission bits of perm (before umask).
func (f *Fs) Mkdir(name string, perm os.FileMode) error {
	name = rel(name)
	if handled, err := f.beneath.mkdir(name, perm); handled {
		return err
	}

	return confine(f.root.Mkdir(name, perm.Perm()))
}

// MkdirAll creates the named directory and any missing parents, with the permission bits of
// perm (before umask). It does nothing when the directory exists.
func (f *Fs) MkdirAll(name string, perm os.FileMode) error {
	return confine(f.root.MkdirAll(rel(name), perm.Perm()))
}

// Remove removes the named file, symbolic link or empty directory.
func (f *Fs) Remove(name string) error {
	name = rel(name)
	if handled, err := f.beneath.remove(name); handled {
		return err
	}

	return confine(f.root.Remove(name))
}

// RemoveAll removes the named file or directory with everything it holds; a missing name is
// not an error. Links inside are removed, not followed.
func (f *Fs) RemoveAll(name string) error {
	return confine(f.root.RemoveAll(rel(name)))
}

// Rename moves oldname to newname, both beneath the root. A symbolic link is moved itself; what
// it points to is checked again each time it is followed.
func (f *Fs) Rename(oldname, newname string) error {
	oldname, newname = rel(oldname), rel(newname)
	if handled, err := f.beneath.rename(oldname, newname); handled {
		return err
	}

	return confine(f.root.Rename(oldname, newname))
}

// Stat describes the named file, following symbolic links beneath the root. Sys() holds the
// system's stat structure (*syscall.Stat_t on Unix), as for os.Stat.
func (f *Fs) Stat(name string) (os.FileInfo, error) {
	name = rel(name)
	if info, handled, err := f.beneath.stat(name, false); handled {
		return info, err
	}

	info, err := f.root.Stat(name)

	return info, confine(err)
}

// LstatIfPossible describes the named file without following it if it is a symbolic link. The
// boolean is always true: the link itself is described.
func (f *Fs) LstatIfPossible(name string) (os.FileInfo, bool, error) {
	name = rel(name)
	if info, handled, err := f.beneath.stat(name, true); handled {
		return info, true, err
	}

	info, err := f.root.Lstat(name)

	return info, true, confine(err)
}

// Chmod changes the mode of the named file, following symbolic links beneath the root.
func (f *Fs) Chmod(name string, mode os.FileMode) error {
	return confine(f.root.Chmod(rel(name), mode))
}

// Chown changes the numeric owner and group of the named file, following symbolic links beneath
// the root.
func (f *Fs) Chown(name string, uid, gid int) error {
	return confine(f.root.Chown(rel(name), uid, gid))
}

// Lchown changes the numeric owner and group of the named file, or of the link itself if it is
// a symbolic link.
func (f *Fs) Lchown(name string, uid, gid int) error {
	return confine(f.root.Lchown(rel(name), uid, gid))
}

// Chtimes changes the access and modification times of the named file, following symbolic links
// beneath the root.
func (f *Fs) Chtimes(name string, atime, mtime time.Time) error {
	return confine(f.root.Chtimes(rel(name), atime, mtime))
}

// SymlinkIfPossible creates newname as a symbolic link to oldname. An absolute oldname is a path
// of this Fs, so the link is written relative to newname's directory and stays valid, beneath
// the root, wherever the root is mounted; a relative oldname is written as given. Either way the
// link is checked when followed, not when made.
func (f *Fs) SymlinkIfPossible(oldname, newname string) error {
	return confine(f.root.Symlink(linkText(oldname, newname), rel(newname)))
}

// ReadlinkIfPossible returns the text of the named symbolic link as stored.
func (f *Fs) ReadlinkIfPossible(name string) (string, error) {
	text, err := f.root.Readlink(rel(name))

	return text, confine(err)
}

// rel turns a name of the Fs into the relative name os.Root takes: cleaned as an absolute slash
// path, so ".." stops at the root, then without its leading slash; the root itself is ".".
func rel(name string) string {
	clean := path.Clean("/" + filepath.ToSlash(name))
	if clean == "/" {
		return "."
	}

	return filepath.FromSlash(clean[1:])
}

// linkText returns the text to store in the link newname for target: target as given when it
// is relative, else the relative path from newname's directory to target.
func linkText(target, newname string) string {
	if !strings.HasPrefix(filepath.ToSlash(target), "/") {
		return filepath.FromSlash(target)
	}

	from := elements(path.Dir(path.Clean("/" + filepath.ToSlash(newname))))
	to := elements(path.Clean(filepath.ToSlash(target)))

	common := 0
	for common < len(from) && common < len(to) && from[common] == to[common] {
		common++
	}

	parts := make([]string, 0, len(from)-common+len(to)-common)
	for range from[common:] {
		parts = append(parts, "..")
	}

	parts = append(parts, to[common:]...)
	if len(parts) == 0 {
		return "."
	}

	return filepath.Join(parts...)
}

// elements splits a clean absolute slash path into its names; "/" has none.
func elements(p string) []string {
	if p == "/" {
		return nil
	}

	return strings.Split(p[1:], "/")
}

// confine replaces the cause of an error os.Root gives for a path leaving the root with
// ErrOutsideRoot, keeping the operation and name around it. Other errors pass unchanged.
func confine(err error) error {
	if err == nil || errEscapes == nil || !errors.Is(err, errEscapes) {
		return err
	}

	var (
		pathErr *fs.PathError
		linkErr *os.LinkError
	)

	switch {
	case errors.As(err, &pathErr):
		return &fs.PathError{Op: pathErr.Op, Path: pathErr.Path, Err: ErrOutsideRoot}
	case errors.As(err, &linkErr):
		return &os.LinkError{Op: linkErr.Op, Old: linkErr.Old, New: linkErr.New, Err: ErrOutsideRoot}
	default:
		return ErrOutsideRoot
	}
}

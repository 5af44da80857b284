//go:build linux

package rootfs

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// beneath resolves names with openat2 relative to a descriptor of the root, in one system call
// whatever their depth. RESOLVE_BENEATH makes the kernel refuse, with EXDEV, any lookup that
// would leave the root: a ".." above it, an absolute link, a link climbing out; and it does so
// while resolving, so a rename racing with the lookup cannot lead above the root either.
// RESOLVE_NO_MAGICLINKS refuses /proc-style links, which os.Root never follows beneath a root.
//
// It handles only names with a directory part: in the root's own directory os.Root already
// needs a single call, and it answers for the root itself. Whatever beneath cannot answer exactly
// as os.Root would (a loop, a magic link, a kernel that asks to retry) it hands back to os.Root.
type beneath struct {
	dir string // the directory as given to New, which starts the names of opened files
	fd  int    // O_PATH descriptor of the root

	// state counts the calls using fd, with closedBit set once Close is called. The last of
	// Close and those calls closes fd, so that no call ever resolves against a reused number.
	state atomic.Int64
}

const (
	closedBit = 1 << 62

	resolveFlags = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS
)

// openBeneath returns the fast path for root, or nil when the kernel (or a seccomp filter)
// refuses openat2. The descriptor is opened from the root's own, so both name one directory
// even if the path given to New has changed meanwhile.
func openBeneath(root *os.Root) *beneath {
	dir, err := root.Open(".")
	if err != nil {
		return nil
	}

	defer func() { _ = dir.Close() }()

	raw, err := dir.SyscallConn()
	if err != nil {
		return nil
	}

	fd := -1

	ctlErr := raw.Control(func(rootfd uintptr) {
		fd, err = openat2(int(rootfd), ".", unix.O_PATH|unix.O_DIRECTORY, 0)
	})
	if ctlErr != nil || err != nil {
		return nil
	}

	return &beneath{dir: root.Name(), fd: fd}
}

// acquire reports whether fd may be used, counting one more user; release undoes it.
func (b *beneath) acquire() bool {
	if b == nil {
		return false
	}

	for {
		state := b.state.Load()
		if state&closedBit != 0 {
			return false
		}

		if b.state.CompareAndSwap(state, state+1) {
			return true
		}
	}
}

func (b *beneath) release() {
	if b.state.Add(-1) == closedBit {
		_ = unix.Close(b.fd)
	}
}

// close stops new calls and closes fd once no call uses it.
func (b *beneath) close() {
	if b != nil && b.state.Or(closedBit) == 0 {
		_ = unix.Close(b.fd)
	}
}

// openFile is OpenFile for a name with a directory part; handled is false when os.Root is to
// answer instead.
func (b *beneath) openFile(name string, flag int, perm fs.FileMode) (file *os.File, handled bool, err error) {
	if !hasDir(name) || !b.acquire() {
		return nil, false, nil
	}
	defer b.release()

	var mode uint32
	if flag&os.O_CREATE != 0 || flag&unix.O_TMPFILE == unix.O_TMPFILE {
		mode = uint32(perm.Perm())
	}

	// openat does this itself on 32-bit systems; openat2 leaves it to the caller.
	largeFile := unix.O_LARGEFILE
	if flag&unix.O_PATH != 0 {
		largeFile = 0
	}

	fd, err := openat2(b.fd, name, uint64(flag|largeFile), mode) //nolint:gosec // flags are non-negative
	if err != nil {
		handled, err = answer(err)
		if !handled {
			return nil, false, nil
		}

		return nil, true, &fs.PathError{Op: "openat", Path: name, Err: err}
	}

	// A directory opened through os.Root lists its entries with lstat relative to itself;
	// os.NewFile cannot mark a file so, and a lazy lstat by path string could follow a link
	// swapped in meanwhile. Directories therefore go through os.Root.
	if flag&(unix.O_ACCMODE|unix.O_PATH) == os.O_RDONLY {
		var st unix.Stat_t
		if fstatErr := unix.Fstat(fd, &st); fstatErr != nil || st.Mode&unix.S_IFMT == unix.S_IFDIR {
			_ = unix.Close(fd)

			return nil, false, nil
		}
	}

	return os.NewFile(uintptr(fd), joinPath(b.dir, name)), true, nil
}

// stat is Stat (Lstat when lstat) for a name with a directory part: an O_PATH open of the name
// and an fstat of it, however deep the name. The description is the os package's own, from
// (*os.File).Stat, so it carries the same Sys() and works with os.SameFile.
func (b *beneath) stat(name string, lstat bool) (info fs.FileInfo, handled bool, err error) {
	if !hasDir(name) || !b.acquire() {
		return nil, false, nil
	}
	defer b.release()

	flags := uint64(unix.O_PATH)
	if lstat {
		flags |= unix.O_NOFOLLOW
	}

	fd, err := openat2(b.fd, name, flags, 0)
	if err != nil {
		handled, err = answer(err)
		if !handled {
			return nil, false, nil
		}

		return nil, true, &fs.PathError{Op: "statat", Path: name, Err: err}
	}

	file := os.NewFile(uintptr(fd), name)
	info, err = file.Stat()
	_ = file.Close()

	if err != nil {
		return nil, false, nil
	}

	return info, true, nil
}

// rename is Rename when either name has a directory part: the parent directories are opened
// beneath the root (once when they are the same) and renameat moves the last element, which it
// never follows.
func (b *beneath) rename(oldname, newname string) (handled bool, err error) {
	if !hasDir(oldname) && !hasDir(newname) || oldname == "." || newname == "." || !b.acquire() {
		return false, nil
	}
	defer b.release()

	oldDir, oldBase := split(oldname)
	newDir, newBase := split(newname)

	oldfd, err := b.openDir(oldDir)
	if err != nil {
		handled, err = answer(err)

		return handled, linkError(oldname, newname, err, handled)
	}
	defer b.closeDir(oldfd)

	newfd := oldfd
	if newDir != oldDir {
		newfd, err = b.openDir(newDir)
		if err != nil {
			handled, err = answer(err)

			return handled, linkError(oldname, newname, err, handled)
		}
		defer b.closeDir(newfd)
	}

	if err := renameat(oldfd, oldBase, newfd, newBase); err != nil {
		return true, &os.LinkError{Op: "renameat", Old: oldname, New: newname, Err: err}
	}

	return true, nil
}

// linkError is the error of a rename whose parent directory could not be opened, or nil when
// os.Root is to answer.
func linkError(oldname, newname string, err error, handled bool) error {
	if !handled {
		return nil
	}

	return &os.LinkError{Op: "renameat", Old: oldname, New: newname, Err: err}
}

// renameat renames as os.Root does, which follows os.Rename: a directory is never replaced,
// unless it is the file being renamed under another name.
func renameat(oldfd int, oldBase string, newfd int, newBase string) error {
	var target unix.Stat_t

	err := unix.Fstatat(newfd, newBase, &target, unix.AT_SYMLINK_NOFOLLOW)
	if err == nil && target.Mode&unix.S_IFMT == unix.S_IFDIR {
		var source unix.Stat_t
		if err := unix.Fstatat(oldfd, oldBase, &source, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err //nolint:wrapcheck // the caller wraps it in an *os.LinkError
		}

		if newBase == oldBase || source.Dev != target.Dev || source.Ino != target.Ino {
			return unix.EEXIST
		}
	}

	return unix.Renameat(oldfd, oldBase, newfd, newBase) //nolint:wrapcheck // as above
}

// remove is Remove for a name with a directory part: unlinkat in its parent, as a file and then
// as a directory, keeping the error os.Root keeps when both fail.
func (b *beneath) remove(name string) (handled bool, err error) {
	return b.inParent(name, "removeat", func(dirfd int, base string) error {
		err := unix.Unlinkat(dirfd, base, 0)
		if err == nil {
			return nil
		}

		dirErr := unix.Unlinkat(dirfd, base, unix.AT_REMOVEDIR)
		if dirErr == nil {
			return nil
		}

		if !errors.Is(dirErr, unix.ENOTDIR) {
			return dirErr //nolint:wrapcheck // inParent wraps it in an *fs.PathError
		}

		return err //nolint:wrapcheck // as above
	})
}

// mkdir is Mkdir for a name with a directory part: mkdirat in its parent.
func (b *beneath) mkdir(name string, perm fs.FileMode) (handled bool, err error) {
	return b.inParent(name, "mkdirat", func(dirfd int, base string) error {
		return unix.Mkdirat(dirfd, base, uint32(perm.Perm()))
	})
}

// inParent opens the parent directory of name beneath the root and calls do with it and the
// last element; the error is an *fs.PathError for op, as os.Root gives.
func (b *beneath) inParent(name, op string, do func(dirfd int, base string) error) (handled bool, err error) {
	if !hasDir(name) || !b.acquire() {
		return false, nil
	}
	defer b.release()

	dir, base := split(name)

	dirfd, err := b.openDir(dir)
	if err != nil {
		handled, err = answer(err)
		if !handled {
			return false, nil
		}

		return true, &fs.PathError{Op: op, Path: name, Err: err}
	}
	defer b.closeDir(dirfd)

	if err := do(dirfd, base); err != nil {
		return true, &fs.PathError{Op: op, Path: name, Err: err}
	}

	return true, nil
}

// openDir opens dir beneath the root as an O_PATH descriptor; "." is the root's own.
func (b *beneath) openDir(dir string) (int, error) {
	if dir == "." {
		return b.fd, nil
	}

	return openat2(b.fd, dir, unix.O_PATH|unix.O_DIRECTORY, 0)
}

// closeDir closes what openDir opened.
func (b *beneath) closeDir(fd int) {
	if fd != b.fd {
		_ = unix.Close(fd)
	}
}

// openat2 opens name beneath dirfd, close-on-exec, again when a signal interrupts it.
func openat2(dirfd int, name string, flags uint64, mode uint32) (int, error) {
	how := unix.OpenHow{Flags: flags | unix.O_CLOEXEC, Mode: uint64(mode), Resolve: resolveFlags}

	for {
		fd, err := unix.Openat2(dirfd, name, &how)
		if !errors.Is(err, unix.EINTR) {
			return fd, err //nolint:wrapcheck // callers wrap it as os.Root does
		}
	}
}

// answer turns an error of openat2 into the cause os.Root gives for the same name: EXDEV, the
// kernel's refusal to leave the root, becomes ErrOutsideRoot. handled is false for the errors
// whose cause os.Root finds out itself: ELOOP (a loop, or a magic link), EAGAIN (a rename or
// mount elsewhere raced with a lookup through ".."), and EINVAL, ENOSYS or EPERM (a flag or a
// call the kernel or a filter refuses).
func answer(err error) (handled bool, cause error) {
	switch {
	case errors.Is(err, unix.EXDEV):
		return true, ErrOutsideRoot
	case errors.Is(err, unix.ELOOP), errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINVAL),
		errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EPERM):
		return false, nil
	default:
		return true, err
	}
}

// hasDir tells whether the relative name has a directory part.
func hasDir(name string) bool {
	return strings.Contains(name, "/")
}

// split cuts a relative name with a directory part at its last slash.
func split(name string) (dir, base string) {
	i := strings.LastIndexByte(name, '/')
	if i < 0 {
		return ".", name
	}

	return name[:i], name[i+1:]
}

// joinPath names a file opened beneath dir as os.Root names it.
func joinPath(dir, name string) string {
	if strings.HasSuffix(dir, "/") {
		return dir + name
	}

	return dir + "/" + name
}

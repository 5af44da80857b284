package s3fs

import (
	"io/fs"
	"os"
	"path"
	"time"
)

// implicitDirTime is the modification time of directories, which S3 does not record (a marker
// object has one, but listings give only the prefix): the Unix epoch, the same for every
// listing and every server.
var implicitDirTime = time.Unix(0, 0).UTC()

// fileInfo describes an object or a directory.
type fileInfo struct {
	name    string
	size    int64
	modTime time.Time
	dir     bool
}

var _ os.FileInfo = fileInfo{}

// newDirInfo describes the directory rel.
func newDirInfo(rel string) fileInfo {
	return fileInfo{name: baseName(rel), modTime: implicitDirTime, dir: true}
}

// baseName is the last element of rel, "/" for the root.
func baseName(rel string) string {
	if rel == "" {
		return "/"
	}

	return path.Base(rel)
}

// Name returns the base name.
func (i fileInfo) Name() string { return i.name }

// Size returns the object's size in bytes, 0 for a directory.
func (i fileInfo) Size() int64 { return i.size }

// Mode returns 0644 for files and 0755 for directories: S3 keeps no modes.
func (i fileInfo) Mode() fs.FileMode {
	if i.dir {
		return dirMode
	}

	return fileMode
}

// ModTime returns the object's last modification, the Unix epoch for directories.
func (i fileInfo) ModTime() time.Time { return i.modTime }

// IsDir tells whether this is a directory.
func (i fileInfo) IsDir() bool { return i.dir }

// Sys returns nil.
func (fileInfo) Sys() any { return nil }

// fileBase holds what the three kinds of open file (reader, writer, directory) share, and
// refuses every operation; each kind overrides those it supports.
type fileBase struct {
	fs   *Fs
	name string // as given to OpenFile
	rel  string
}

// Name returns the name the file was opened with.
func (b *fileBase) Name() string { return b.name }

// Read fails: the file is not open for reading.
func (b *fileBase) Read([]byte) (int, error) { return 0, b.err("read", errNotReadable) }

// ReadAt fails: the file is not open for reading.
func (b *fileBase) ReadAt([]byte, int64) (int, error) { return 0, b.err("read", errNotReadable) }

// Seek fails: the file cannot be positioned.
func (b *fileBase) Seek(int64, int) (int64, error) { return 0, b.err("seek", ErrNotSupported) }

// Write fails: the file is not open for writing.
func (b *fileBase) Write([]byte) (int, error) { return 0, b.err("write", errNotWritable) }

// WriteAt fails: S3 objects are written from start to end.
func (b *fileBase) WriteAt([]byte, int64) (int, error) { return 0, b.err("write", ErrNotSupported) }

// WriteString fails: the file is not open for writing.
func (b *fileBase) WriteString(string) (int, error) { return 0, b.err("write", errNotWritable) }

// Truncate fails: S3 objects cannot be changed.
func (b *fileBase) Truncate(int64) error { return b.err("truncate", ErrNotSupported) }

// Readdir fails: the file is not a directory.
func (b *fileBase) Readdir(int) ([]os.FileInfo, error) { return nil, b.err("readdir", errNotDirectory) }

// Readdirnames fails: the file is not a directory.
func (b *fileBase) Readdirnames(int) ([]string, error) { return nil, b.err("readdir", errNotDirectory) }

// Sync does nothing: what is written is stored when Close completes the upload.
func (*fileBase) Sync() error { return nil }

// err wraps err in an *fs.PathError on this file.
func (b *fileBase) err(op string, err error) error {
	return &fs.PathError{Op: op, Path: b.name, Err: err}
}

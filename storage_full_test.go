package ftpserver

import (
	"io/fs"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fullFs fails like a full disk or a quota: files under /noroom cannot be created, and every
// file it opens for writing takes room bytes, then fails with err.
type fullFs struct {
	afero.Fs

	err  error
	room int
}

func (f fullFs) OpenFile(name string, flag int, perm os.FileMode) (afero.File, error) {
	if strings.HasPrefix(name, "/noroom/") {
		return nil, &fs.PathError{Op: "open", Path: name, Err: f.err}
	}

	file, err := f.Fs.OpenFile(name, flag, perm)
	if err != nil || flag&(os.O_WRONLY|os.O_RDWR) == 0 {
		return file, err
	}

	return &fullFile{File: file, err: f.err, left: f.room}, nil
}

type fullFile struct {
	afero.File

	err  error
	left int
}

func (f *fullFile) Write(p []byte) (int, error) {
	if len(p) <= f.left {
		f.left -= len(p)

		return f.File.Write(p)
	}

	n, _ := f.File.Write(p[:f.left])
	f.left = 0

	return n, &fs.PathError{Op: "write", Path: f.Name(), Err: f.err}
}

// TestStorageFull checks that a full disk (ENOSPC) is answered 452 and a quota
// (ErrStorageExceeded) 552, as RFC 959 4.2.1 tells them apart, both when the file cannot be
// created and when a write fails during the upload; an atomic upload that fails leaves the
// old file whole and no temporary file behind.
func TestStorageFull(t *testing.T) {
	tests := []struct {
		name string
		err  error
		code int
		text string
	}{
		{"disk full", syscall.ENOSPC, StatusActionNotTakenInsufficientStorage, "no space left on device"},
		{"quota", ErrStorageExceeded, StatusActionNotTakenStorageExceeded, "Storage limit exceeded"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := afero.NewMemMapFs()
			old := testContent(10_000)
			require.NoError(t, writeFile(mem, "/keep.bin", old))

			s := newTestServer(t, withFs(fullFs{Fs: mem, err: tt.err, room: 64 << 10}),
				withSettings(func(settings *Settings) { settings.AtomicUploads = true }))
			rc := s.rawLoggedIn(t)
			rc.expect("TYPE I", StatusOK)

			assert.Equal(t, "Could not access file: "+tt.text, rc.expect("STOR /noroom/f.bin", tt.code))

			code, msg := rc.storeRaw("/keep.bin", testContent(1<<20))
			assert.Equal(t, tt.code, code)
			assert.Equal(t, "Issue during transfer: "+tt.text, msg)

			kept, err := afero.ReadFile(mem, "/keep.bin")
			require.NoError(t, err)
			assert.Equal(t, sha256Hex(old), sha256Hex(kept), "the old file survives")
			requireOnlyNames(t, mem, "/", "keep.bin")

			code, _ = rc.storeRaw("/keep.bin", testContent(1000))
			assert.Equal(t, StatusClosingDataConn, code, "an upload that fits still works")
		})
	}
}

//go:build !linux

package rootfs

import (
	"io/fs"
	"os"
)

// beneath is the fast path of Linux; elsewhere there is none and os.Root answers every call.
type beneath struct{}

func openBeneath(*os.Root) *beneath { return nil }

func (*beneath) close() {}

func (*beneath) openFile(string, int, fs.FileMode) (*os.File, bool, error) { return nil, false, nil }

func (*beneath) stat(string, bool) (fs.FileInfo, bool, error) { return nil, false, nil }

func (*beneath) rename(string, string) (bool, error) { return false, nil }

func (*beneath) remove(string) (bool, error) { return false, nil }

func (*beneath) mkdir(string, fs.FileMode) (bool, error) { return false, nil }

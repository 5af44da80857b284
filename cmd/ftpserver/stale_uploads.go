package main

import (
	"errors"
	"io/fs"
	"os"
	"strings"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/ftpkit/ftpserver"
)

// removeStaleUploads removes, before the server accepts anyone, the temporary files of atomic
// uploads (ftpserver.AtomicUploadPrefix) found under root: no upload runs yet, so each was left
// by a process that died during an upload. The tree is walked through an os.Root, so links are
// removed, not followed, and nothing outside root is touched. Each removal, and each part of
// the tree that could not be read or cleaned, is logged at level warn; none stops the start.
// It returns how many files it removed.
func removeStaleUploads(root string, logger log.Logger) int {
	dir, err := os.OpenRoot(root)
	if err != nil {
		_ = level.Warn(logger).Log("msg", "cannot look for stale uploads", "path", root, "err", err)

		return 0
	}

	defer dir.Close()

	removed := 0

	// The callback logs its errors and never returns one, so neither does the walk.
	_ = fs.WalkDir(dir.FS(), ".", func(name string, entry fs.DirEntry, err error) error {
		if err != nil {
			// An unreadable directory is skipped; the walk goes on with the rest.
			_ = level.Warn(logger).Log("msg", "cannot look for stale uploads", "path", name, "err", err)

			if entry != nil && entry.IsDir() && name != "." {
				return fs.SkipDir
			}

			return nil
		}

		if entry.IsDir() || !strings.HasPrefix(entry.Name(), ftpserver.AtomicUploadPrefix) {
			return nil
		}

		if err := dir.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			_ = level.Warn(logger).Log("msg", "cannot remove stale upload", "path", name, "err", err)

			return nil
		}

		removed++
		_ = level.Warn(logger).Log("msg", "removed stale upload", "path", name)

		return nil
	})

	return removed
}

package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/ftpkit/ftpserver"
)

// removeStaleUploads removes, before the server accepts anyone, the temporary files of atomic
// uploads (ftpserver.AtomicUploadPrefix) found under root: no upload runs yet, so each was left
// by a process that died during an upload. Each removal, and each part of the tree that could
// not be read or cleaned, is logged at level warn; none stops the start. Links are removed, not
// followed, and linked directories are not entered. It returns how many files it removed.
func removeStaleUploads(root string, logger log.Logger) int {
	removed := 0

	err := filepath.WalkDir(root, func(path string, entry fs.DirEntry, err error) error {
		if err != nil {
			// An unreadable directory is skipped; the walk goes on with the rest.
			_ = level.Warn(logger).Log("msg", "cannot look for stale uploads", "path", path, "err", err)

			if entry != nil && entry.IsDir() && path != root {
				return fs.SkipDir
			}

			return nil
		}

		if entry.IsDir() || !strings.HasPrefix(entry.Name(), ftpserver.AtomicUploadPrefix) {
			return nil
		}

		rel, _ := filepath.Rel(root, path)
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			_ = level.Warn(logger).Log("msg", "cannot remove stale upload", "path", rel, "err", err)

			return nil
		}

		removed++
		_ = level.Warn(logger).Log("msg", "removed stale upload", "path", rel)

		return nil
	})
	if err != nil {
		_ = level.Warn(logger).Log("msg", "cannot look for stale uploads", "path", root, "err", err)
	}

	return removed
}

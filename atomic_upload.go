package ftpserver

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"strings"
	"sync/atomic"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
)

// AtomicUploadPrefix starts the name of the temporary file of an atomic upload (see
// Settings.AtomicUploads): the prefix, then 16 lowercase hexadecimal digits, in the target's
// directory. Names with this prefix are reserved: listings skip them and client paths through
// them are answered 550 as absent, so that no client reads a partial upload, lists one left by
// a crash, or writes into another session's upload. A file of that name that no upload is
// writing was left by a process that died during an upload; it may be removed at start.
const AtomicUploadPrefix = ".ftpkit-upload-"

// errUploadTemp answers a client path naming an atomic upload's temporary file: 550, as for a
// file that does not exist.
var errUploadTemp = fmt.Errorf("%w: reserved for uploads in progress", os.ErrNotExist)

// isUploadTemp tells whether the clean absolute path p goes through a name reserved for the
// temporary files of atomic uploads.
func isUploadTemp(p string) bool {
	return strings.Contains(p, "/"+AtomicUploadPrefix)
}

// withoutUploadTemps returns entries without the temporary files of atomic uploads; entries
// itself, which may belong to the driver, is never changed.
func withoutUploadTemps(entries []os.FileInfo) []os.FileInfo {
	for i, entry := range entries {
		if !strings.HasPrefix(entry.Name(), AtomicUploadPrefix) {
			continue
		}

		kept := append(make([]os.FileInfo, 0, len(entries)-1), entries[:i]...)
		for _, rest := range entries[i+1:] {
			if !strings.HasPrefix(rest.Name(), AtomicUploadPrefix) {
				kept = append(kept, rest)
			}
		}

		return kept
	}

	return entries
}

// upload is the file an upload writes into: the target itself, or under AtomicUploads a
// temporary file beside the target that finish renames over it.
type upload struct {
	fs     ClientDriver
	file   FileTransfer
	target string
	temp   string // "" when the target is written in place
	logger log.Logger

	command string       // STOR, APPE or STOU, for the check
	check   *uploadCheck // the driver's ClientDriverExtensionUploadCheck, or nil (upload_check.go)
	size    atomic.Int64 // the bytes received, set once the data has been read
}

// openUpload opens what an upload of p into fs writes into. An atomic upload (a STOR under
// AtomicUploads) from offset 0 gets a new temporary file in p's directory; anything else (APPE,
// STOU, STOR after REST, which extend or create p) opens p itself with flags at offset.
func openUpload(ext *clientHooks, p string, flags int, offset int64, viaTemp bool, logger log.Logger,
) (*upload, error) {
	fs := ext.driver

	if !viaTemp || offset != 0 || flags&os.O_APPEND != 0 {
		file, err := openTransferFile(ext, p, flags, offset)
		if err != nil {
			return nil, err
		}

		return &upload{fs: fs, file: file, target: p, logger: logger}, nil
	}

	// Writing in place would fail at once on a directory; the rename would fail only after
	// the whole upload, so refuse now.
	if info, err := fs.Stat(p); err == nil && info.IsDir() {
		return nil, errIsDirectory
	}

	var suffix [8]byte

	_, _ = rand.Read(suffix[:])
	temp := path.Join(path.Dir(p), AtomicUploadPrefix+hex.EncodeToString(suffix[:]))

	file, err := openTransferFile(ext, temp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0)
	if err != nil {
		return nil, err
	}

	return &upload{fs: fs, file: file, target: p, temp: temp, logger: logger}, nil
}

// finish ends the upload with the transfer's error so far (finishTransferFile) and returns the
// error the client hears about. An upload that succeeded is checked by the driver's
// ClientDriverExtensionUploadCheck, if it has one. An atomic upload that succeeded and passed
// is renamed over its target, replacing it at once for every reader; one that failed or was
// refused is removed, leaving the target as it was. One written in place is removed when
// refused.
func (u *upload) finish(err error) error {
	err = finishTransferFile(u.file, true, err)
	if err == nil {
		err = u.runCheck()
	}

	if u.temp == "" {
		u.removeRefused(err)

		return err
	}

	if err == nil {
		renameErr := u.fs.Rename(u.temp, u.target)
		if renameErr == nil {
			return nil
		}

		err = newDriverError("renaming "+u.temp+" to "+u.target, renameErr)
	}

	if removeErr := u.fs.Remove(u.temp); removeErr != nil {
		level.Warn(u.logger).Log("event", "upload_temp_left", "path", u.temp, "err", removeErr)
	}

	return err
}

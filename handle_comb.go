package ftpserver

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path"

	"github.com/go-kit/log/level"
)

// combTempPrefix starts the name of the file a COMB builds before it replaces its target.
const combTempPrefix = ".ftpkit-comb-"

var errCOMBArgs = errors.New("COMB takes a target and at least one part, each named once")

// combDisabled is the command table's disabledBy for COMB.
func combDisabled(s *Settings) bool {
	return !s.EnableCOMB
}

// handleCOMB joins uploaded parts: "COMB <target> <part> [<part>...]" appends the parts, in
// order, to the target (created if missing), then removes them, as GlobalSCAPE EFT defined it
// for multi-part uploads (CuteFTP, GoAnywhere). Names are quoted ("a b" "c") or, without
// spaces, bare; each is resolved like any path argument, from the working directory. The
// result is built in a temporary file beside the target and renamed over it, so a failure
// leaves the target as it was and keeps every part. The copy runs in the serve goroutine.
func (c *clientHandler) handleCOMB(param string) {
	target, parts, err := parseCOMBArgs(param)
	if err != nil {
		c.reply(StatusSyntaxErrorParameters, `Usage: COMB "target" "part1" "part2"...: `+err.Error())

		return
	}

	target, ok := c.pathParam(target)
	if !ok {
		return
	}

	for i, part := range parts {
		if parts[i], ok = c.pathParam(part); !ok {
			return
		}
	}

	if !distinctPaths(target, parts) {
		c.reply(StatusSyntaxErrorParameters, errCOMBArgs.Error())

		return
	}

	err = c.fileOperation(fileOp{kind: EventCombined, path: target}, func() (int64, error) {
		return c.combine(target, parts)
	})
	if err != nil {
		c.replyError(StatusActionNotTaken, "Cannot combine into "+target, err)

		return
	}

	c.reply(StatusFileOK, c.removeParts(parts))
}

// parseCOMBArgs returns the target and the parts of a COMB.
func parseCOMBArgs(param string) (string, []string, error) {
	args, err := splitQuotedArgs(param)
	if err != nil {
		return "", nil, err
	}

	if len(args) < 2 {
		return "", nil, errCOMBArgs
	}

	return args[0], args[1:], nil
}

// distinctPaths tells whether no part is the target or another part: either would append a
// file to itself and then remove it.
func distinctPaths(target string, parts []string) bool {
	seen := make(map[string]struct{}, len(parts)+1)
	seen[target] = struct{}{}

	for _, part := range parts {
		if _, dup := seen[part]; dup {
			return false
		}

		seen[part] = struct{}{}
	}

	return true
}

// combine writes the target's current content, if any, and then every part into a temporary
// file beside the target, and renames it over the target. It returns the bytes it wrote: the
// size of the new target.
func (c *clientHandler) combine(target string, parts []string) (int64, error) {
	fs := c.fs()

	for _, part := range parts {
		if err := checkRegular(fs, part); err != nil {
			return 0, err
		}
	}

	sources := parts

	targetInfo, err := fs.Stat(target)
	switch {
	case err == nil && !targetInfo.Mode().IsRegular():
		return 0, errNotRegularFile
	case err == nil:
		sources = append([]string{target}, parts...)
	case !errors.Is(err, os.ErrNotExist):
		return 0, err
	}

	var suffix [8]byte

	_, _ = rand.Read(suffix[:])
	temp := path.Join(path.Dir(target), combTempPrefix+hex.EncodeToString(suffix[:]))

	file, err := openTransferFile(c.extensions(), temp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0)
	if err != nil {
		return 0, err
	}

	if len(sources) > len(parts) {
		// The new file replaces the target: give it the target's permissions while it is still
		// empty, so a private target never shows its content to others. Drivers without modes
		// may refuse; the content matters more.
		if chmodErr := fs.Chmod(temp, targetInfo.Mode().Perm()); chmodErr != nil {
			level.Debug(c.logger).Log("event", "comb_mode_not_kept", "path", target, "err", chmodErr)
		}
	}

	// upload.finish flushes and closes the file, then renames it over the target, or removes
	// it after a failure.
	result := &upload{fs: fs, file: file, target: target, temp: temp, logger: c.logger}

	written, err := c.appendFiles(file, sources)

	return written, result.finish(err)
}

// checkRegular returns the Stat error of p, or errNotRegularFile when p is not a file.
func checkRegular(fs ClientDriver, p string) error {
	info, err := fs.Stat(p)
	if err == nil && !info.Mode().IsRegular() {
		return errNotRegularFile
	}

	return err
}

// appendFiles copies each source, in order, to the end of dst, and returns the bytes copied.
// Both ends are passed as they are, so io.Copy can let the kernel copy between two *os.File
// (copy_file_range).
func (c *clientHandler) appendFiles(dst FileTransfer, sources []string) (int64, error) {
	var written int64

	for _, source := range sources {
		src, err := openTransferFile(c.extensions(), source, os.O_RDONLY, 0)
		if err != nil {
			return written, err
		}

		n, err := io.Copy(unwrapFile(dst), unwrapFile(src))
		_ = src.Close()
		written += n

		if err != nil {
			return written, newFileAccessError("combining "+source, err)
		}
	}

	return written, nil
}

// removeParts removes the parts once the target holds them, each reported as a deletion, and
// returns the text of the 250 reply. A part that cannot be removed is named there, but COMB
// still succeeded: answering an error would invite the client to run it again and append the
// parts twice.
func (c *clientHandler) removeParts(parts []string) string {
	fs := c.fs()
	msg := "COMB succeeded!"

	for _, part := range parts {
		err := c.fileOperation(fileOp{kind: EventFileDeleted, path: part}, func() (int64, error) {
			return removeFile(fs, part)
		})
		if err != nil {
			level.Warn(c.logger).Log("event", "comb_part_left", "path", part, "err", err)
			msg += "; could not remove " + part + ": " + clientErrorText(err)
		}
	}

	return msg
}

package ftpserver

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// mdtmLayout is the time-val of RFC 3659 2.3, always in UTC.
const mdtmLayout = "20060102150405"

var errNegativeOffset = errors.New("negative offset")

// handleRETR sends a file, from the REST offset if one was given.
func (c *clientHandler) handleRETR(param string, row *commandDesc) {
	p, ok := c.pathParam(param)
	if !ok {
		return
	}

	offset := c.takeRestOffset()

	file, size, err := openDownload(c.extensions(), p, offset)
	if err != nil {
		c.replyError(StatusActionNotTaken, "Could not access file", err)

		return
	}

	ascii := c.asciiConversion()

	c.startTransfer(transferJob{
		command:   row.verb,
		path:      p,
		direction: row.direction,
		run: func(x *transferIO) error {
			var dst io.Writer = x.conn
			if ascii {
				dst = newASCIIWriter(x.conn)
			}

			return x.copy(dst, unwrapFile(file))
		},
		runAtOnce: func(x *transferIO) (bool, error) {
			if ascii || x.limit != nil {
				return false, nil
			}

			return x.zeroCopy.atOnce(x.conn, unwrapFile(file), x.counter, max(size-offset, 0))
		},
		finish: func(err error) error { return finishTransferFile(file, false, err) },
	})
}

// handleSTOR receives a file, replacing it, or from the REST offset on.
func (c *clientHandler) handleSTOR(param string, row *commandDesc) {
	c.store(row, param, false)
}

// handleAPPE receives a file and appends it (RFC 959 4.1.3).
func (c *clientHandler) handleAPPE(param string, row *commandDesc) {
	c.store(row, param, true)
}

// handleSTOU stores a file under a new unique name in the working directory and tells it in
// the 150 reply (RFC 1123 4.1.2.9: "150 FILE: name").
func (c *clientHandler) handleSTOU(param string, row *commandDesc) {
	var suffix [6]byte

	_, _ = rand.Read(suffix[:])

	base := "ftp-" + hex.EncodeToString(suffix[:])
	if param != "" {
		base = param + "." + hex.EncodeToString(suffix[:])
	}

	p, ok := c.pathParam(base)
	if !ok {
		return
	}

	c.storeAs(row, p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, "FILE: "+p[strings.LastIndexByte(p, '/')+1:])
}

// store opens the target of STOR or APPE. STOR after REST keeps the first offset bytes and
// overwrites from there (RFC 959 4.1.3 REST), so a broken upload can be resumed.
func (c *clientHandler) store(row *commandDesc, param string, appendMode bool) {
	p, ok := c.pathParam(param)
	if !ok {
		return
	}

	flags := os.O_WRONLY | os.O_CREATE

	switch {
	case appendMode:
		c.takeRestOffset() // APPE appends at the end whatever REST said
		flags |= os.O_APPEND
	case c.restOffset == 0:
		flags |= os.O_TRUNC
	}

	c.storeAs(row, p, flags, "")
}

// storeAs opens p with flags and receives the upload of the command of row into it.
func (c *clientHandler) storeAs(row *commandDesc, p string, flags int, opening string) {
	offset := c.takeRestOffset()
	check := c.uploadChecker()

	// A checked upload that creates or replaces its target (STOR, STOU) is received under a
	// temporary name too, so that only a file the check accepted appears under its name.
	atomic := row.replacesFile && c.settings.AtomicUploads ||
		check != nil && (row.replacesFile || row.verb == "STOU")

	upload, err := openUpload(c.extensions(), p, flags, offset, atomic, c.logger)
	if err != nil {
		c.replyError(StatusActionNotTaken, "Could not access file", err)

		return
	}

	upload.command, upload.check = row.verb, check
	ascii := c.asciiConversion()
	requireCloseNotify := closeNotifyRequired(c.settings)

	c.startTransfer(transferJob{
		command:   row.verb,
		path:      p,
		direction: row.direction,
		opening:   opening,
		run: func(x *transferIO) error {
			var src io.Reader = x.conn
			if ascii {
				src = newASCIIReader(x.conn)
			}

			err := x.copy(unwrapFile(upload.file), src)
			if err == nil && x.counter.Load() == 0 {
				// An empty upload writes once too, as ftpserverlib's does: a driver that refuses
				// every write refuses this one, and one that creates its object on the first
				// write creates it.
				_, err = upload.file.Write(nil)
			}

			if err == nil && requireCloseNotify {
				err = checkUploadEnd(x.conn, x.stall)
			}

			upload.size.Store(x.counter.Load())

			return err
		},
		finish: upload.finish,
	})
}

// uploadChecker is the logged-in driver's ClientDriverExtensionUploadCheck, nil without one.
func (c *clientHandler) uploadChecker() *uploadCheck {
	ext := c.extensions()
	if ext == nil {
		return nil
	}

	return ext.checkUpload
}

// takeRestOffset returns the REST offset and clears it: it applies to one transfer only.
func (c *clientHandler) takeRestOffset() int64 {
	offset := c.restOffset
	c.restOffset = 0

	return offset
}

// asciiConversion tells whether this transfer converts line ends.
func (c *clientHandler) asciiConversion() bool {
	return c.transferType == TransferTypeASCII && !c.settings.DisableASCIIConversion
}

// handleREST records the offset of the next RETR or STOR (RFC 3659 5).
func (c *clientHandler) handleREST(param string) {
	offset, err := strconv.ParseInt(param, 10, 64)
	if err == nil && offset < 0 {
		err = errNegativeOffset
	}

	if err != nil {
		c.reply(StatusActionNotTaken, "Couldn't parse size: "+oneLine(err.Error()))

		return
	}

	// RFC 3659 5.5: in ASCII the marker counts the converted stream, which a file offset is
	// not; a client resumes such a transfer in TYPE I.
	if c.asciiConversion() {
		c.reply(StatusSyntaxErrorParameters, "Resuming transfers not allowed in ASCII mode")

		return
	}

	c.restOffset = offset
	c.reply(StatusFileActionPending, "Restarting at "+param+", send STOR or RETR")
}

// handleALLO reserves space through the driver's extension; without it ALLO is superfluous
// (RFC 959 4.1.3: 202).
func (c *clientHandler) handleALLO(param string) {
	sizeText, _, _ := strings.Cut(param, " ") // "ALLO n [R m]": the record size is irrelevant here

	size, err := strconv.Atoi(sizeText)
	if err != nil || size < 0 {
		c.reply(StatusSyntaxErrorParameters, "ALLO takes a size in bytes")

		return
	}

	allocate := c.extensions().allocate
	if allocate == nil {
		c.reply(StatusNotImplemented, "ALLO not needed")

		return
	}

	if err := allocate(size); err != nil {
		c.replyError(StatusActionNotTaken, "Cannot allocate space", err)

		return
	}

	c.reply(StatusOK, "Space allocated")
}

// handleDELE removes a file; directories are RMD's.
func (c *clientHandler) handleDELE(param string) {
	p, ok := c.pathParam(param)
	if !ok {
		return
	}

	err := c.fileOperation(fileOp{kind: EventFileDeleted, path: p}, func() (int64, error) {
		return removeFile(c.fs(), p)
	})
	if err != nil {
		c.replyError(StatusActionNotTaken, "Couldn't delete "+p, err)

		return
	}

	c.reply(StatusFileOK, "Removed file "+p)
}

// removeFile removes the file p, refusing a directory, and returns the size it had.
func removeFile(fs ClientDriver, p string) (int64, error) {
	info, err := lstat(fs, p)
	if err != nil {
		return 0, err
	}

	if info.IsDir() {
		return 0, errIsDirectory
	}

	return info.Size(), fs.Remove(p)
}

// handleRNFR remembers the source of a rename, which must exist.
func (c *clientHandler) handleRNFR(param string) {
	p, ok := c.pathParam(param)
	if !ok {
		return
	}

	start := time.Now()

	if _, err := lstat(c.fs(), p); err != nil {
		// The rename this starts cannot happen: report it, failed, as the rename it was.
		c.reportFileOp(fileOp{kind: EventRenamed, path: p}, start, 0, err)
		c.replyError(StatusActionNotTaken, "Couldn't access "+p, err)

		return
	}

	c.renameFrom = p
	c.reply(StatusFileActionPending, "Sure, give me a target")
}

// handleRNTO completes a rename; it must follow RNFR immediately.
func (c *clientHandler) handleRNTO(param string) {
	from := c.renameFrom
	c.renameFrom = ""

	if from == "" {
		c.reply(StatusBadCommandSequence, "Send RNFR first")

		return
	}

	to, ok := c.pathParam(param)
	if !ok {
		return
	}

	err := c.fileOperation(fileOp{kind: EventRenamed, path: from, target: to}, noBytes(func() error {
		return c.fs().Rename(from, to)
	}))
	if err != nil {
		c.replyError(StatusActionNotTaken, "Couldn't rename "+from+" to "+to, err)

		return
	}

	c.reply(StatusFileOK, "Done !")
}

// handleSIZE answers the size in bytes of a file (RFC 3659 4). It is the stored size whatever
// the TYPE, as most servers answer.
func (c *clientHandler) handleSIZE(param string) {
	// RFC 3659 4: the size is that of the transfer, which in ASCII means converting the whole
	// file; 550 here does not tell the client that the file cannot be sent.
	if c.asciiConversion() {
		c.reply(StatusActionNotTaken, "SIZE not allowed in ASCII mode")

		return
	}

	info, ok := c.statFile(param)
	if !ok {
		return
	}

	c.reply(StatusFileStatus, strconv.FormatInt(info.Size(), 10))
}

// handleMDTM answers the modification time of a file in UTC (RFC 3659 3).
func (c *clientHandler) handleMDTM(param string) {
	info, ok := c.statFile(param)
	if !ok {
		return
	}

	c.reply(StatusFileStatus, info.ModTime().UTC().Format(mdtmLayout))
}

// statFile stats a regular file for SIZE and MDTM, replying 550 for anything else.
func (c *clientHandler) statFile(param string) (os.FileInfo, bool) {
	p, ok := c.pathParam(param)
	if !ok {
		return nil, false
	}

	info, err := c.fs().Stat(p)

	switch {
	case err != nil:
		c.replyError(StatusActionNotTaken, "Couldn't access "+p, err)

		return nil, false
	case info.IsDir():
		c.reply(StatusActionNotTaken, p+" is a directory")

		return nil, false
	}

	return info, true
}

// handleMFMT sets a file's modification time (draft-somers-ftp-mfxx): "MFMT time path",
// answered with "213 Modify=time; path".
func (c *clientHandler) handleMFMT(param string) {
	timeText, name, found := strings.Cut(param, " ")
	if !found {
		c.reply(StatusSyntaxErrorNotRecognised, "Couldn't set mtime, not enough params, given: "+oneLine(param))

		return
	}

	mtime, err := time.ParseInLocation(mdtmLayout, timeText, time.UTC)
	if err != nil || name == "" {
		c.reply(StatusSyntaxErrorParameters, "Usage: MFMT YYYYMMDDHHMMSS path")

		return
	}

	p, ok := c.pathParam(name)
	if !ok {
		return
	}

	err = c.fileOperation(fileOp{kind: EventTimeChanged, path: p}, noBytes(func() error {
		return c.fs().Chtimes(p, mtime, mtime)
	}))
	if err != nil {
		c.replyError(StatusActionNotTaken, "Cannot set time of "+p, err)

		return
	}

	// draft-somers-ftp-mfxx 3.1: the reply names the file as the command did.
	c.reply(StatusFileStatus, fmt.Sprintf("Modify=%s; %s", timeText, name))
}

package ftpserver

import (
	"errors"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/afero"
)

var errDirectoryNotEmpty = errors.New("directory not empty")

func (c *clientHandler) handleCWD(param string) {
	c.changeDir(param, "CD")
}

func (c *clientHandler) handleCDUP(string) {
	c.changeDir("..", "CDUP")
}

// changeDir moves the working directory for CWD and CDUP; verb names the command in the reply.
func (c *clientHandler) changeDir(param, verb string) {
	p, ok := c.pathParam(param)
	if !ok {
		return
	}

	info, err := c.fs().Stat(p)

	switch {
	case err != nil:
		c.replyError(StatusActionNotTaken, verb+" issue", err)
	case !info.IsDir():
		c.reply(StatusActionNotTaken, "Can't change directory to "+p+": Not a Directory")
	default:
		c.SetPath(p)
		c.reply(StatusFileOK, verb+" worked on "+p)
	}
}

// handlePWD answers 257 with the quoted working directory (RFC 959 appendix II).
func (c *clientHandler) handlePWD(string) {
	c.reply(StatusPathCreated, quotePath(c.Path())+" is the current directory")
}

func (c *clientHandler) handleMKD(param string) {
	p, ok := c.pathParam(param)
	if !ok {
		return
	}

	err := c.fileOperation(fileOp{kind: EventDirCreated, path: p}, noBytes(func() error {
		return c.fs().Mkdir(p, 0o755)
	}))
	if err != nil {
		c.replyError(StatusActionNotTaken, "Could not create "+quotePath(p)+" ", err)

		return
	}

	c.reply(StatusPathCreated, quotePath(p)+" created")
}

// handleRMD removes a directory: through RemoveDir when the driver has it, else through
// Remove after checking that the path is a directory (DELE is for files).
func (c *clientHandler) handleRMD(param string) {
	p, ok := c.pathParam(param)
	if !ok {
		return
	}

	if p == "/" {
		c.reply(StatusActionNotTaken, "Cannot remove the root directory")

		return
	}

	err := c.fileOperation(fileOp{kind: EventDirRemoved, path: p}, noBytes(func() error {
		ext := c.extensions()
		if ext.removeDir != nil {
			return ext.removeDir(p)
		}

		return removeEmptyDir(ext.driver, p)
	}))
	if err != nil {
		c.replyError(StatusActionNotTaken, "Could not delete dir "+p, err)

		return
	}

	c.reply(StatusFileOK, "Deleted dir "+p)
}

// removeEmptyDir removes the directory p with Remove, after checking that it is one and that it
// is empty: os.Remove refuses a non-empty directory, but afero's MemMapFs would drop it and leave
// its contents behind, unlisted but still reachable by path.
func removeEmptyDir(fs ClientDriver, p string) error {
	info, err := fs.Stat(p)
	if err != nil {
		return err
	}

	if !info.IsDir() {
		return errNotADirectory
	}

	dir, err := fs.Open(p)
	if err != nil {
		return err
	}

	names, err := dir.Readdirnames(1) // one name is enough to refuse, whatever the size
	_ = dir.Close()

	switch {
	case len(names) > 0:
		return errDirectoryNotEmpty
	case err != nil && !errors.Is(err, io.EOF):
		return err
	}

	return fs.Remove(p)
}

// listFormat writes one entry of a listing into buf.
type listFormat func(buf []byte, info os.FileInfo, now time.Time) []byte

func (c *clientHandler) handleLIST(param string, row *commandDesc) {
	c.list(row, param, func(string, listTarget) listFormat { return appendLISTLine })
}

// handleNLST lists names only. With a path argument each name is given relative to the working
// directory (RFC 959 4.1.3: the list is for programs, which use the names in later commands), as
// ftpserverlib gives them.
//
// The matches of a wildcard are named as a shell's glob names them instead: the pattern's
// directory part exactly as the client wrote it, then the name ("NLST /dir/*.txt" gives
// "/dir/a.txt", "NLST ./*.log" gives "./c.log"). Clients that expand a remote pattern with NLST
// rely on it: ncftp keeps only the names that start with the pattern's text up to its first
// wildcard, or that hold no '/', and drops every other one, so names made relative to the working
// directory ("dir/a.txt" for "/dir/*.txt") would leave its mget and "ncftpget -R" with nothing to
// fetch. Every name so given resolves, from the same working directory, to the match it names.
func (c *clientHandler) handleNLST(param string, row *commandDesc) {
	c.list(row, param, func(arg string, t listTarget) listFormat {
		if t.info == nil {
			prefix := patternDir(arg)

			return func(buf []byte, info os.FileInfo, _ time.Time) []byte {
				return appendNLSTLine(buf, prefix+info.Name())
			}
		}

		prefix := ""

		if arg != "" {
			dir := t.path
			if !t.info.IsDir() {
				dir = path.Dir(dir)
			}

			prefix = relativePath(c.Path(), dir)
		}

		return func(buf []byte, info os.FileInfo, _ time.Time) []byte {
			return appendNLSTLine(buf, path.Join(prefix, info.Name()))
		}
	})
}

// handleMLSD lists a directory in the machine-readable format of RFC 3659 7. It takes no
// options and only a directory (7.2: 501 otherwise). The listing starts with the directory
// itself, type=cdir (7.5.1), named "." as ProFTPD and Pure-FTPd name it: clients that walk trees
// (jlaffaye/ftp's Walk among them) skip "." but would descend into an entry carrying the
// directory's own name, which the RFC's example in 7.7.3 also shows.
func (c *clientHandler) handleMLSD(param string, row *commandDesc) {
	facts, readOnly := c.mlstFacts, c.readOnly()

	// MLSD names a directory, never a pattern.
	target, ok := c.resolveListing(param, false, true, func(err error) {
		c.replyError(StatusActionNotTaken, "Could not list", err)
	})
	if !ok {
		return
	}

	c.startListing(target, listing{
		row:        row,
		showHidden: true,
		dirOnly:    true,
		format: func(buf []byte, info os.FileInfo, _ time.Time) []byte {
			return appendMLSxEntry(buf, info, info.Name(), "", facts, readOnly)
		},
		self: func(buf []byte, info os.FileInfo, _ time.Time) []byte {
			return appendMLSxEntry(buf, info, ".", "cdir", facts, readOnly)
		},
	})
}

// listing says how a listing command writes its entries.
type listing struct {
	row        *commandDesc // the listing command's table row
	showHidden bool         // names starting with a dot are listed too
	dirOnly    bool         // a file argument is refused with 501 (MLSD)
	format     listFormat   // one entry of the directory, or the file listed
	self       listFormat   // when set, the listed directory itself, written first (MLSD's cdir)
}

// list starts a LIST or NLST, with ls-style options unless DisableLISTArgs; formatFor gives
// the entry format for the path argument left once the options are taken out, and what it
// resolved to.
func (c *clientHandler) list(row *commandDesc, param string, formatFor func(arg string, t listTarget) listFormat) {
	showHidden := true

	if !c.settings.DisableLISTArgs {
		var flags string

		flags, param = parseLISTArgs(param)
		// As ls does, names starting with a dot are listed only with -a or -A.
		showHidden = strings.ContainsAny(flags, "aA")
	}

	target, ok := c.resolveListing(param, true, showHidden, func(err error) {
		// RFC 959 5.4 gives LIST and NLST 450 for a path they cannot list, not 550.
		c.reply(StatusFileActionNotTaken, "Could not list: "+clientErrorText(err))
	})
	if !ok {
		return
	}

	c.startListing(target, listing{row: row, showHidden: showHidden, format: formatFor(param, target)})
}

// listTarget is what the argument of a listing command resolved to.
type listTarget struct {
	path    string        // the cleaned argument, or the listed directory when there is none
	info    os.FileInfo   // path's Stat; nil when path is a wildcard pattern
	matches []os.FileInfo // the pattern's matches, sorted by name; never empty
}

// resolveListing resolves the argument of LIST, NLST, MLSD or STAT: the working directory (or
// SetListPath's) without one, else the path. A path that does not exist but whose last element
// holds a wildcard is expanded when wildcards is set; a name that exists is always taken
// literally, so a file really named "a*b" lists as itself. fail answers a path that cannot be
// listed; ok is false when a reply was sent.
//
// A pattern that matches nothing is answered by fail, as a missing path is, rather than with
// vsftpd's 226 and an empty listing: tnftp's and ncftp's mget skip that one pattern and go on
// with the next (ncftp shows the reply; tnftp shows only 5xx replies while it expands a pattern),
// while a client library or a script that sees 226 cannot tell a mistyped pattern from an empty
// match.
func (c *clientHandler) resolveListing(param string, wildcards, showHidden bool, fail func(error)) (listTarget, bool) {
	p := c.listDir()
	if param != "" {
		var ok bool
		if p, ok = c.pathParam(param); !ok {
			return listTarget{}, false
		}
	}

	ext := c.extensions()

	info, err := ext.driver.Stat(p)
	if err != nil && wildcards && errors.Is(err, os.ErrNotExist) && hasWildcard(path.Base(p)) {
		var matches []os.FileInfo
		if matches, err = expandWildcard(ext, p, showHidden, c.settings); err == nil {
			return listTarget{path: p, matches: matches}, true
		}

		if refusedPattern(err) {
			// A malformed pattern (501), or one beyond the limits (550), is the client's to
			// change: it is not answered as a path that cannot be listed.
			c.replyError(StatusActionNotTaken, "Cannot list "+p, err)

			return listTarget{}, false
		}
	}

	if err != nil {
		fail(err)

		return listTarget{}, false
	}

	return listTarget{path: p, info: info}, true
}

// startListing streams the entries of a resolved target to the data connection as they are
// read. A file is listed as itself, except by MLSD; a pattern's matches are listed as entries
// of their directory.
func (c *clientHandler) startListing(t listTarget, l listing) {
	info, ext := t.info, c.extensions()

	if l.dirOnly && !info.IsDir() {
		c.reply(StatusSyntaxErrorParameters, t.path+" is not a directory")

		return
	}

	c.startTransfer(transferJob{
		command:   l.row.verb,
		path:      t.path,
		direction: l.row.direction,
		run: func(x *transferIO) error {
			w := c.shared.buffers.listingWriter(&countingWriter{w: x.conn, n: x.counter})
			defer c.shared.buffers.putListingWriter(w)
			buf := make([]byte, 0, 256)

			var err error

			switch {
			case info == nil:
				// The matcher has applied the hidden-name rule already.
				buf, err = writeEntries(w, buf, t.matches, l.format, true)
			case !info.IsDir():
				buf, err = writeEntries(w, buf, []os.FileInfo{info}, l.format, true)
			case l.self != nil:
				buf, err = writeEntries(w, buf, []os.FileInfo{info}, l.self, true)
			}

			if err == nil && info != nil && info.IsDir() {
				err = forEachBatch(ext, t.path, func(batch []os.FileInfo) error {
					if ctxErr := x.ctx.Err(); ctxErr != nil {
						// Aborted: the driver need not read the rest of the directory.
						return errors.Join(errTransferAborted, ctxErr)
					}

					buf, err = writeEntries(w, buf, batch, l.format, l.showHidden)

					return err
				})
			}

			if err != nil {
				return err
			}

			return w.Flush()
		},
		finish: func(err error) error { return err },
	})
}

// writeEntries formats a batch of entries, one at a time through buf, into w; it returns buf
// for reuse by the next batch.
func writeEntries(w io.Writer, buf []byte, entries []os.FileInfo, format listFormat, showHidden bool) ([]byte, error) {
	now := time.Now()

	for _, info := range entries {
		if !showHidden && strings.HasPrefix(info.Name(), ".") {
			continue
		}

		buf = format(buf[:0], info, now)
		if _, err := w.Write(buf); err != nil {
			return buf, err //nolint:wrapcheck // a data connection error, classified by the caller
		}
	}

	return buf, nil
}

// listDir is the directory listed when no path is given.
func (c *clientHandler) listDir() string {
	c.mu.Lock()
	defer c.mu.Unlock()

	if c.listPath != "" {
		return c.listPath
	}

	return c.path
}

// readOnly tells whether the session may change no file, for the MLST perm fact: its user's
// SessionSettings say so, or its file system refuses every change.
func (c *clientHandler) readOnly() bool {
	if c.sessionPolicy().readOnly {
		return true
	}

	_, ro := c.fs().(*afero.ReadOnlyFs)

	return ro
}

// handleMLST describes one path over the control connection (RFC 3659 7.2): the entry line
// starts with a space and names the path as the client gave it (7.3), or in full when no path
// was given.
func (c *clientHandler) handleMLST(param string) {
	p, ok := c.pathParam(param)
	if !ok {
		return
	}

	info, err := c.fs().Stat(p)
	if err != nil {
		c.replyError(StatusActionNotTaken, "Could not list", err)

		return
	}

	name := param
	if name == "" {
		name = p
	}

	entry := appendMLSxEntry(nil, info, name, "", c.mlstFacts, c.readOnly())

	m := c.startMultiline(StatusFileOK, "File details")
	m.line(strings.TrimRight(string(entry), "\r\n"))
	m.end("End")
}

// statPath lists a path over the control connection for STAT (RFC 959 4.1.3), and expands a
// wildcard as LIST without options does, as vsftpd's and ProFTPD's STAT do. A directory's
// entries are read a batch at a time, outside any lock, and the reply is sent in parts as it
// grows, as LIST streams: its memory does not grow with the directory. A driver error after the
// first entries is told on a line of its own, before the usual last line.
func (c *clientHandler) statPath(param string) {
	t, ok := c.resolveListing(param, true, false, func(err error) {
		// RFC 959 5.4 lists 450, not 550, among STAT's replies.
		c.reply(StatusFileActionNotTaken, "Could not STAT: "+clientErrorText(err))
	})
	if !ok {
		return
	}

	if t.info != nil && !t.info.IsDir() {
		// RFC 959 4.2.1: 213 is the status of a file, 212 that of a directory.
		m := c.startMultiline(StatusFileStatus, "STAT "+param)
		defer m.end("End")

		_ = statLines(m)([]os.FileInfo{t.info})

		return
	}

	if t.info == nil {
		m := c.startMultiline(StatusDirectoryStatus, "STAT "+param)
		defer m.end("End")

		_ = statLines(m)(t.matches)

		return
	}

	entries, err := openDirEntries(c.extensions(), t.path)
	if err != nil {
		c.reply(StatusFileActionNotTaken, "Could not list: "+clientErrorText(err))

		return
	}

	defer entries.close()

	m := c.startMultiline(StatusDirectoryStatus, "STAT "+param)
	listed := false

	// Deferred so that the reply ends, and the replies held meanwhile go out, even when the
	// driver panics in the middle; the session then ends with its 421.
	defer func() {
		if !listed && m.failed() == nil {
			m.line("Listing failed: internal error")
		}

		m.end("End")
	}()

	err = entries.each(statLines(m))
	listed = true

	if err != nil && m.failed() == nil {
		m.line("Listing failed: " + clientErrorText(err))
	}
}

// statLines adds the LIST line of each entry to a STAT reply; it stops the walk once the reply
// cannot be sent.
func statLines(m *multilineReply) func([]os.FileInfo) error {
	now := time.Now()
	buf := make([]byte, 0, 256)

	return func(entries []os.FileInfo) error {
		for _, entry := range entries {
			buf = appendLISTLine(buf[:0], entry, now)
			m.lineBytes(buf)
		}

		return m.failed()
	}
}

// countingWriter counts what a listing writes, for STAT and the transfer log. Listings are
// buffered already, so the wrapper costs nothing on the copy path.
type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (cw *countingWriter) Write(p []byte) (int, error) {
	n, err := cw.w.Write(p)
	cw.n.Add(int64(n))

	return n, err //nolint:wrapcheck // transparent wrapper
}

// handleAVBL answers the bytes the user may still store in a directory (the working one by
// default), through the driver's extension (draft-peterson-streamlined-ftp-command-extensions).
func (c *clientHandler) handleAVBL(param string) {
	availableSpace := c.extensions().availableSpace // the dispatcher checked the extension

	p, ok := c.pathParam(param)
	if !ok {
		return
	}

	info, err := c.fs().Stat(p)
	if err != nil {
		c.replyError(StatusActionNotTaken, "Couldn't access "+p, err)

		return
	}

	if !info.IsDir() {
		c.reply(StatusActionNotTaken, p+": is not a directory")

		return
	}

	available, err := availableSpace(p)
	if err != nil {
		c.replyError(StatusActionNotTaken, "Couldn't get space for path "+p, err)

		return
	}

	c.reply(StatusFileStatus, strconv.FormatInt(available, 10))
}

// hasAvailableSpace is AVBL's extension rule: the driver answers for the free space.
func hasAvailableSpace(hooks *clientHooks) bool {
	return hooks.availableSpace != nil
}

package ftpserver

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/afero"
)

// listingRecentPast is how old a modification time may be and still be shown with the time of
// day rather than the year in a LIST line: half an average Gregorian year, as ls(1) does.
const listingRecentPast = 15778476 * time.Second

// listingRecentFuture tolerates clock skew between the server and the storage behind the driver:
// a file modified up to this far in the future still shows its time of day. Further in the future
// it shows its year, as ls(1) does for any future time.
const listingRecentFuture = time.Hour

// listingSizeWidth is the minimum width of the right-aligned size column of a LIST line.
const listingSizeWidth = 12

// appendLISTLine appends the line LIST gives for fi, in the `ls -l` format most clients parse
// (RFC 959 leaves it free): mode, link count, owner, group, size, date, name, CRLF. now decides
// whether the date shows the time of day (modified within the last six months) or the year.
// Times are shown in UTC.
func appendLISTLine(buf []byte, fi os.FileInfo, now time.Time) []byte {
	buf = appendLSMode(buf, fi.Mode())
	buf = append(buf, " 1 ftp ftp "...)

	var digits [20]byte
	size := strconv.AppendInt(digits[:0], fi.Size(), 10)
	for i := len(size); i < listingSizeWidth; i++ {
		buf = append(buf, ' ')
	}
	buf = append(buf, size...)
	buf = append(buf, ' ')

	mtime := fi.ModTime()
	recent := mtime.After(now.Add(-listingRecentPast)) && !mtime.After(now.Add(listingRecentFuture))
	buf = appendLSTime(buf, mtime.UTC(), recent)

	buf = append(buf, ' ')
	buf = append(buf, fi.Name()...)

	return append(buf, '\r', '\n')
}

// appendLSTime appends t as ls(1) does: "Jan _2 15:04" when recent, else "Jan _2  2006". It
// writes what time.Time.AppendFormat writes with those layouts, without parsing the layout
// again for every entry of a listing: that took a tenth of the CPU time of a LIST. Years
// outside 0 to 9999 are left to AppendFormat.
func appendLSTime(buf []byte, t time.Time, recent bool) []byte {
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		layout := "Jan _2  2006"
		if recent {
			layout = "Jan _2 15:04"
		}

		return t.AppendFormat(buf, layout)
	}

	buf = append(buf, month.String()[:3]...)
	buf = append(buf, ' ')

	if day < 10 {
		buf = append(buf, ' ')
	}

	buf = strconv.AppendInt(buf, int64(day), 10)
	buf = append(buf, ' ')

	if !recent {
		return appendDigits(append(buf, ' '), year, 4)
	}

	hour, minute, _ := t.Clock()

	return appendDigits(append(appendDigits(buf, hour, 2), ':'), minute, 2)
}

// appendTimeVal appends t as the time-val of RFC 3659 2.3, YYYYMMDDHHMMSS, as AppendFormat's
// "20060102150405" does; years outside 0 to 9999 are left to AppendFormat.
func appendTimeVal(buf []byte, t time.Time) []byte {
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(buf, "20060102150405")
	}

	hour, minute, second := t.Clock()

	buf = appendDigits(buf, year, 4)
	buf = appendDigits(buf, int(month), 2)
	buf = appendDigits(buf, day, 2)
	buf = appendDigits(buf, hour, 2)
	buf = appendDigits(buf, minute, 2)

	return appendDigits(buf, second, 2)
}

// appendDigits appends n, which is not negative and has at most width digits, zero-padded to
// width digits.
func appendDigits(buf []byte, n, width int) []byte {
	var digits [4]byte

	for i := width - 1; i >= 0; i-- {
		digits[i] = byte('0' + n%10)
		n /= 10
	}

	return append(buf, digits[:width]...)
}

// appendLSMode appends the ten-character mode of ls(1), like "drwxr-xr-x". fs.FileMode.String
// is close but allocates, writes 'L' for symlinks and 'D' for devices, and shows setuid, setgid
// and sticky as prefix letters instead of in the execute columns.
func appendLSMode(buf []byte, mode fs.FileMode) []byte {
	var typ byte
	switch {
	case mode&fs.ModeDir != 0:
		typ = 'd'
	case mode&fs.ModeSymlink != 0:
		typ = 'l'
	case mode&fs.ModeNamedPipe != 0:
		typ = 'p'
	case mode&fs.ModeSocket != 0:
		typ = 's'
	case mode&fs.ModeCharDevice != 0:
		typ = 'c'
	case mode&fs.ModeDevice != 0:
		typ = 'b'
	case mode&fs.ModeIrregular != 0:
		typ = '?'
	default:
		typ = '-'
	}
	buf = append(buf, typ)

	const rwx = "rwxrwxrwx"
	start := len(buf)
	for i := range 9 {
		if mode&(1<<(8-i)) != 0 {
			buf = append(buf, rwx[i])
		} else {
			buf = append(buf, '-')
		}
	}

	// ls(1) shows the special bits in the execute column: lower case when execute is also set.
	specials := [...]struct {
		flag   fs.FileMode
		column int
		letter byte
	}{
		{fs.ModeSetuid, 2, 's'},
		{fs.ModeSetgid, 5, 's'},
		{fs.ModeSticky, 8, 't'},
	}
	for _, s := range specials {
		if mode&s.flag == 0 {
			continue
		}
		if buf[start+s.column] == 'x' {
			buf[start+s.column] = s.letter
		} else {
			buf[start+s.column] = s.letter - 'a' + 'A'
		}
	}

	return buf
}

// appendNLSTLine appends the line NLST gives for a file: its name and CRLF (RFC 959 4.1.3).
func appendNLSTLine(buf []byte, name string) []byte {
	buf = append(buf, name...)

	return append(buf, '\r', '\n')
}

// mlstFacts is a set of the RFC 3659 facts MLST and MLSD show; a client picks it with OPTS MLST.
type mlstFacts uint8

// The facts this server knows: those of RFC 3659 7.5 a client can use, and the OS-specific
// facts (RFC 3659 7.1 form "os.name") UNIX.mode, UNIX.owner and UNIX.group that common servers
// and clients share. The create fact (7.5.4) is left out: Go's FileInfo has no creation time,
// and the platforms that keep one do not agree on where.
const (
	factType mlstFacts = 1 << iota
	factSize
	factModify
	factPerm
	factUnique
	factUnixMode
	factUnixOwner
	factUnixGroup
)

// defaultMLSTFacts is the set a session starts with: the facts of RFC 3659 7.5. The UNIX.*
// facts wait for OPTS MLST (7.9), which clients that show them (lftp, FileZilla) send when FEAT
// lists them unselected; clients written for ftpserverlib, which has none, parse fact names as
// words and would misread "UNIX.mode".
const defaultMLSTFacts = factType | factSize | factModify | factPerm | factUnique

// allMLSTFacts is every fact the server knows.
const allMLSTFacts = defaultMLSTFacts | factUnixMode | factUnixOwner | factUnixGroup

// mlstFactNames gives each fact's name, in the canonical order used by FEAT and OPTS MLST.
var mlstFactNames = [...]struct {
	fact mlstFacts
	name string
}{
	{factType, "type"},
	{factSize, "size"},
	{factModify, "modify"},
	{factPerm, "perm"},
	{factUnique, "unique"},
	{factUnixMode, "UNIX.mode"},
	{factUnixOwner, "UNIX.owner"},
	{factUnixGroup, "UNIX.group"},
}

// parseMLSTFacts parses the fact list of "OPTS MLST type;size;" (the caller strips "MLST").
// RFC 3659 7.9: names are case-insensitive, names the server does not know are ignored, and an
// empty list selects no facts at all.
func parseMLSTFacts(opt string) mlstFacts {
	var facts mlstFacts
	for rest := opt; rest != ""; {
		var name string
		name, rest, _ = strings.Cut(rest, ";")
		name = strings.TrimSpace(name)
		for _, f := range mlstFactNames {
			if strings.EqualFold(name, f.name) {
				facts |= f.fact
			}
		}
	}

	return facts
}

// String lists the facts as "type;size;", in canonical order: the text of the OPTS MLST reply
// (RFC 3659 7.9). The empty set gives "".
func (f mlstFacts) String() string {
	buf := make([]byte, 0, len("type;size;modify;perm;unique;UNIX.mode;UNIX.owner;UNIX.group;"))
	for _, fn := range mlstFactNames {
		if f&fn.fact != 0 {
			buf = append(buf, fn.name...)
			buf = append(buf, ';')
		}
	}

	return string(buf)
}

// featLine is the FEAT line announcing MLST: every known fact, with '*' after those currently
// selected (RFC 3659 7.8).
func (f mlstFacts) featLine() string {
	buf := append(make([]byte, 0, len("MLST type*;size*;modify*;perm*;unique*;UNIX.mode*;UNIX.owner*;UNIX.group*;")),
		"MLST "...)
	for _, fn := range mlstFactNames {
		buf = append(buf, fn.name...)
		if f&fn.fact != 0 {
			buf = append(buf, '*')
		}
		buf = append(buf, ';')
	}

	return string(buf)
}

// appendMLSxEntry appends the entry MLSD gives for fi: the selected facts, one space, name and
// CRLF (RFC 3659 7.2). MLST sends the same text on the control connection after a leading space,
// which its caller adds. kind, when not empty, is the type fact ("cdir", "pdir": RFC 3659 7.5.1);
// otherwise it is "dir" or "file". The size fact is given for files only: RFC 3659 7.5.7 defines
// it for non-directory types, and a directory's size means nothing to a client. The perm fact
// (RFC 3659 7.5.5) offers writing actions only when readOnly is false.
func appendMLSxEntry(buf []byte, fi os.FileInfo, name, kind string, facts mlstFacts, readOnly bool) []byte {
	isDir := fi.IsDir()

	if facts&factType != 0 {
		if kind == "" {
			kind = "file"
			if isDir {
				kind = "dir"
			}
		}
		buf = append(buf, "type="...)
		buf = append(buf, kind...)
		buf = append(buf, ';')
	}

	if facts&factSize != 0 && !isDir {
		buf = append(buf, "size="...)
		buf = strconv.AppendInt(buf, fi.Size(), 10)
		buf = append(buf, ';')
	}

	if facts&factModify != 0 {
		// RFC 3659 7.5.3 and 2.3: time-val is YYYYMMDDHHMMSS in UTC.
		buf = append(buf, "modify="...)
		buf = appendTimeVal(buf, fi.ModTime().UTC())
		buf = append(buf, ';')
	}

	if facts&factPerm != 0 {
		buf = append(buf, "perm="...)
		buf = appendMLSxPerm(buf, isDir, fi.Mode(), readOnly)
		buf = append(buf, ';')
	}

	buf = appendMLSxSystemFacts(buf, fi, facts)
	buf = append(buf, ' ')
	buf = append(buf, name...)

	return append(buf, '\r', '\n')
}

// appendMLSxSystemFacts appends the selected facts that come from the file system rather than
// from FileInfo's methods. unique (RFC 3659 7.5.2) is the device and inode in hexadecimal,
// "803U1a2b", as ProFTPD writes it; UNIX.owner and UNIX.group are the numeric uid and gid. These
// three need the system's stat data (fileIdentity) and are left out of entries that have none,
// such as those of an in-memory file system.
func appendMLSxSystemFacts(buf []byte, fi os.FileInfo, facts mlstFacts) []byte {
	var (
		id    fileID
		hasID bool
	)

	if facts&(factUnique|factUnixOwner|factUnixGroup) != 0 {
		id, hasID = fileIdentity(fi)
	}

	if facts&factUnique != 0 && hasID {
		buf = append(buf, "unique="...)
		buf = strconv.AppendUint(buf, id.device, 16)
		buf = append(buf, 'U')
		buf = strconv.AppendUint(buf, id.inode, 16)
		buf = append(buf, ';')
	}

	if facts&factUnixMode != 0 {
		// Always four octal digits with the leading 0, as in "0644".
		perm := fi.Mode().Perm()
		buf = append(buf, "UNIX.mode=0"...)
		buf = append(buf, byte('0'+perm>>6&7), byte('0'+perm>>3&7), byte('0'+perm&7), ';')
	}

	if facts&factUnixOwner != 0 && hasID {
		buf = append(buf, "UNIX.owner="...)
		buf = strconv.AppendUint(buf, uint64(id.uid), 10)
		buf = append(buf, ';')
	}

	if facts&factUnixGroup != 0 && hasID {
		buf = append(buf, "UNIX.group="...)
		buf = strconv.AppendUint(buf, uint64(id.gid), 10)
		buf = append(buf, ';')
	}

	return buf
}

// fileID is what the unique, UNIX.owner and UNIX.group facts show of a file.
type fileID struct {
	device, inode uint64
	uid, gid      uint32
}

// appendMLSxPerm appends the value of the perm fact (RFC 3659 7.5.5), letters in alphabetical
// order. Directories can be entered and listed (e, l) and, when writable, accept new files (c),
// deletion (d), renaming (f), new subdirectories (m) and deletion of their contents (p). Files
// can be read (r) when the owner's read bit is set: the driver acts as the file's owner. When
// writable they accept appending (a), deletion (d), renaming (f) and writing (w).
func appendMLSxPerm(buf []byte, isDir bool, mode fs.FileMode, readOnly bool) []byte {
	switch {
	case isDir && readOnly:
		return append(buf, "el"...)
	case isDir:
		return append(buf, "cdeflmp"...)
	}

	if !readOnly {
		buf = append(buf, "adf"...)
	}
	if mode&0o400 != 0 {
		buf = append(buf, 'r')
	}
	if !readOnly {
		buf = append(buf, 'w')
	}

	return buf
}

// listOptionLetters are the letters an ls-style option group of LIST or NLST may contain.
const listOptionLetters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ1"

// parseLISTArgs splits the argument of LIST or NLST into ls-style options and a path. Clients
// often send options like "-la" although RFC 959 defines only a path: every leading word that
// starts with '-' and has at least one more character, all letters or '1', is an option group;
// their letters are returned concatenated in flags. The rest, without surrounding spaces, is the
// path, which may contain spaces. A path that itself looks like an option group (a file named
// "-l") cannot be listed this way; "./-l" can.
func parseLISTArgs(param string) (flags, path string) {
	var options []byte
	rest := strings.TrimLeft(param, " ")
	for strings.HasPrefix(rest, "-") {
		word, after, _ := strings.Cut(rest, " ")
		letters := word[1:]
		if letters == "" || strings.Trim(letters, listOptionLetters) != "" {
			break
		}
		options = append(options, letters...)
		rest = strings.TrimLeft(after, " ")
	}

	return string(options), strings.TrimRight(rest, " ")
}

// listBatch is how many entries a listing reads from the driver at once: memory stays flat
// whatever the directory's size.
const listBatch = 1024

// errNotADirectory refuses to read the entries of a file.
var errNotADirectory = errors.New("not a directory")

// forEachBatch calls fn with the entries of dir, in the order the driver returns them, a batch
// at a time (ClientDriverExtensionFileList returns them all at once), without the temporary
// files of atomic uploads. fn may get an empty batch.
func forEachBatch(ext *clientHooks, dir string, fn func([]os.FileInfo) error) error {
	entries, err := openDirEntries(ext, dir)
	if err != nil {
		return err
	}

	defer entries.close()

	return entries.each(fn)
}

// dirEntries reads a directory: the driver's whole listing, or an open directory a batch at a
// time.
type dirEntries struct {
	dir    string
	listed []os.FileInfo // from ClientDriverExtensionFileList
	file   afero.File    // nil when listed is used
}

// openDirEntries starts reading dir, so that a directory that cannot be read is known before
// anything is sent.
func openDirEntries(ext *clientHooks, dir string) (*dirEntries, error) {
	if ext.readDir != nil {
		entries, err := ext.readDir(dir)
		if err != nil {
			return nil, newDriverError("listing "+dir, err)
		}

		return &dirEntries{dir: dir, listed: entries}, nil
	}

	f, err := ext.driver.Open(dir)
	if err != nil {
		return nil, newDriverError("opening "+dir, err)
	}

	return &dirEntries{dir: dir, file: f}, nil
}

// each calls fn with every batch of entries.
func (d *dirEntries) each(fn func([]os.FileInfo) error) error {
	if d.file == nil {
		return fn(withoutUploadTemps(d.listed))
	}

	for {
		entries, err := d.file.Readdir(listBatch)
		if len(entries) > 0 {
			if fnErr := fn(withoutUploadTemps(entries)); fnErr != nil {
				return fnErr
			}
		}

		switch {
		case errors.Is(err, io.EOF) || (err == nil && len(entries) == 0):
			return nil
		case err != nil:
			return newDriverError("reading "+d.dir, err)
		}
	}
}

func (d *dirEntries) close() {
	if d.file != nil {
		_ = d.file.Close()
	}
}

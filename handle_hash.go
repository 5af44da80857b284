package ftpserver

import (
	"crypto/md5"  //nolint:gosec // G501: MD5 is offered because clients ask for it, not for security
	"crypto/sha1" //nolint:gosec // G505: SHA-1 is the one algorithm the HASH draft requires (section 5)
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"strconv"
	"strings"
)

// HASH (draft-bryan-ftpext-hash-02), its byte ranges set by RANG (draft-bryan-ftp-range-08),
// and the older one-algorithm commands XCRC, XMD5, XSHA1, XSHA256 and XSHA512 that the draft
// lists in its appendix B. A digest is computed beside the session, as a transfer runs: the
// session answers NOOP, STAT and ABOR meanwhile, and queues other commands behind it.

// hashAlgos lists the algorithms in the order FEAT shows them, each with its name in the IANA
// "Hash Function Textual Names" registry (draft 3.1); CRC32 has none there and keeps the name
// the X* servers use. It is read-only.
var hashAlgos = [...]struct {
	algo HASHAlgo
	name string
	new  func() hash.Hash
}{
	{HASHAlgoSHA256, "SHA-256", sha256.New},
	{HASHAlgoSHA512, "SHA-512", sha512.New},
	{HASHAlgoSHA1, "SHA-1", sha1.New},
	{HASHAlgoMD5, "MD5", md5.New},
	{HASHAlgoCRC32, "CRC32", func() hash.Hash { return crc32.NewIEEE() }},
}

var (
	errBadRange        = errors.New("bad byte range")
	errMalformedDigest = errors.New("the driver returned a digest that is not hexadecimal")
)

// hashDisabled is the command table's disabledBy for HASH, RANG and the X* commands.
func hashDisabled(s *Settings) bool {
	return !s.EnableHASH
}

// hashCommand is the command table row of HASH, RANG and the X* commands: for logged-in users,
// with an argument, and turned off unless Settings.EnableHASH.
func hashCommand(handle func(*clientHandler, string), feat func(*clientHandler) string) *commandDesc {
	return &commandDesc{handle: handle, needsParam: true, disabledBy: hashDisabled, feat: feat}
}

// unquoteName takes the quotes off a name sent between double quotes, as clients quote a name
// with spaces, a doubled quote inside standing for one (RFC 959 appendix II's convention).
func unquoteName(param string) string {
	if len(param) < 2 || param[0] != '"' || param[len(param)-1] != '"' {
		return param
	}

	return strings.ReplaceAll(param[1:len(param)-1], `""`, `"`)
}

// hashName returns the name of algo as FEAT, OPTS HASH and the HASH reply write it.
func hashName(algo HASHAlgo) string {
	for _, a := range hashAlgos {
		if a.algo == algo {
			return a.name
		}
	}

	return ""
}

// errUnknownHashAlgo is returned by NewHash for a value that is not one of the HASHAlgo
// constants.
var errUnknownHashAlgo = errors.New("unknown hash algorithm")

// NewHash returns a hash.Hash computing algo, for drivers implementing
// ClientDriverExtensionHasher: its hex-encoded Sum is what HASH and the X* commands answer.
func NewHash(algo HASHAlgo) (hash.Hash, error) {
	for _, a := range hashAlgos {
		if a.algo == algo {
			return a.new(), nil
		}
	}

	return nil, fmt.Errorf("%w: %d", errUnknownHashAlgo, algo)
}

// parseHashName finds an algorithm by name; the draft (3.1) compares names case-insensitively.
func parseHashName(name string) (HASHAlgo, bool) {
	for _, a := range hashAlgos {
		if strings.EqualFold(name, a.name) {
			return a.algo, true
		}
	}

	return 0, false
}

// featHASH lists the algorithms with the current one starred (draft 3.1).
func (c *clientHandler) featHASH() string {
	names := make([]string, 0, len(hashAlgos))

	for _, a := range hashAlgos {
		if a.algo == c.hashAlgo {
			names = append(names, a.name+"*")
		} else {
			names = append(names, a.name)
		}
	}

	return "HASH " + strings.Join(names, ";")
}

// optsHASH answers OPTS HASH: without a value it names the current algorithm, with one it
// selects it for the rest of the session (draft 3.2: "200 <name>", 501 for an unknown one).
func (c *clientHandler) optsHASH(value string) {
	value = strings.TrimSpace(value)
	if value != "" {
		algo, ok := parseHashName(value)
		if !ok {
			c.reply(StatusSyntaxErrorParameters, "Unknown algorithm, current selection not changed")

			return
		}

		c.hashAlgo = algo
	}

	c.reply(StatusOK, hashName(c.hashAlgo))
}

// parseRANGArgs parses "start end" (draft-bryan-ftp-range-08 3). It returns nil for "1 0",
// which resets the range to the whole file, and errBadRange for anything but two decimal
// numbers with start <= end.
func parseRANGArgs(param string) (*byteRange, error) {
	fields := strings.Fields(param)
	if len(fields) != 2 {
		return nil, errBadRange
	}

	start, errStart := parseOffset(fields[0])
	last, errLast := parseOffset(fields[1])

	switch {
	case errStart != nil || errLast != nil:
		return nil, errBadRange
	case start == 1 && last == 0:
		return nil, nil
	case start > last:
		return nil, errBadRange
	}

	return &byteRange{start: start, last: last}, nil
}

// parseOffset parses a byte offset: decimal digits only (1*DIGIT in both drafts), so no sign.
func parseOffset(text string) (int64, error) {
	if text == "" || strings.Trim(text, "0123456789") != "" {
		return 0, errBadRange
	}

	offset, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return 0, errBadRange
	}

	return offset, nil
}

// handleRANG sets the byte range of the next HASH (draft-bryan-ftpext-hash-02 3.3) and answers
// 350 (draft-bryan-ftp-range-08 3). A bad range gets 501 and resets the range to the whole
// file, as that draft says. The range applies to HASH only: RETR and STOR do not honour it,
// which is why FEAT does not announce "RANG STREAM".
func (c *clientHandler) handleRANG(param string) {
	rng, err := parseRANGArgs(param)
	c.hashRange = rng

	switch {
	case err != nil:
		c.reply(StatusSyntaxErrorParameters, "Usage: RANG <start> <end>, start <= end; range reset to the whole file")
	case rng == nil:
		c.reply(StatusFileActionPending, "Range reset, HASH covers the whole file")
	default:
		c.reply(StatusFileActionPending, fmt.Sprintf("Range %d-%d set for the next HASH", rng.start, rng.last))
	}
}

// handleHASH answers the digest of a file, or of the range RANG set, with the algorithm OPTS
// HASH chose: "213 <algorithm> <start>-<end> <hex digest> <path>", end included and path as
// the client sent it (draft 3). A range applies to one HASH (draft-bryan-ftp-range-08 3: "the
// immediately-following transfer"); its end is cut to the file's last byte as RETR would
// (draft-bryan-ftp-range-08 4.3), and a start beyond the file gets 501. REST is left to the
// next transfer: the draft takes partial hashes from RANG only (3.3).
func (c *clientHandler) handleHASH(param string) {
	rng := c.hashRange
	c.hashRange = nil

	if param == "" {
		c.reply(StatusSyntaxErrorParameters, "invalid HASH parameters: ")

		return
	}

	param = unquoteName(param)

	p, ok := c.pathParam(param)
	if !ok {
		return
	}

	info, ok := c.hashedFile(p)
	if !ok {
		return
	}

	start, end := int64(0), info.Size() // end excluded
	if rng != nil {
		if rng.start >= info.Size() {
			c.reply(StatusSyntaxErrorParameters, fmt.Sprintf("Range starts beyond the end of %s (%d bytes)", p, end))

			return
		}

		start, end = rng.start, min(rng.last, end-1)+1
	}

	algo := c.hashAlgo

	c.startChecksum("HASH", p, algo, start, end, func(sum string) (int, string) {
		// The draft's end-point is the last byte hashed; an empty file, with none, shows 0-0.
		return StatusFileStatus, fmt.Sprintf("%s %d-%d %s %s", hashName(algo), start, max(end-1, start), sum, param)
	})
}

// checksumCommand is the command table row of an X* command, which hashes with one algorithm:
// "<verb> <path> [<start> [<end>]]", answered "250 <hex digest>" as GlobalSCAPE defined XCRC
// and ftpserverlib answers all of them. start is the first byte and end the byte to stop
// before. The verb is its FEAT line and names it in the usage reply (XSHA and XSHA1 share an
// algorithm).
func checksumCommand(verb string, algo HASHAlgo) *commandDesc {
	handle := func(c *clientHandler, param string) { c.checksum(verb, algo, param) }

	return hashCommand(handle, feat(verb))
}

// checksum runs the X* command verb with algo.
func (c *clientHandler) checksum(verb string, algo HASHAlgo, param string) {
	name, start, end, err := parseChecksumArgs(param)
	if err != nil {
		c.reply(StatusSyntaxErrorParameters, "Usage: "+verb+` <path> [<start> [<end>]], "quoted path"`)

		return
	}

	p, ok := c.pathParam(name)
	if !ok {
		return
	}

	info, ok := c.hashedFile(p)
	if !ok {
		return
	}

	if end < 0 || end > info.Size() {
		end = info.Size()
	}

	if start > end {
		c.reply(StatusSyntaxErrorParameters, fmt.Sprintf("Start offset %d is beyond the end, %d", start, end))

		return
	}

	c.startChecksum(verb, p, algo, start, end, func(sum string) (int, string) { return StatusFileOK, sum })
}

// parseChecksumArgs splits "<path> [<start> [<end>]]". A quoted path (as GlobalSCAPE's clients
// send it) ends at its closing quote; an unquoted one is everything before the trailing decimal
// numbers, so a name that itself ends with " <digits>" must be quoted. end is -1 when absent.
func parseChecksumArgs(param string) (string, int64, int64, error) {
	name, numbers := param, []string(nil)

	if strings.HasPrefix(param, `"`) {
		args, err := splitQuotedArgs(param)
		if err != nil || len(args) > 3 {
			return "", 0, 0, errBadRange
		}

		name, numbers = args[0], args[1:]
	} else {
		for range 2 {
			i := strings.LastIndexByte(name, ' ')
			if i <= 0 {
				break
			}

			if _, err := parseOffset(name[i+1:]); err != nil {
				break
			}

			numbers = append([]string{name[i+1:]}, numbers...)
			name = name[:i]
		}
	}

	start, end := int64(0), int64(-1)

	for i, text := range numbers {
		offset, err := parseOffset(text)
		if err != nil {
			return "", 0, 0, err
		}

		if i == 0 {
			start = offset
		} else {
			end = offset
		}
	}

	if end >= 0 && start > end {
		return "", 0, 0, errBadRange
	}

	return name, start, end, nil
}

// hashedFile stats the file HASH or an X* command names, replying 550 when it is missing and
// 553 when it is not a regular file (draft 3.5: the hash of a directory is not defined).
func (c *clientHandler) hashedFile(p string) (os.FileInfo, bool) {
	info, err := c.fs().Stat(p)
	if err == nil && !info.Mode().IsRegular() {
		err = errNotRegularFile
	}

	if err != nil {
		c.replyError(StatusActionNotTaken, "Cannot hash "+p, err)

		return nil, false
	}

	return info, true
}

// startChecksum computes the digest of p from start (included) to end (excluded) beside the
// session, as a transfer runs (dataChannel.startBeside), and sends answer(digest) once it is
// done, or the error. A range larger than Settings.MaxHashSize is refused with 550 at once.
func (c *clientHandler) startChecksum(command, p string, algo HASHAlgo, start, end int64,
	answer func(sum string) (int, string),
) {
	if limit := c.settings.MaxHashSize; limit > 0 && end-start > limit {
		c.reply(StatusActionNotTaken, fmt.Sprintf(
			"Cannot hash %s: %d bytes to read, more than this server's limit of %d", p, end-start, limit))

		return
	}

	ext := c.extensions()

	var sum string

	c.data.startBeside(transferJob{
		command: command,
		path:    p,
		failure: "Cannot hash " + p,
		run: func(x *transferIO) error {
			var err error

			sum, err = computeHash(x, ext, p, algo, start, end)

			return err
		},
		finish: func(err error) error { return err },
		result: func() (int, string) { return answer(sum) },
	}, c.user)
}

// computeHash asks the driver's ClientDriverExtensionHasher, or else reads the range of the
// file through the hash (readHashed), opened as RETR opens it (GetHandle when the driver has
// it). It returns the lowercase hex digest.
func computeHash(x *transferIO, ext *clientHooks, p string, algo HASHAlgo, start, end int64) (string, error) {
	if ext.computeHash != nil {
		sum, err := ext.computeHash(p, algo, start, end)
		if err != nil {
			return "", newDriverError("hashing "+p, err)
		}

		if _, err := hex.DecodeString(sum); err != nil || sum == "" {
			return "", errMalformedDigest
		}

		return strings.ToLower(sum), nil
	}

	h, err := NewHash(algo)
	if err != nil {
		return "", err
	}

	file, err := openTransferFile(ext, p, os.O_RDONLY, start)
	if err != nil {
		return "", err
	}
	defer file.Close()

	if err := readHashed(x, h, unwrapFile(file), end-start); err != nil {
		if errors.Is(err, errTransferAborted) {
			return "", err
		}

		// io.EOF here means the file shrank since it was stat'ed: the digest would not be of
		// the range the reply names.
		return "", newFileAccessError("reading "+p, err)
	}

	return hex.EncodeToString(h.Sum(nil)), nil
}

// readHashed writes the next length bytes of file into h and counts them, through a pooled
// buffer of transferChunk, and stops between chunks once x.ctx is done (ABOR, Stop, the end of
// the session) with errTransferAborted. Memory stays bounded whatever the length. A read from
// a file's memory mappings, as a download under TLS does, measured slower than this copy
// (BenchmarkComputeHash): mapping costs more than copying from the page cache into a buffer
// that stays in cache. A file shorter than length gives io.EOF.
func readHashed(x *transferIO, h hash.Hash, file io.Reader, length int64) error {
	pooled := x.buffers.small.Get().(*[]byte) //nolint:errcheck // the pool holds only these
	defer x.buffers.small.Put(pooled)

	buf := *pooled

	for length > 0 {
		n, err := io.ReadFull(file, buf[:min(int64(len(buf)), length)])
		if x.ctx.Err() != nil {
			return errTransferAborted
		}

		_, _ = h.Write(buf[:n]) // a hash.Hash never fails
		x.counter.Add(int64(n))
		length -= int64(n)

		switch {
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return io.EOF
		case err != nil:
			return err //nolint:wrapcheck // the driver's own error, as copyData returns it for a read
		}
	}

	return nil
}

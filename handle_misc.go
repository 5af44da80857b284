package ftpserver

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/afero"
)

// handleFEAT lists the extensions (RFC 2389 3): exactly the enabled rows of the command table
// that declare a feature.
func (c *clientHandler) handleFEAT(string) {
	m := c.startMultiline(StatusSystemStatus, "Features:")
	for _, line := range c.featLines() {
		m.line(line)
	}

	m.end("End")
}

// handleOPTS sets options of other commands (RFC 2389 4).
func (c *clientHandler) handleOPTS(param string) {
	name, value, _ := strings.Cut(param, " ")

	switch strings.ToUpper(name) {
	case "UTF8", "UTF-8":
		// RFC 2640 3.2: names are UTF-8 either way; the option only records the client's wish.
		switch strings.ToUpper(strings.TrimSpace(value)) {
		case "", "ON":
			c.utf8 = true
			c.reply(StatusOK, "I'm in UTF8 only anyway")
		case "OFF":
			c.utf8 = false
			c.reply(StatusOK, "UTF8 mode disabled")
		default:
			c.reply(StatusSyntaxErrorParameters, "OPTS UTF8 takes ON or OFF")
		}
	case "HASH":
		c.optsHASH(value)
	case "MLST":
		if c.settings.DisableMLST && c.settings.DisableMLSD {
			c.reply(StatusCommandNotImplemented, "MLST is disabled on this server")

			return
		}

		// RFC 3659 7.9: the reply lists the facts now selected.
		c.mlstFacts = parseMLSTFacts(value)
		c.reply(StatusOK, "MLST OPTS "+c.mlstFacts.String())
	default:
		c.reply(StatusSyntaxErrorParameters, "Unknown option"+c.echo(quoteVerb(name)))
	}
}

// handleSYST answers the system type every client expects from a UNIX-style listing server.
func (c *clientHandler) handleSYST(string) {
	c.reply(StatusSystemType, "UNIX Type: L8")
}

func (c *clientHandler) handleNOOP(string) {
	c.reply(StatusOK, "OK")
}

// handleCLNT records the client's software name (an extension from the FTP drafts).
func (c *clientHandler) handleCLNT(param string) {
	c.mu.Lock()
	c.clientVersion = param
	c.mu.Unlock()

	c.reply(StatusOK, "Good to know")
}

// handleHELP lists the commands, or says whether the named one is supported.
func (c *clientHandler) handleHELP(param string) {
	if param != "" {
		verb := strings.ToUpper(strings.TrimSpace(param))
		if cmd, ok := commands[verb]; ok && !cmd.disabled(c.settings) {
			c.reply(StatusHelpMessage, verb+" is supported")
		} else {
			c.reply(StatusCommandNotImplemented, "Unknown command"+c.echo(quoteVerb(verb)))
		}

		return
	}

	m := c.startMultiline(StatusHelpMessage, "The following commands are recognized:")
	for _, row := range helpText(c.enabledVerbs()) {
		m.line(row)
	}

	m.end("Help OK")
}

// handleSTAT reports the session (no argument) or lists a path over the control connection
// (RFC 959 4.1.3), which works even while a transfer runs.
func (c *clientHandler) handleSTAT(param string) {
	if param != "" {
		c.statPath(param)

		return
	}

	m := c.startMultiline(StatusSystemStatus, c.settings.Banner+" status:")
	m.line("Connected to " + c.RemoteAddr().String())
	m.line(fmt.Sprintf("TYPE: %s, STRU: File, MODE: %s", c.typeName(), c.modeName()))

	if c.HasTLSForControl() {
		m.line("Control connection is protected by TLS")
	}

	if command, path, bytes, running := c.data.progress(); running {
		m.line(fmt.Sprintf("%s %s: %d bytes transferred", command, path, bytes))
	} else {
		m.line("No data transfer in progress")
	}

	m.end("End of status")
}

// handleTYPE sets the representation type (RFC 959 3.1.1): A (ASCII, non-print format only),
// I and L 8 (binary).
func (c *clientHandler) handleTYPE(param string) {
	switch strings.ToUpper(strings.Join(strings.Fields(param), " ")) {
	case "A", "A N", "L 7", "L7":
		// A 7-bit local byte size holds ASCII text, so L 7 is ASCII.
		c.transferType = TransferTypeASCII
		c.reply(StatusOK, "Type set to ASCII")
	case "I", "L 8", "L8":
		c.transferType = TransferTypeBinary
		c.reply(StatusOK, "Type set to binary")
	default:
		c.reply(StatusNotImplementedParam, "Unsupported type "+quoteVerb(param))
	}
}

// handleMODE sets the transfer mode: S, stream (RFC 959 3.4.1), or Z, deflate
// (draft-preston-ftpext-deflate), offered when Settings.DeflateCompressionLevel is above 0. The
// mode applies to every later data connection, listings included, until MODE S or REIN.
func (c *clientHandler) handleMODE(param string) {
	mode := strings.ToUpper(param)

	switch {
	case mode == "S":
		c.mode = TransferModeStream
		c.reply(StatusOK, "Using stream mode")
	case mode == "Z" && c.settings.DeflateCompressionLevel > 0:
		c.mode = TransferModeDeflate
		c.reply(StatusOK, "Using deflate mode")
	default:
		c.reply(StatusNotImplementedParam, "Unsupported mode "+quoteVerb(param))
	}
}

// featMODE announces MODE Z when it is enabled (draft-preston-ftpext-deflate 3.5).
func (c *clientHandler) featMODE() string {
	if c.settings.DeflateCompressionLevel <= 0 {
		return ""
	}

	return "MODE Z"
}

// modeName names the current MODE in the STAT reply.
func (c *clientHandler) modeName() string {
	if c.mode == TransferModeDeflate {
		return "Deflate"
	}

	return "Stream"
}

// handleLANG chooses the language of replies (RFC 2640 4.1). Replies exist in English only, the
// one language FEAT lists: no argument (back to the default) or a tag whose primary subtag is EN
// (EN, en-US...) is accepted with 200, any other well-formed tag refused with 504.
func (c *clientHandler) handleLANG(param string) {
	tag := strings.TrimSpace(param)
	primary, _, _ := strings.Cut(tag, "-")

	switch {
	case tag == "" || (isLanguageTag(tag) && strings.EqualFold(primary, "EN")):
		c.reply(StatusOK, "Language set to EN")
	case isLanguageTag(tag):
		c.reply(StatusNotImplementedParam, "Unsupported language"+c.echo(tag)+", only EN is available")
	default:
		c.reply(StatusSyntaxErrorParameters, "LANG takes a language tag such as EN")
	}
}

// isLanguageTag tells whether tag has the syntax of a language tag (RFC 2640 4.1, after RFC
// 1766 2): a primary subtag of 1 to 8 letters, then subtags of 1 to 8 letters or digits, each
// after a hyphen.
func isLanguageTag(tag string) bool {
	const maxSubtag = 8

	for i, subtag := range strings.Split(tag, "-") {
		if subtag == "" || len(subtag) > maxSubtag {
			return false
		}

		for j := range len(subtag) {
			b := subtag[j]
			letter := ('a' <= b && b <= 'z') || ('A' <= b && b <= 'Z')
			digit := '0' <= b && b <= '9'

			if !letter && (i == 0 || !digit) {
				return false
			}
		}
	}

	return true
}

// handleSTRU accepts file structure, the only one RFC 959 requires.
func (c *clientHandler) handleSTRU(param string) {
	if strings.EqualFold(param, "F") {
		c.reply(StatusOK, "Structure set to F")

		return
	}

	c.reply(StatusNotImplementedParam, "Unsupported structure "+quoteVerb(param))
}

// siteWrites tells whether a SITE argument names one of the built-in subcommands that change
// files, which a read-only session is refused before the driver's own SITE is asked.
func siteWrites(param string) bool {
	sub, _, _ := strings.Cut(param, " ")

	switch strings.ToUpper(sub) {
	case "CHMOD", "CHOWN", "SYMLINK", "MKDIR", "RMDIR":
		return true
	default:
		return false
	}
}

// handleSITE runs a site-specific command: the driver's own first, then the built-in ones.
func (c *clientHandler) handleSITE(param string) {
	if site := c.extensions().site; site != nil {
		if answer := site(param); answer != nil {
			c.reply(answer.Code, answer.Message)

			return
		}
	}

	sub, rest, _ := strings.Cut(param, " ")

	switch strings.ToUpper(sub) {
	case "CHMOD":
		c.siteCHMOD(rest)
	case "CHOWN":
		c.siteCHOWN(rest)
	case "SYMLINK":
		c.siteSYMLINK(rest)
	case "MKDIR":
		c.siteMKDIR(rest)
	case "RMDIR":
		c.siteRMDIR(rest)
	default:
		c.reply(StatusSyntaxErrorNotRecognised, "Unknown SITE subcommand: "+strings.ToUpper(oneLine(sub)))
	}
}

// siteCHMOD: SITE CHMOD <octal mode> <path>.
func (c *clientHandler) siteCHMOD(param string) {
	modeText, name, _ := strings.Cut(param, " ")
	if name == "" {
		c.reply(StatusSyntaxErrorParameters, "Usage: SITE CHMOD <octal mode> <path>")

		return
	}

	// A mode that is not octal is refused as the change it asks for, with 550.
	mode, err := strconv.ParseUint(modeText, 8, 32)
	if err != nil || mode > 0o7777 {
		c.reply(StatusActionNotTaken, "Invalid mode "+quoteVerb(modeText)+": use an octal mode such as 644")

		return
	}

	perm := os.FileMode(mode)

	p, ok := c.pathParam(name)
	if !ok {
		return
	}

	err = c.fileOperation(fileOp{kind: EventModeChanged, command: "SITE CHMOD", path: p}, noBytes(func() error {
		return c.fs().Chmod(p, perm)
	}))
	if err != nil {
		c.replyError(StatusActionNotTaken, "Cannot change mode", err)

		return
	}

	c.reply(StatusOK, "SITE CHMOD command successful")
}

// siteCHOWN: SITE CHOWN <uid>[:<gid>] <path>, numeric ids as afero.Fs.Chown takes them. A
// missing gid is passed as 0, as ftpserverlib passes it, so drivers written for it read the
// same call.
func (c *clientHandler) siteCHOWN(param string) {
	owner, name, _ := strings.Cut(param, " ")
	if name == "" {
		c.reply(StatusSyntaxErrorParameters, "Usage: SITE CHOWN <uid>[:<gid>] <path>")

		return
	}

	uidText, gidText, hasGID := strings.Cut(owner, ":")

	uid, errUID := strconv.Atoi(uidText)
	gid, errGID := 0, error(nil)

	if hasGID {
		gid, errGID = strconv.Atoi(gidText)
	}

	if errUID != nil || errGID != nil || uid < 0 || gid < 0 {
		c.reply(StatusActionNotTaken, "Invalid owner "+quoteVerb(owner)+": use numeric ids, <uid>[:<gid>]")

		return
	}

	p, ok := c.pathParam(name)
	if !ok {
		return
	}

	err := c.fileOperation(fileOp{kind: EventOwnerChanged, command: "SITE CHOWN", path: p}, noBytes(func() error {
		return c.fs().Chown(p, uid, gid)
	}))
	if err != nil {
		c.replyError(StatusActionNotTaken, "Couldn't chown", err)

		return
	}

	c.reply(StatusOK, "Done !")
}

// siteSYMLINK: SITE SYMLINK <target> <link>, through the driver's Symlink extension or an
// afero.Linker file system.
func (c *clientHandler) siteSYMLINK(param string) {
	target, link, _ := strings.Cut(param, " ")
	if target == "" || link == "" {
		c.reply(StatusSyntaxErrorParameters, "Usage: SITE SYMLINK <target> <link>")

		return
	}

	oldname, okOld := c.pathParam(target)
	if !okOld {
		return
	}

	newname, okNew := c.pathParam(link)
	if !okNew {
		return
	}

	ext := c.extensions()
	symlink := ext.symlink

	if linker, ok := ext.driver.(afero.Linker); symlink == nil && ok {
		symlink = linker.SymlinkIfPossible
	}

	if symlink == nil {
		c.reply(StatusCommandNotImplemented, "This extension hasn't been implemented !")

		return
	}

	op := fileOp{kind: EventSymlinkCreated, command: "SITE SYMLINK", path: newname, target: oldname}

	err := c.fileOperation(op, noBytes(func() error { return symlink(oldname, newname) }))
	if err != nil {
		c.replyError(StatusActionNotTaken, "Couldn't symlink", err)

		return
	}

	c.reply(StatusOK, "Done !")
}

// handleAVBL answers the bytes the user may still store in a directory (the working one by
// default), through the driver's extension (draft-peterson-streamlined-ftp-command-extensions).
func (c *clientHandler) handleAVBL(param string) {
	availableSpace := c.extensions().availableSpace
	if availableSpace == nil {
		c.reply(StatusCommandNotImplemented, "AVBL is not supported by this server")

		return
	}

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

// featAVBL lists AVBL unless the logged-in user's driver lacks the extension; before login the
// driver is not known yet.
func (c *clientHandler) featAVBL() string {
	if ext := c.extensions(); ext != nil && ext.availableSpace == nil {
		return ""
	}

	return "AVBL"
}

// typeName names the current TYPE in the STAT reply.
func (c *clientHandler) typeName() string {
	if c.transferType == TransferTypeASCII {
		return "ASCII"
	}

	return "BINARY"
}

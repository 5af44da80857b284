package ftpserver

import (
	"os"
	"strconv"
	"strings"

	"github.com/spf13/afero"
)

// handleSITE runs a site-specific command: the driver's own first, then the built-in ones its
// row's sub-table lists. A read-only session is refused the built-in ones that change files
// (the sub-table's writes) by the dispatcher, before the driver's own SITE is asked.
func (c *clientHandler) handleSITE(param string, row *commandDesc) {
	if site := c.extensions().site; site != nil {
		if answer := site(param); answer != nil {
			c.reply(answer.Code, answer.Message)

			return
		}
	}

	row.sub.run(c, param)
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

// sitePath resolves the path of SITE MKDIR and SITE RMDIR, which ftpserverlib answers 500 when
// it is missing; ok is false when a reply was sent.
func (c *clientHandler) sitePath(param string) (string, bool) {
	if param == "" {
		c.reply(StatusSyntaxErrorNotRecognised, "Missing path")

		return "", false
	}

	return c.pathParam(param)
}

// siteMKDIR creates a directory and its missing parents: SITE MKDIR <path>.
func (c *clientHandler) siteMKDIR(param string) {
	p, ok := c.sitePath(param)
	if !ok {
		return
	}

	err := c.fileOperation(fileOp{kind: EventDirCreated, command: "SITE MKDIR", path: p}, noBytes(func() error {
		return c.fs().MkdirAll(p, 0o755)
	}))
	if err != nil {
		c.replyError(StatusActionNotTaken, "Couldn't create dir "+p, err)

		return
	}

	c.reply(StatusFileOK, "Created dir "+p)
}

// siteRMDIR removes a directory with everything in it: SITE RMDIR <path>. The root stays, as
// for RMD: removing it would empty the user's whole tree.
func (c *clientHandler) siteRMDIR(param string) {
	p, ok := c.sitePath(param)
	if !ok {
		return
	}

	if p == "/" {
		c.reply(StatusActionNotTaken, "Cannot remove the root directory")

		return
	}

	err := c.fileOperation(fileOp{kind: EventDirRemoved, command: "SITE RMDIR", path: p}, noBytes(func() error {
		return c.fs().RemoveAll(p)
	}))
	if err != nil {
		c.replyError(StatusActionNotTaken, "Couldn't remove dir "+p, err)

		return
	}

	c.reply(StatusFileOK, "Removed dir "+p)
}

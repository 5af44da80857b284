package ftpserver

import (
	"fmt"
	"strings"
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

// handleOPTS sets options of other commands (RFC 2389 4), as its row's sub-table lists them.
func (c *clientHandler) handleOPTS(param string, row *commandDesc) {
	row.sub.run(c, param)
}

// optsUTF8: OPTS UTF8 [ON|OFF]. RFC 2640 3.2: names are UTF-8 either way; the option only
// records the client's wish.
func (c *clientHandler) optsUTF8(value string) {
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
}

// optsMLST: OPTS MLST <facts>. RFC 3659 7.9: the reply lists the facts now selected.
func (c *clientHandler) optsMLST(value string) {
	c.mlstFacts = parseMLSTFacts(value)
	c.reply(StatusOK, "MLST OPTS "+c.mlstFacts.String())
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

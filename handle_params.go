package ftpserver

import (
	"strings"
)

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

// handleMODE sets the transfer mode, one its row's sub-table lists. The mode applies to every
// later data connection, listings included, until MODE S or REIN.
func (c *clientHandler) handleMODE(param string, row *commandDesc) {
	row.sub.run(c, param)
}

// modeStream: MODE S (RFC 959 3.4.1).
func (c *clientHandler) modeStream(string) {
	c.mode = TransferModeStream
	c.reply(StatusOK, "Using stream mode")
}

// modeDeflate: MODE Z (draft-preston-ftpext-deflate).
func (c *clientHandler) modeDeflate(string) {
	c.mode = TransferModeDeflate
	c.reply(StatusOK, "Using deflate mode")
}

// modeName names the current MODE in the STAT reply.
func (c *clientHandler) modeName() string {
	if c.mode == TransferModeDeflate {
		return "Deflate"
	}

	return "Stream"
}

// handleSTRU accepts file structure, the only one RFC 959 requires.
func (c *clientHandler) handleSTRU(param string) {
	if strings.EqualFold(param, "F") {
		c.reply(StatusOK, "Structure set to F")

		return
	}

	c.reply(StatusNotImplementedParam, "Unsupported structure "+quoteVerb(param))
}

// typeName names the current TYPE in the STAT reply.
func (c *clientHandler) typeName() string {
	if c.transferType == TransferTypeASCII {
		return "ASCII"
	}

	return "BINARY"
}

package ftpserver

import (
	"slices"
	"strings"
)

// CommandDescription exists for compatibility with ftpserverlib, where it types the rows of the
// internal command table: whether a verb is allowed before login (Open), may open a data
// connection (TransferRelated) or is answered while a transfer runs (SpecialAction), and its
// handler (Fn). In both libraries the table is unexported and Fn takes the unexported client
// handler, so a driver can neither read the table nor make a row of it that does anything. This
// package's table has its own row type; it creates no CommandDescription and ignores any.
type CommandDescription struct {
	Open            bool                               // allowed before login
	TransferRelated bool                               // may open a data connection
	SpecialAction   bool                               // answered while a transfer runs
	Fn              func(*clientHandler, string) error // handler; never called
}

// commandDesc is one row of the command table: the handler of a verb and every rule the
// dispatcher (handleLine) applies before calling it. Handlers do not check these rules again;
// docs/architecture.md names the few checks left in handlers, and why.
type commandDesc struct {
	verb   string // the row's key, filled in by init
	handle func(c *clientHandler, param string)
	// handleRow is the handler of a verb that reads its own row (a transfer's verb and
	// direction, whether an upload replaces its file, the sub-table of OPTS, SITE and MODE); the
	// dispatcher hands it the row. A row has handle or handleRow, not both.
	handleRow func(c *clientHandler, param string, row *commandDesc)
	// notImplemented, when not empty, makes the verb known but refused with 502 "<VERB> is not
	// implemented, <notImplemented>"; such a row has no handler.
	notImplemented string

	open           bool // allowed before login
	needsParam     bool // an empty argument gets 501
	duringTransfer bool // answered while a transfer runs, not queued behind it
	// queuedWithParam limits duringTransfer to the argument-less form: STAT alone reports on the
	// running transfer, while STAT <path> is an ordinary command queued behind it.
	queuedWithParam bool
	secretParam     bool // the argument is a password, logged masked

	// dataConn: the command opens the data connection that PASV/EPSV/PORT/EPRT prepared, so the
	// session's PROT policy (TLSRequirement) applies to it before the handler runs.
	dataConn bool
	// direction is which way the data of a dataConn command flows; noTransfer for the others.
	direction TransferDirection
	// replacesFile: the upload writes its target anew, so under Settings.AtomicUploads it may be
	// written to a temporary file and renamed over the target (not so for APPE and STOU, which
	// extend an existing file or must create a new one).
	replacesFile bool
	// refusedAfterEPSVAll: RFC 2428 4 has the server refuse every data connection setup command
	// but EPSV once the client sent EPSV ALL.
	refusedAfterEPSVAll bool
	// writes: the command changes files, so a read-only session (SessionSettings.ReadOnly) is
	// refused it. A verb with a sub-table changes files with the arguments whose row writes (SITE).
	writes bool
	// sub is the sub-table of a verb whose argument names an option or subcommand (OPTS, SITE,
	// MODE); its rows' rules and FEAT lines count as the verb's.
	sub *subTable

	// sequence is the step of logging in or of securing the session the verb belongs to
	// (beforeLogin, beforeUSER, afterTLS, afterPBSZ); outOfSequence is the reply when the
	// session is not at that step.
	sequence      sequenceRule
	outOfSequence rowReply

	// extension, when set, tells whether the logged-in user's driver implements the extension
	// the verb needs; without it the verb is refused with unsupported, and its FEAT line is not
	// listed once logged in (before login the driver is not known yet).
	extension   func(*clientHooks) bool
	unsupported rowReply

	disabledBy func(*Settings) bool // non-nil: the setting that turns the verb off
	// bareDisabledBy is the setting that turns off the verb's argument-less form only (502), once
	// the client is logged in: DisableSTAT hides the server status, STAT <path> still lists.
	bareDisabledBy func(*Settings) bool
	disabledReply  func(verb string) (int, string) // the reply when disabledBy is true, if not 502
	feat           func(c *clientHandler) string   // the FEAT line, "" for none
}

// rowReply is a fixed reply a table row gives.
type rowReply struct {
	code int
	text string
}

// sequenceRule is where in the session a verb is accepted.
type sequenceRule int

const (
	anyTime     sequenceRule = iota
	beforeLogin              // USER, PASS, ACCT: refused once logged in
	beforeUSER               // HOST: refused once USER named a user, and once logged in
	afterTLS                 // PBSZ, CCC: refused until the control connection is protected
	afterPBSZ                // PROT: refused until TLS on the control connection and PBSZ
)

// outOfStep tells whether the session is not at the step of the session the row's sequence
// rule names.
func (d *commandDesc) outOfStep(c *clientHandler) bool {
	switch d.sequence {
	case beforeLogin:
		return c.loggedIn()
	case beforeUSER:
		return c.loggedIn() || c.user != ""
	case afterTLS:
		return !c.HasTLSForControl()
	case afterPBSZ:
		return !c.HasTLSForControl() || !c.pbszDone
	default:
		return false
	}
}

// lacksExtension tells whether the verb needs a driver extension that the logged-in user's
// driver lacks; before login it does not.
func (d *commandDesc) lacksExtension(c *clientHandler) bool {
	if d.extension == nil {
		return false
	}

	hooks := c.extensions()

	return hooks != nil && !d.extension(hooks)
}

// disabled tells whether a setting turns the verb off: it is then refused, and absent from
// FEAT and HELP.
func (d *commandDesc) disabled(s *Settings) bool {
	return d.disabledBy != nil && d.disabledBy(s)
}

// disabledRefusal is the reply to a disabled verb.
func (d *commandDesc) disabledRefusal(verb string) (int, string) {
	if d.disabledReply != nil {
		return d.disabledReply(verb)
	}

	return StatusCommandNotImplemented, verb + " is disabled on this server"
}

// waitsForTransfer tells whether the command, with param, runs only once the running transfer
// has replied.
func (d *commandDesc) waitsForTransfer(param string) bool {
	return !d.duringTransfer || (d.queuedWithParam && param != "")
}

// changesFiles tells whether the command, with param, changes files.
func (d *commandDesc) changesFiles(param string) bool {
	return d.writes || d.sub.writes(param)
}

// bareDisabled tells whether the command, with param, is the argument-less form a setting
// turned off.
func (d *commandDesc) bareDisabled(param string, s *Settings) bool {
	return param == "" && d.bareDisabledBy != nil && d.bareDisabledBy(s)
}

// feat returns a FEAT line function for a fixed text.
func feat(line string) func(*clientHandler) string {
	return func(*clientHandler) string { return line }
}

// featIfTLS returns a FEAT line function listing a TLS feature when TLS is available.
func featIfTLS(line string) func(*clientHandler) string {
	return func(c *clientHandler) string { return c.featTLS(line) }
}

// commands is the one list of what the server supports. FEAT and HELP are derived from it, so a
// new command is one line here and one handler. It is filled once by init (FEAT and HELP read
// the table, so a plain initialiser would refer to itself) and never modified afterwards.
var commands map[string]*commandDesc

func init() {
	optsOptions, siteSubcommands, modeModes = optsTable(), siteTable(), modeTable()
	commands = commandTable()
	for verb, row := range commands {
		row.verb = verb
	}
}

//nolint:funlen // one line per verb: splitting the table would hide it
func commandTable() map[string]*commandDesc {
	return map[string]*commandDesc{
		// Access control, RFC 959 4.1.1, and security, RFC 2228 / RFC 4217
		"USER": {
			handle: (*clientHandler).handleUSER, open: true, needsParam: true, sequence: beforeLogin,
			outOfSequence: rowReply{StatusBadCommandSequence, "Already logged in; use REIN to change user"},
		},
		"PASS": {
			handle: (*clientHandler).handlePASS, open: true, secretParam: true,
			sequence: beforeLogin, outOfSequence: rowReply{StatusBadCommandSequence, "Already logged in"},
		},
		// RFC 959 4.1.1: no account is ever needed once logged in.
		"ACCT": {
			handle: (*clientHandler).handleACCT, open: true,
			sequence: beforeLogin, outOfSequence: rowReply{StatusNotImplemented, "ACCT not needed"},
		},
		"REIN": {handle: (*clientHandler).handleREIN, open: true},
		// RFC 959 4.1.1 lets a running transfer complete before QUIT closes the session, so QUIT is
		// queued behind it like any other command.
		"QUIT": {handle: (*clientHandler).handleQUIT, open: true},
		"AUTH": {handle: (*clientHandler).handleAUTH, open: true, needsParam: true, feat: (*clientHandler).featAUTH},
		"PBSZ": {
			handle: (*clientHandler).handlePBSZ, open: true, needsParam: true, feat: featIfTLS("PBSZ"),
			sequence: afterTLS, outOfSequence: rowReply{StatusBadCommandSequence, "PBSZ needs AUTH TLS first"},
		},
		"PROT": {
			handle: (*clientHandler).handlePROT, open: true, needsParam: true, feat: featIfTLS("PROT"),
			sequence:      afterPBSZ,
			outOfSequence: rowReply{StatusBadCommandSequence, "PROT needs AUTH TLS and PBSZ first"},
		},
		"CCC": {
			handle: (*clientHandler).handleCCC, open: true,
			sequence:      afterTLS,
			outOfSequence: rowReply{StatusCommandProtectionDenied, "The control connection is not protected"},
		},
		// RFC 7151 3: the host decides which users exist, so HOST comes before USER.
		"HOST": {
			handle: (*clientHandler).handleHOST, open: true, needsParam: true, feat: feat("HOST"),
			sequence: beforeUSER, outOfSequence: rowReply{StatusBadCommandSequence, "HOST must be sent before USER"},
		},

		// Server and session, RFC 959 4.1.3, RFC 2389
		"FEAT": {handle: (*clientHandler).handleFEAT, open: true},
		"OPTS": {handleRow: (*clientHandler).handleOPTS, open: true, needsParam: true, sub: &optsOptions},
		"LANG": {handle: (*clientHandler).handleLANG, open: true, feat: feat("LANG EN*")}, // RFC 2640 4
		"SYST": {
			handle: (*clientHandler).handleSYST, open: true,
			disabledBy: func(s *Settings) bool { return s.DisableSYST },
		},
		"STAT": {
			handle: (*clientHandler).handleSTAT, duringTransfer: true, queuedWithParam: true,
			bareDisabledBy: func(s *Settings) bool { return s.DisableSTAT },
		},
		"HELP": {handle: (*clientHandler).handleHELP, open: true},
		"NOOP": {handle: (*clientHandler).handleNOOP, open: true, duringTransfer: true},
		"CLNT": {handle: (*clientHandler).handleCLNT, open: true, feat: feat("CLNT")},
		"SITE": {
			handleRow: (*clientHandler).handleSITE, needsParam: true, sub: &siteSubcommands,
			disabledBy: func(s *Settings) bool { return s.DisableSite },
		},
		"TYPE": {handle: (*clientHandler).handleTYPE, needsParam: true},
		"MODE": {handleRow: (*clientHandler).handleMODE, needsParam: true, sub: &modeModes},
		"STRU": {handle: (*clientHandler).handleSTRU, needsParam: true},

		// Directories
		"CWD":  {handle: (*clientHandler).handleCWD, needsParam: true},
		"XCWD": {handle: (*clientHandler).handleCWD, needsParam: true},
		"CDUP": {handle: (*clientHandler).handleCDUP},
		"XCUP": {handle: (*clientHandler).handleCDUP},
		"PWD":  {handle: (*clientHandler).handlePWD},
		"XPWD": {handle: (*clientHandler).handlePWD},
		"MKD":  {handle: (*clientHandler).handleMKD, needsParam: true, writes: true},
		"XMKD": {handle: (*clientHandler).handleMKD, needsParam: true, writes: true},
		"RMD":  {handle: (*clientHandler).handleRMD, needsParam: true, writes: true},
		"XRMD": {handle: (*clientHandler).handleRMD, needsParam: true, writes: true},
		"LIST": {handleRow: (*clientHandler).handleLIST, dataConn: true, direction: TransferDownload},
		"NLST": {handleRow: (*clientHandler).handleNLST, dataConn: true, direction: TransferDownload},
		"MLSD": {
			handleRow: (*clientHandler).handleMLSD, dataConn: true, direction: TransferDownload,
			disabledBy: func(s *Settings) bool { return s.DisableMLSD },
		},
		"MLST": {
			handle: (*clientHandler).handleMLST, disabledBy: func(s *Settings) bool { return s.DisableMLST },
			feat: func(c *clientHandler) string { return c.mlstFacts.featLine() },
		},

		// Files
		"RETR": {handleRow: (*clientHandler).handleRETR, needsParam: true, dataConn: true, direction: TransferDownload},
		"STOR": {
			handleRow: (*clientHandler).handleSTOR, needsParam: true, dataConn: true, direction: TransferUpload,
			replacesFile: true, writes: true,
		},
		"APPE": {
			handleRow: (*clientHandler).handleAPPE, needsParam: true, dataConn: true, direction: TransferUpload,
			writes: true,
		},
		"STOU": {handleRow: (*clientHandler).handleSTOU, dataConn: true, direction: TransferUpload, writes: true},
		"REST": {handle: (*clientHandler).handleREST, needsParam: true, feat: feat("REST STREAM")},
		"ABOR": {handle: (*clientHandler).handleABOR, duringTransfer: true},
		"ALLO": {handle: (*clientHandler).handleALLO, needsParam: true},
		"AVBL": {
			handle: (*clientHandler).handleAVBL, feat: feat("AVBL"), extension: hasAvailableSpace,
			unsupported: rowReply{StatusCommandNotImplemented, "AVBL is not supported by this server"},
		},
		"DELE": {handle: (*clientHandler).handleDELE, needsParam: true, writes: true},
		"RNFR": {handle: (*clientHandler).handleRNFR, needsParam: true, writes: true},
		"RNTO": {handle: (*clientHandler).handleRNTO, needsParam: true, writes: true},
		"COMB": {
			handle: (*clientHandler).handleCOMB, needsParam: true, writes: true, feat: feat("COMB"),
			disabledBy: combDisabled,
		},
		"SIZE": {handle: (*clientHandler).handleSIZE, needsParam: true, feat: feat("SIZE")},
		"MDTM": {handle: (*clientHandler).handleMDTM, needsParam: true, feat: feat("MDTM")},
		"MFMT": {
			handle: (*clientHandler).handleMFMT, feat: feat("MFMT"), writes: true, // 500 without an argument
			disabledBy: func(s *Settings) bool { return s.DisableMFMT },
		},

		// Checksums: draft-bryan-ftpext-hash-02, and the X* commands of its appendix B
		"HASH":    optionalParam(hashCommand((*clientHandler).handleHASH, (*clientHandler).featHASH)),
		"RANG":    hashCommand((*clientHandler).handleRANG, nil), // for HASH only: no "RANG STREAM"
		"XCRC":    checksumCommand("XCRC", HASHAlgoCRC32),
		"XMD5":    checksumCommand("XMD5", HASHAlgoMD5),
		"XSHA":    checksumCommand("XSHA", HASHAlgoSHA1),
		"XSHA1":   checksumCommand("XSHA1", HASHAlgoSHA1),
		"XSHA256": checksumCommand("XSHA256", HASHAlgoSHA256),
		"XSHA512": checksumCommand("XSHA512", HASHAlgoSHA512),

		// Data connections, RFC 959 4.1.2 and RFC 2428
		"PASV": {handle: (*clientHandler).handlePASV, refusedAfterEPSVAll: true},
		"EPSV": {handle: (*clientHandler).handleEPSV, feat: feat("EPSV")},
		"PORT": {
			handle: (*clientHandler).handlePORT, needsParam: true, refusedAfterEPSVAll: true,
			disabledBy: activeModeDisabled, disabledReply: activeModeDisabledReply,
		},
		"EPRT": {
			handle: (*clientHandler).handleEPRT, needsParam: true, refusedAfterEPSVAll: true, feat: feat("EPRT"),
			disabledBy: activeModeDisabled, disabledReply: activeModeDisabledReply,
		},
		// RFC 1639 long addresses, superseded by EPSV and EPRT.
		"LPSV": {notImplemented: "use EPSV or EPRT"},
		"LPRT": {notImplemented: "use EPSV or EPRT"},
	}
}

// optionalParam lets a command answer an empty argument itself.
func optionalParam(d *commandDesc) *commandDesc {
	d.needsParam = false

	return d
}

func activeModeDisabled(s *Settings) bool { return s.DisableActiveMode }

// activeModeDisabledReply refuses PORT and EPRT with 421, one of the replies RFC 959 5.4 lists
// for PORT (502 is not), as ftpserverlib does; the session goes on.
func activeModeDisabledReply(verb string) (int, string) {
	return StatusServiceNotAvailable, verb + " command is disabled"
}

// featLines returns the FEAT lines of every enabled command and subcommand, sorted as RFC 2389 leaves the
// order free and a stable order is easier to read and test.
func (c *clientHandler) featLines() []string {
	lines := make([]string, 0, len(commands))

	for _, cmd := range commands {
		if cmd.disabled(c.settings) {
			continue
		}

		if cmd.feat != nil && !cmd.lacksExtension(c) {
			if line := cmd.feat(c); line != "" {
				lines = append(lines, line)
			}
		}

		if cmd.sub != nil {
			lines = cmd.sub.featLines(c, lines)
		}
	}

	slices.Sort(lines)

	return lines
}

// enabledVerbs returns the verbs HELP lists: every command not turned off by a setting.
func (c *clientHandler) enabledVerbs() []string {
	verbs := make([]string, 0, len(commands))

	for verb, cmd := range commands {
		if !cmd.disabled(c.settings) {
			verbs = append(verbs, verb)
		}
	}

	slices.Sort(verbs)

	return verbs
}

// helpText lays the verbs out in rows of eight, as the HELP reply shows them.
func helpText(verbs []string) []string {
	const perRow = 8

	rows := make([]string, 0, len(verbs)/perRow+1)
	for chunk := range slices.Chunk(verbs, perRow) {
		rows = append(rows, strings.Join(chunk, " "))
	}

	return rows
}

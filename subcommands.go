package ftpserver

import "strings"

// subcommandDesc is one row of a sub-table: an option of OPTS, a subcommand of SITE or a mode
// of MODE, with the rules subTable.run applies before calling its handler, which does not check
// them again. A sub-table is reached only through its verb's row, so that row's rules (login,
// a setting that turns the whole verb off) come first.
type subcommandDesc struct {
	handle func(c *clientHandler, param string)

	// writes: the subcommand changes files, so a read-only session (SessionSettings.ReadOnly)
	// is refused it. The dispatcher applies it, with the verb's other rules, before the verb's
	// handler runs.
	writes bool

	disabledBy func(*Settings) bool // non-nil: the setting that turns the subcommand off
	// unknownWhenDisabled: a disabled subcommand is answered as a name the table does not hold,
	// not with 502 "<NAME> is disabled on this server".
	unknownWhenDisabled bool
	feat                func(c *clientHandler) string // the FEAT line, "" for none
}

// disabled tells whether a setting turns the subcommand off: it is then refused, and its FEAT
// line is not listed.
func (d subcommandDesc) disabled(s *Settings) bool {
	return d.disabledBy != nil && d.disabledBy(s)
}

// subTable is the sub-table of a verb whose argument starts with a name of its own: OPTS
// options (RFC 2389 4), SITE subcommands, MODE's modes.
type subTable struct {
	rows map[string]subcommandDesc // by upper-case name
	// split takes the name out of the verb's argument; rest is what the row's handler gets.
	split func(param string) (name, rest string)
	// unknown answers a name the table does not hold, as the client wrote it.
	unknown func(c *clientHandler, name string)
}

// firstWord splits an argument at its first space, as OPTS and SITE name their subcommand.
func firstWord(param string) (name, rest string) {
	name, rest, _ = strings.Cut(param, " ")

	return name, rest
}

// wholeParam takes the whole argument as the name, as MODE does.
func wholeParam(param string) (name, rest string) {
	return param, ""
}

// lookup returns the row of the name an argument starts with.
func (t *subTable) lookup(param string) (name, rest string, row subcommandDesc, ok bool) {
	name, rest = t.split(param)
	row, ok = t.rows[strings.ToUpper(name)]

	return name, rest, row, ok
}

// run answers a verb's argument through its sub-table: an unknown or disabled name is
// refused, a known one handled.
func (t *subTable) run(c *clientHandler, param string) {
	name, rest, row, ok := t.lookup(param)

	switch {
	case !ok || (row.unknownWhenDisabled && row.disabled(c.settings)):
		t.unknown(c, name)
	case row.disabled(c.settings):
		c.reply(StatusCommandNotImplemented, strings.ToUpper(name)+" is disabled on this server")
	default:
		row.handle(c, rest)
	}
}

// writes tells whether the argument names a subcommand that changes files; false on a verb
// without a sub-table.
func (t *subTable) writes(param string) bool {
	if t == nil {
		return false
	}

	_, _, row, ok := t.lookup(param)

	return ok && row.writes
}

// featLines appends the FEAT lines of the enabled rows.
func (t *subTable) featLines(c *clientHandler, lines []string) []string {
	for _, row := range t.rows {
		if row.feat == nil || row.disabled(c.settings) {
			continue
		}

		if line := row.feat(c); line != "" {
			lines = append(lines, line)
		}
	}

	return lines
}

// The sub-tables, filled once by init with the command table and never modified afterwards.
var optsOptions, siteSubcommands, modeModes subTable

// optsTable lists the options OPTS sets (RFC 2389 4).
func optsTable() subTable {
	return subTable{
		rows: map[string]subcommandDesc{
			"UTF8":  {handle: (*clientHandler).optsUTF8, feat: feat("UTF8")}, // RFC 2640 3.2
			"UTF-8": {handle: (*clientHandler).optsUTF8},
			"HASH":  {handle: (*clientHandler).optsHASH, disabledBy: hashDisabled},
			// RFC 3659 7.9: MLST's options select the facts of MLST and MLSD alike.
			"MLST": {
				handle:     (*clientHandler).optsMLST,
				disabledBy: func(s *Settings) bool { return s.DisableMLST && s.DisableMLSD },
			},
		},
		split: firstWord,
		unknown: func(c *clientHandler, name string) {
			c.reply(StatusSyntaxErrorParameters, "Unknown option"+c.echo(quoteVerb(name)))
		},
	}
}

// siteTable lists the built-in SITE subcommands, asked after the driver's own
// (ClientDriverExtensionSite).
func siteTable() subTable {
	return subTable{
		rows: map[string]subcommandDesc{
			"CHMOD":   {handle: (*clientHandler).siteCHMOD, writes: true},
			"CHOWN":   {handle: (*clientHandler).siteCHOWN, writes: true},
			"SYMLINK": {handle: (*clientHandler).siteSYMLINK, writes: true},
			"MKDIR":   {handle: (*clientHandler).siteMKDIR, writes: true},
			"RMDIR":   {handle: (*clientHandler).siteRMDIR, writes: true},
		},
		split: firstWord,
		unknown: func(c *clientHandler, name string) {
			c.reply(StatusSyntaxErrorNotRecognised, "Unknown SITE subcommand: "+strings.ToUpper(oneLine(name)))
		},
	}
}

// modeTable lists the transfer modes: S, stream (RFC 959 3.4.1), and Z, deflate
// (draft-preston-ftpext-deflate), offered when Settings.DeflateCompressionLevel is above 0.
func modeTable() subTable {
	return subTable{
		rows: map[string]subcommandDesc{
			"S": {handle: (*clientHandler).modeStream},
			"Z": {
				handle: (*clientHandler).modeDeflate, feat: feat("MODE Z"), // draft 3.5
				disabledBy:          func(s *Settings) bool { return s.DeflateCompressionLevel <= 0 },
				unknownWhenDisabled: true,
			},
		},
		split: wholeParam,
		unknown: func(c *clientHandler, name string) {
			c.reply(StatusNotImplementedParam, "Unsupported mode "+quoteVerb(name))
		},
	}
}

package ftpserver

import (
	"bytes"
	"maps"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/jlaffaye/ftp"
	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// verbsWhere returns the sorted verbs of the command table whose row satisfies keep.
func verbsWhere(keep func(*commandDesc) bool) []string {
	var verbs []string

	for verb, row := range commands {
		if keep(row) {
			verbs = append(verbs, verb)
		}
	}

	slices.Sort(verbs)

	return verbs
}

// enableOptIn turns on the commands that are off by default, so that each disabling setting
// is seen alone.
func enableOptIn(s *Settings) {
	s.EnableHASH = true
	s.EnableCOMB = true
}

// settingsCase is a configuration and the verbs it must turn off.
type settingsCase struct {
	name     string
	change   func(*Settings)
	disabled []string
}

// disablingSettings lists every setting that takes commands away, with the verbs each one
// removes: the table must agree with these lists, and these lists with the server.
func disablingSettings() []settingsCase {
	return []settingsCase{
		{
			name: "defaults", change: func(*Settings) {},
			disabled: []string{"COMB", "HASH", "RANG", "XCRC", "XMD5", "XSHA", "XSHA1", "XSHA256", "XSHA512"},
		},
		{name: "EnableHASH and EnableCOMB", change: enableOptIn, disabled: nil},
		{name: "DisableSYST", change: func(s *Settings) { enableOptIn(s); s.DisableSYST = true }, disabled: []string{"SYST"}},
		{name: "DisableSite", change: func(s *Settings) { enableOptIn(s); s.DisableSite = true }, disabled: []string{"SITE"}},
		{name: "DisableMLSD", change: func(s *Settings) { enableOptIn(s); s.DisableMLSD = true }, disabled: []string{"MLSD"}},
		{name: "DisableMLST", change: func(s *Settings) { enableOptIn(s); s.DisableMLST = true }, disabled: []string{"MLST"}},
		{name: "DisableMFMT", change: func(s *Settings) { enableOptIn(s); s.DisableMFMT = true }, disabled: []string{"MFMT"}},
		{
			name: "DisableActiveMode", change: func(s *Settings) { enableOptIn(s); s.DisableActiveMode = true },
			disabled: []string{"EPRT", "PORT"},
		},
	}
}

// TestCommandTableRows checks the rows' flags against each other and against the rules the
// protocol fixes for known verbs.
func TestCommandTableRows(t *testing.T) {
	for verb, row := range commands {
		assert.Equal(t, strings.ToUpper(verb), verb)
		assert.Equal(t, verb, row.verb, "a row knows its verb")
		handlers := 0
		for _, set := range []bool{row.handle != nil, row.handleRow != nil, row.notImplemented != ""} {
			if set {
				handlers++
			}
		}
		assert.Equal(t, 1, handlers, "%s: a row has one handler, or a not-implemented hint", verb)
		assert.Equal(t, row.dataConn, row.direction != noTransfer, "%s: a direction iff a data connection", verb)
	}

	assert.Equal(t, []string{"APPE", "STOR", "STOU"},
		verbsWhere(func(d *commandDesc) bool { return d.direction == TransferUpload }))
	assert.Equal(t, []string{"LIST", "MLSD", "NLST", "RETR"},
		verbsWhere(func(d *commandDesc) bool { return d.direction == TransferDownload }))
	assert.Equal(t, []string{"APPE", "LIST", "MLSD", "MODE", "NLST", "OPTS", "RETR", "SITE", "STOR", "STOU"},
		verbsWhere(func(d *commandDesc) bool { return d.handleRow != nil }), "the handlers that read their row")
	assert.Equal(t, []string{"MODE", "OPTS", "SITE"}, verbsWhere(func(d *commandDesc) bool { return d.sub != nil }))
	assert.Equal(t, []string{"AVBL"}, verbsWhere(func(d *commandDesc) bool { return d.extension != nil }))
	assert.Equal(t, []string{"SITE CHMOD", "SITE CHOWN", "SITE MKDIR", "SITE RMDIR", "SITE SYMLINK"},
		subcommandsWhere(func(_ *commandDesc, row subcommandDesc) bool { return row.writes }),
		"the SITE subcommands that a read-only session is refused")

	assert.Equal(t, []string{"APPE", "LIST", "MLSD", "NLST", "RETR", "STOR", "STOU"},
		verbsWhere(func(d *commandDesc) bool { return d.dataConn }))
	assert.Equal(t, []string{"EPRT", "PASV", "PORT"},
		verbsWhere(func(d *commandDesc) bool { return d.refusedAfterEPSVAll }), "RFC 2428 4")
	assert.Equal(t, []string{"LPRT", "LPSV"}, verbsWhere(func(d *commandDesc) bool { return d.notImplemented != "" }))
	assert.Equal(t, []string{"PASS"}, verbsWhere(func(d *commandDesc) bool { return d.secretParam }))
	assert.Equal(t, []string{"STOR"}, verbsWhere(func(d *commandDesc) bool { return d.replacesFile }))
	assert.Equal(t, []string{"ABOR", "NOOP", "STAT"}, verbsWhere(func(d *commandDesc) bool { return d.duringTransfer }))
	assert.Equal(t, []string{"ACCT", "PASS", "USER"}, verbsWhere(func(d *commandDesc) bool { return d.sequence == beforeLogin }))
	assert.Equal(t, []string{"HOST"}, verbsWhere(func(d *commandDesc) bool { return d.sequence == beforeUSER }))
	assert.Equal(t, []string{"CCC", "PBSZ", "PROT"},
		verbsWhere(func(d *commandDesc) bool { return d.sequence == afterTLS || d.sequence == afterPBSZ }))
	assert.Empty(t, verbsWhere(func(d *commandDesc) bool { return (d.sequence == anyTime) != (d.outOfSequence == rowReply{}) }),
		"a sequence rule has its reply, and only a sequence rule")
	assert.Equal(t, []string{"STAT"}, verbsWhere(func(d *commandDesc) bool { return d.queuedWithParam }))
	assert.Equal(t, []string{"STAT"}, verbsWhere(func(d *commandDesc) bool { return d.bareDisabledBy != nil }))
	assert.Equal(t, []string{
		"ACCT", "AUTH", "CCC", "CLNT", "FEAT", "HELP", "HOST", "LANG", "NOOP", "OPTS", "PASS", "PBSZ", "PROT",
		"QUIT", "REIN", "SYST", "USER",
	}, verbsWhere(func(d *commandDesc) bool { return d.open }))

	// Every row a setting can turn off is turned off by one of the cases the tests below run.
	covered := map[string]bool{}
	for _, tc := range disablingSettings() {
		for _, verb := range tc.disabled {
			covered[verb] = true
		}
	}

	assert.Equal(t, verbsWhere(func(d *commandDesc) bool { return d.disabledBy != nil }),
		slices.Sorted(maps.Keys(covered)))
}

// replyBody sends a command answered by a multi-line reply and returns the lines between its
// first and its last.
func replyBody(t *testing.T, rc *rawClient, command string, code int) []string {
	t.Helper()

	lines := strings.Split(rc.expect(command, code), "\n")
	require.Greater(t, len(lines), 2, command)

	return lines[1 : len(lines)-1]
}

// featLineSet returns the lines of a FEAT reply, without the leading space.
func featLineSet(t *testing.T, rc *rawClient) map[string]bool {
	t.Helper()

	set := map[string]bool{}
	for _, line := range replyBody(t, rc, "FEAT", StatusSystemStatus) {
		set[strings.TrimPrefix(line, " ")] = true
	}

	return set
}

// helpVerbSet returns the verbs a HELP reply lists.
func helpVerbSet(t *testing.T, rc *rawClient) map[string]bool {
	t.Helper()

	set := map[string]bool{}
	for _, line := range replyBody(t, rc, "HELP", StatusHelpMessage) {
		for _, verb := range strings.Fields(line) {
			set[verb] = true
		}
	}

	return set
}

// rowFeatLine is the FEAT line a row contributes on server s, "" for none.
func rowFeatLine(t *testing.T, s *testServer, row *commandDesc) string {
	t.Helper()

	if row.feat == nil {
		return ""
	}

	// A session of its own, never served, only asked for its feature lines.
	local, remote := net.Pipe()
	t.Cleanup(func() {
		_ = local.Close()
		_ = remote.Close()
	})

	return row.feat(newClientHandler(s.FtpServer, local, 0))
}

// TestCommandTableDisabled walks the table under each setting that takes commands away: a
// disabled verb is refused (before login, as the dispatcher checks it first) and absent from
// FEAT and HELP; an enabled one is listed by both.
func TestCommandTableDisabled(t *testing.T) {
	for _, tc := range disablingSettings() {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t, withSettings(tc.change))
			require.Equal(t, tc.disabled, verbsWhere(func(d *commandDesc) bool { return d.disabled(s.settings) }))

			rc := s.raw(t)
			feats := featLineSet(t, rc)
			helps := helpVerbSet(t, rc)

			for verb, row := range commands {
				disabled := row.disabled(s.settings)

				if line := rowFeatLine(t, s, row); line != "" {
					assert.Equal(t, !disabled, feats[line], "FEAT line %q of %s", line, verb)
				}

				assert.Equal(t, !disabled, helps[verb], "HELP lists %s", verb)

				if disabled {
					wantCode, wantText := row.disabledRefusal(verb)
					code, text := rc.cmd(verb + " x")
					assert.Equal(t, wantCode, code, verb)
					assert.Equal(t, wantText, text, verb)
					assert.Equal(t, "Unknown command", rc.expect("HELP "+verb, StatusCommandNotImplemented))
				} else {
					assert.Equal(t, verb+" is supported", rc.expect("HELP "+verb, StatusHelpMessage))
				}
			}
		})
	}
}

// TestCommandDisabledReplies pins the replies of disabled verbs as a client sees them.
func TestCommandDisabledReplies(t *testing.T) {
	s := newTestServer(t, withSettings(func(s *Settings) {
		s.DisableMLSD = true
		s.DisableMFMT = true
		s.DisableActiveMode = true
	}))
	rc := s.rawLoggedIn(t)

	assert.Equal(t, "MLSD is disabled on this server", rc.expect("MLSD", StatusCommandNotImplemented))
	assert.Equal(t, "XCRC is disabled on this server", rc.expect("XCRC /f", StatusCommandNotImplemented))
	// RFC 959 5.4 lists 421 among PORT's replies, 502 not.
	assert.Equal(t, "PORT command is disabled", rc.expect("PORT 127,0,0,1,200,10", StatusServiceNotAvailable))
	assert.Equal(t, "EPRT command is disabled", rc.expect("EPRT |1|127.0.0.1|51210|", StatusServiceNotAvailable))

	feats := featLineSet(t, rc)
	assert.False(t, feats["MFMT"])
	assert.False(t, feats["EPRT"])
	assert.False(t, feats["HASH SHA-256*;SHA-512;SHA-1;MD5;CRC32"], "HASH is off by default")
	assert.True(t, feats["EPSV"])
	assert.True(t, feats["SIZE"])

	helps := helpVerbSet(t, rc)
	assert.False(t, helps["MLSD"])
	assert.False(t, helps["PORT"])
	assert.True(t, helps["MLST"])
	assert.True(t, helps["LPSV"], "a verb answered 502 'not implemented' is still known")

	// The session goes on after each refusal.
	rc.expect("NOOP", StatusOK)
}

// TestCommandLoginRequired sends every verb of the table before login: the rows that are not
// open get 530, the open ones reach their handler.
func TestCommandLoginRequired(t *testing.T) {
	const loginFirst = "Please login with USER and PASS"

	s := newTestServer(t, withSettings(enableOptIn))
	rc := s.raw(t)

	for _, verb := range verbsWhere(func(d *commandDesc) bool { return !d.open }) {
		code, text := rc.cmd(verb + " x")
		assert.Equal(t, StatusNotLoggedIn, code, verb)
		assert.Equal(t, loginFirst, text, verb)
	}

	// Some open verbs end or reset the session: each gets a connection of its own.
	for _, verb := range verbsWhere(func(d *commandDesc) bool { return d.open }) {
		_, text := s.raw(t).cmd(verb + " x")
		assert.NotEqual(t, loginFirst, text, verb)
	}

	assert.Equal(t, "UNIX Type: L8", rc.expect("SYST", StatusSystemType))
	rc.expect("RETR /f", StatusNotLoggedIn)
	rc.expect("LPSV", StatusNotLoggedIn)
}

// TestCommandEPSVAll checks RFC 2428 4: after EPSV ALL the rows marked for it are refused with
// 503, other verbs keep their replies, and the refusal comes after the argument check.
func TestCommandEPSVAll(t *testing.T) {
	const onlyEPSV = "Only EPSV is allowed after EPSV ALL"

	s := newTestServer(t)
	rc := s.rawLoggedIn(t)

	assert.Equal(t, "Bad PORT argument", rc.expect("PORT x", StatusSyntaxErrorParameters), "before EPSV ALL")
	assert.Equal(t, "EPSV ALL accepted", rc.expect("EPSV ALL", StatusOK))

	refused := verbsWhere(func(d *commandDesc) bool { return d.refusedAfterEPSVAll })
	for _, verb := range refused {
		assert.Equal(t, onlyEPSV, rc.expect(verb+" x", StatusBadCommandSequence), verb)
	}

	assert.Equal(t, onlyEPSV, rc.expect("PASV", StatusBadCommandSequence))
	assert.Equal(t, onlyEPSV, rc.expect("PORT 127,0,0,1,200,10", StatusBadCommandSequence))
	assert.Equal(t, onlyEPSV, rc.expect("EPRT |1|127.0.0.1|51210|", StatusBadCommandSequence))
	assert.Equal(t, "PORT needs an argument", rc.expect("PORT", StatusSyntaxErrorParameters))
	assert.Equal(t, "LPSV is not implemented, use EPSV or EPRT", rc.expect("LPSV", StatusCommandNotImplemented))
	assert.Equal(t, "LPRT is not implemented, use EPSV or EPRT", rc.expect("LPRT x", StatusCommandNotImplemented))
	rc.expect("EPSV", StatusEnteringEPSV)
}

// TestChecksumUsageNamesVerb checks that each X* command names itself in its usage reply,
// XSHA and XSHA1 sharing one algorithm.
func TestChecksumUsageNamesVerb(t *testing.T) {
	s := newTestServer(t, withSettings(enableOptIn))
	rc := s.rawLoggedIn(t)

	for _, verb := range []string{"XCRC", "XMD5", "XSHA", "XSHA1", "XSHA256", "XSHA512"} {
		assert.Equal(t, "Usage: "+verb+` <path> [<start> [<end>]], "quoted path"`,
			rc.expect(verb+` "/f" x`, StatusSyntaxErrorParameters))
	}
}

// TestCommandSecretParamMasked checks that a debug log shows PASS without the password.
func TestCommandSecretParamMasked(t *testing.T) {
	var out bytes.Buffer

	driver := &testDriver{fs: afero.NewMemMapFs(), settings: &Settings{ListenAddr: "127.0.0.1:0"}}
	server := NewFtpServer(driver)
	server.Logger = log.NewLogfmtLogger(log.NewSyncWriter(&out))
	require.NoError(t, server.Listen())

	served := make(chan error, 1)

	go func() { served <- server.Serve() }()

	conn, err := ftp.Dial(server.Addr(), ftp.DialWithTimeout(5*time.Second))
	require.NoError(t, err)

	driver.mu.Lock()
	driver.lastClientCtx.SetDebug(true)
	driver.mu.Unlock()

	require.NoError(t, conn.Login(testUser, testPass))
	require.NoError(t, conn.Quit())
	require.NoError(t, server.Stop())
	require.NoError(t, <-served)

	logged := out.String()
	assert.Contains(t, logged, `line="USER `+testUser+`"`)
	assert.Contains(t, logged, `line="PASS ****"`)
	assert.NotContains(t, logged, testPass)
}

// TestCommandSequenceRules sends each verb with a sequence rule where the session is not at its
// step, and checks that the reply is the row's: the login verbs once logged in (HOST also
// between USER and PASS), the TLS verbs on a clear control connection, before login and after.
func TestCommandSequenceRules(t *testing.T) {
	s := newTestServer(t, withTLS(t))
	loggedIn, plain := s.rawLoggedIn(t), s.raw(t)

	for verb, row := range commands {
		switch row.sequence {
		case beforeLogin, beforeUSER:
			assert.Equal(t, row.outOfSequence.text, loggedIn.expect(verb+" x", row.outOfSequence.code), verb)
		case afterTLS, afterPBSZ:
			assert.Equal(t, row.outOfSequence.text, plain.expect(verb+" x", row.outOfSequence.code), verb)
			assert.Equal(t, row.outOfSequence.text, loggedIn.expect(verb+" x", row.outOfSequence.code), verb)
		case anyTime:
		}
	}

	// The rules come after the argument check, as the handlers had them.
	assert.Equal(t, "USER needs an argument", loggedIn.expect("USER", StatusSyntaxErrorParameters))
	assert.Equal(t, "PBSZ needs an argument", plain.expect("PBSZ", StatusSyntaxErrorParameters))

	between := s.raw(t)
	between.expect("USER "+testUser, StatusUserOK)
	assert.Equal(t, "HOST must be sent before USER", between.expect("HOST example.com", StatusBadCommandSequence))
	assert.Equal(t, "Log in with USER and PASS first", between.expect("ACCT x", StatusBadCommandSequence))

	secured := s.raw(t)
	secured.startTLS(clientTLSConfig())
	assert.Equal(t, "PROT needs AUTH TLS and PBSZ first", secured.expect("PROT P", StatusBadCommandSequence))
	assert.Equal(t, "CCC refused: the control connection stays protected", secured.expect("CCC", StatusPolicyRequiresTLS))
	assert.Equal(t, "PBSZ=0", secured.expect("PBSZ 0", StatusOK))
	assert.Equal(t, "OK", secured.expect("PROT P", StatusOK))
}

// subCase is a configuration and the subcommands ("VERB NAME") it must turn off.
type subCase struct {
	name     string
	change   func(*Settings)
	disabled []string
}

// subcommandsWhere returns the sorted "VERB NAME" of every sub-table row satisfying keep.
func subcommandsWhere(keep func(verb *commandDesc, row subcommandDesc) bool) []string {
	var names []string

	for verb, cmd := range commands {
		if cmd.sub == nil {
			continue
		}

		for name, row := range cmd.sub.rows {
			if keep(cmd, row) {
				names = append(names, verb+" "+name)
			}
		}
	}

	slices.Sort(names)

	return names
}

// subUnknownReply is the reply each sub-table gives a name it does not hold, as a logged-in
// client sees it.
func subUnknownReply(verb, name string) (int, string) {
	switch verb {
	case "OPTS":
		return StatusSyntaxErrorParameters, "Unknown option " + quoteVerb(name)
	case "SITE":
		return StatusSyntaxErrorNotRecognised, "Unknown SITE subcommand: " + strings.ToUpper(name)
	default:
		return StatusNotImplementedParam, "Unsupported mode " + quoteVerb(name)
	}
}

// TestCommandSubTables walks the sub-tables of OPTS, SITE and MODE under the settings that turn
// their rows off, as TestCommandTableDisabled walks the table: a disabled row is refused (502,
// or as an unknown name when its row says so) and its FEAT line is absent; an enabled one
// reaches its handler and its FEAT line is listed; a name no table holds gets the table's
// unknown reply. HELP lists the verb while the verb itself is on, and has no entries for the
// rows.
func TestCommandSubTables(t *testing.T) {
	cases := []subCase{
		{name: "defaults", change: func(*Settings) {}, disabled: []string{"MODE Z", "OPTS HASH"}},
		{name: "all on", change: func(s *Settings) { enableOptIn(s); s.DeflateCompressionLevel = 6 }},
		{
			name: "DisableMLST only", change: func(s *Settings) { enableOptIn(s); s.DisableMLST = true },
			disabled: []string{"MODE Z"},
		},
		{
			name: "DisableMLST and DisableMLSD", disabled: []string{"MODE Z", "OPTS MLST"},
			change: func(s *Settings) { enableOptIn(s); s.DisableMLST, s.DisableMLSD = true, true },
		},
		{
			name: "DisableSite", change: func(s *Settings) { s.DisableSite = true },
			disabled: []string{"MODE Z", "OPTS HASH", "SITE CHMOD", "SITE CHOWN", "SITE MKDIR", "SITE RMDIR", "SITE SYMLINK"},
		},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t, withSettings(tc.change))
			require.Equal(t, tc.disabled, subcommandsWhere(func(cmd *commandDesc, row subcommandDesc) bool {
				return cmd.disabled(s.settings) || row.disabled(s.settings)
			}))

			rc := s.rawLoggedIn(t)
			feats, helps := featLineSet(t, rc), helpVerbSet(t, rc)

			for verb, cmd := range commands {
				if cmd.sub == nil {
					continue
				}

				assert.Equal(t, !cmd.disabled(s.settings), helps[verb], "HELP lists %s", verb)

				for name := range cmd.sub.rows {
					checkSubcommand(t, rc, feats, s.settings, verb, name, slices.Contains(tc.disabled, verb+" "+name))
				}

				if !cmd.disabled(s.settings) {
					code, text := subUnknownReply(verb, "NOSUCH")
					assert.Equal(t, text, rc.expect(verb+" NOSUCH", code), verb)
				}
			}
		})
	}
}

// checkSubcommand sends "VERB NAME" and checks its reply and FEAT line against its rows.
func checkSubcommand(t *testing.T, rc *rawClient, feats map[string]bool, settings *Settings, verb, name string,
	disabled bool,
) {
	t.Helper()

	cmd, line := commands[verb], verb+" "+name
	row := cmd.sub.rows[name]

	if row.feat != nil {
		featLine := row.feat(nil) // the sub-tables' FEAT lines are fixed texts
		assert.Equal(t, !disabled, feats[featLine], "FEAT line %q of %s", featLine, line)
	}

	code, text := rc.cmd(line)

	switch {
	case cmd.disabled(settings):
		assert.Equal(t, StatusCommandNotImplemented, code, line)
		assert.Equal(t, verb+" is disabled on this server", text, line)
	case disabled && row.unknownWhenDisabled:
		wantCode, wantText := subUnknownReply(verb, name)
		assert.Equal(t, wantCode, code, line)
		assert.Equal(t, wantText, text, line)
	case disabled:
		assert.Equal(t, StatusCommandNotImplemented, code, line)
		assert.Equal(t, name+" is disabled on this server", text, line)
	default:
		assert.NotContains(t, text, "disabled", line)
		assert.NotContains(t, []int{StatusCommandNotImplemented, StatusNotImplementedParam}, code, line)
	}
}

// TestCommandFileIndex checks that docs/architecture.md's verb → file index names every verb
// of the table, and every OPTS option and SITE subcommand, with a file that exists.
func TestCommandFileIndex(t *testing.T) {
	doc, err := os.ReadFile("docs/architecture.md")
	require.NoError(t, err)

	_, index, found := strings.Cut(string(doc), "### Verb → file\n")
	require.True(t, found, "the index section")
	index, _, _ = strings.Cut(strings.TrimLeft(index, "\n"), "\n\n")

	seen := map[string]int{}

	for _, line := range strings.Split(index, "\n")[2:] { // past the header and its rule
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		require.Len(t, cells, 2, line)
		assert.FileExists(t, cells[1], line)

		for _, word := range strings.FieldsFunc(cells[0], func(r rune) bool { return (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '-' }) {
			seen[word]++
		}
	}

	for verb := range commands {
		assert.Positive(t, seen[verb], "%s in the verb → file index", verb)
	}

	for _, name := range subcommandsWhere(func(*commandDesc, subcommandDesc) bool { return true }) {
		_, sub, _ := strings.Cut(name, " ")
		assert.Positive(t, seen[sub], "%s in the verb → file index", name)
	}
}

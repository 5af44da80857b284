package ftpserver

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAppendReplyFormat(t *testing.T) {
	tests := []struct {
		name string
		code int
		msg  string
		want string
	}{
		{"single line", 200, "OK", "200 OK\r\n"},
		{"empty", 200, "", "200 \r\n"},
		{"two lines", 211, "Features:\nEnd", "211-Features:\r\n211 End\r\n"},
		{"continuation indented", 214, "Help:\nUSER PASS\n200 looks like an end\nOK",
			"214-Help:\r\n USER PASS\r\n 200 looks like an end\r\n214 OK\r\n"},
		{"trailing newline ignored", 220, "Welcome\n", "220 Welcome\r\n"},
		{"CR dropped", 220, "a\r\nb", "220-a\r\n220 b\r\n"},
		{"lone CR dropped", 200, "a\rb", "200 ab\r\n"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, string(appendReply(nil, tt.code, tt.msg)))
		})
	}
}

func TestReplyCodesFromDispatcher(t *testing.T) {
	s := newTestServer(t, withSettings(func(s *Settings) { s.DisableSYST = true }))
	rc := s.raw(t)

	assert.Equal(t, "Unknown command", rc.expect("FOO bar", StatusSyntaxErrorNotRecognised))
	rc.expect("CWD /", StatusNotLoggedIn)
	rc.expect("RETR x", StatusNotLoggedIn)
	rc.expect("PASS secret", StatusBadCommandSequence)
	rc.expect("USER", StatusSyntaxErrorParameters)
	rc.expect("SYST", StatusCommandNotImplemented)
	rc.expect("noop", StatusOK)
	rc.expect("NoOp", StatusOK)

	rc.expect("USER "+testUser, StatusUserOK)
	rc.expect("PASS "+testPass, StatusUserLoggedIn)
	assert.Equal(t, `Unknown command "FOO"`, rc.expect("FOO bar", StatusSyntaxErrorNotRecognised))
	rc.expect("RNTO", StatusSyntaxErrorParameters)
	rc.expect("RNTO /b", StatusBadCommandSequence)
	rc.expect("MKD", StatusSyntaxErrorParameters)
	rc.expect("LPSV", StatusCommandNotImplemented)
	rc.expect("QUIT", StatusClosingControlConn)
}

// TestLineTooLong sends a line one byte over the limit, with no line end: the 500 comes
// without waiting for one, and the connection is closed. A line exactly at the limit is served.
func TestLineTooLong(t *testing.T) {
	const limit = 100

	s := newTestServer(t, withSettings(func(s *Settings) { s.MaxCommandLineLength = limit }))

	for _, loggedIn := range []bool{false, true} {
		rc := s.raw(t)
		if loggedIn {
			rc.loginAs()
		}

		rc.expect("NOOP "+strings.Repeat("y", limit-len("NOOP ")), StatusOK)

		_, err := rc.conn.Write([]byte("NOOP " + strings.Repeat("x", limit+1-len("NOOP "))))
		require.NoError(t, err)

		code, msg := rc.read()
		assert.Equal(t, StatusSyntaxErrorNotRecognised, code)
		assert.Equal(t, "Command line too long", msg)
		requireClosed(t, rc)
	}
}

// reflectionProbe is text that a cross-protocol attack (ALPACA) would have an FTP server
// reflect into a browser.
const reflectionProbe = "<SCRIPT/SRC=//EV.IL></SCRIPT>"

// TestNoEchoBeforeLogin sends every verb of the command table, and unknown ones, with an
// argument a browser would run if reflected: before login, no reply holds any of it. After
// login an unknown verb is quoted, as ftpserverlib does.
func TestNoEchoBeforeLogin(t *testing.T) {
	s := newTestServer(t, withTLS(t))
	rc := s.raw(t)

	exact := []struct {
		line string
		code int
		text string
	}{
		{reflectionProbe, StatusSyntaxErrorNotRecognised, "Unknown command"},
		{reflectionProbe + " x", StatusSyntaxErrorNotRecognised, "Unknown command"},
		{"OPTS " + reflectionProbe, StatusSyntaxErrorParameters, "Unknown option"},
		{"HELP " + reflectionProbe, StatusCommandNotImplemented, "Unknown command"},
		{"LANG xx-" + reflectionProbe, StatusSyntaxErrorParameters, "LANG takes a language tag such as EN"},
		{"LANG xx-evil", StatusNotImplementedParam, "Unsupported language, only EN is available"},
		{"HOST " + reflectionProbe, StatusSyntaxErrorParameters,
			"HOST takes a domain name, an IPv4 address or an [IPv6] address"},
		{"AUTH " + reflectionProbe, StatusNotImplementedParam, "Unsupported mechanism, use AUTH TLS"},
		{"CWD " + reflectionProbe, StatusNotLoggedIn, "Please login with USER and PASS"},
	}

	for _, tt := range exact {
		code, text := rc.cmd(tt.line)
		assert.Equal(t, tt.code, code, tt.line)
		assert.Equal(t, tt.text, text, tt.line)
	}

	verbs := slices.Sorted(maps.Keys(commands))
	for _, verb := range verbs {
		if verb == "QUIT" {
			continue
		}

		_, text := rc.cmd(verb + " " + reflectionProbe)
		assertNoProbe(t, verb, text)
	}

	rc.loginAs()

	_, text := rc.cmd("BOGUS")
	assert.Equal(t, `Unknown command "BOGUS"`, text)
}

// assertNoProbe requires that a reply repeats no part of reflectionProbe.
func assertNoProbe(t *testing.T, line, reply string) {
	t.Helper()

	for _, part := range []string{"<", ">", "SCRIPT", "EV.IL"} {
		assert.NotContains(t, strings.ToUpper(reply), part, "reply to %q", line)
	}
}

// TestHTTPBeforeLoginCloses sends what a browser sends, as a cross-protocol attack would have
// it sent to the FTP port: the server answers one fixed line and closes. After login the same
// line is only an unknown command.
func TestHTTPBeforeLoginCloses(t *testing.T) {
	logs := &logRecorder{}
	s := newTestServer(t, withLogger(logs))
	requests := []string{
		"GET / HTTP/1.1\r\nHost: ftp.example\r\n\r\n",
		"post /" + reflectionProbe + " HTTP/1.0\r\n",
		"Host: ftp.example\r\n",
		"User-Agent: Mozilla/5.0\r\n",
		"BREW /pot HTTP/1.1\r\n",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
	}

	for _, request := range requests {
		rc := s.raw(t)

		_, err := rc.conn.Write([]byte(request))
		require.NoError(t, err)

		code, text := rc.read()
		assert.Equal(t, StatusServiceNotAvailable, code, request)
		assert.Equal(t, "This is an FTP server, not an HTTP one; closing", text, request)
		requireClosed(t, rc)
	}

	assert.Len(t, logs.values("http_request_refused", "remote"), len(requests))

	rc := s.raw(t)
	rc.expect("HOST ftp.example", StatusServiceReady) // FTP's HOST has no colon
	rc.loginAs()
	assert.Equal(t, `Unknown command "GET"`, rc.expect("GET / HTTP/1.1", StatusSyntaxErrorNotRecognised))
}

func TestLooksLikeHTTP(t *testing.T) {
	t.Parallel()

	for _, tt := range []struct {
		line string
		http bool
	}{
		{"GET / HTTP/1.1", true},
		{"get /", true},
		{"OPTIONS * HTTP/1.1", true},
		{"CONNECT evil.example:443 HTTP/1.1", true},
		{"Host: ftp.example", true},
		{"X-Forwarded-For: 1.2.3.4", true},
		{"MKCOL /dav HTTP/1.1", true},
		{"FOO bar http/1.0", true},
		{"HOST ftp.example", false},
		{"SITE HTTP", false},
		{":", false},
		{"", false},
		{"FOO bar", false},
		{"XCRC a", false},
	} {
		verb, param := parseCommandLine(tt.line)
		assert.Equal(t, tt.http, looksLikeHTTP(verb, param), tt.line)
	}
}

func TestTelnetSequencesIgnored(t *testing.T) {
	s := newTestServer(t)
	rc := s.raw(t)

	// IAC IP IAC DM, as RFC 959 4.1.3 has clients send before ABOR.
	rc.expect("\xff\xf4\xff\xf2NOOP", StatusOK)
	// IAC WILL <option> negotiation and an escaped 0xFF.
	rc.expect("\xff\xfb\x01NOOP", StatusOK)
}

func TestStripTelnet(t *testing.T) {
	tests := map[string]string{
		"NOOP":                         "NOOP",
		"\xff\xf4\xff\xf2ABOR":         "ABOR",
		"\xff\xfd\x18HELP":             "HELP",
		"A\xff\xffB":                   "A\xffB",
		"X\xff":                        "X",
		"\xff\xfa\x18\x01\xff\xf0NOOP": "NOOP",
		"\xff\xfa\x18":                 "",
	}

	for in, want := range tests {
		assert.Equal(t, want, stripTelnet([]byte(in)), "%q", in)
	}
}

func TestIdleTimeout(t *testing.T) {
	s := newTestServer(t, withSettings(func(s *Settings) { s.IdleTimeout = 1 }))
	rc := s.rawLoggedIn(t)

	code, msg := rc.read() // nothing sent: the server speaks first after a second
	assert.Equal(t, StatusServiceNotAvailable, code)
	assert.Contains(t, msg, "Idle timeout")
}

func TestLoginTimeout(t *testing.T) {
	s := newTestServer(t, withSettings(func(s *Settings) { s.LoginTimeout = 1 }))
	rc := s.raw(t)
	rc.expect("NOOP", StatusOK) // activity does not extend the time to log in

	code, msg := rc.read()
	assert.Equal(t, StatusServiceNotAvailable, code)
	assert.Contains(t, msg, "Login timeout")
}

func TestFEATListsTable(t *testing.T) {
	s := newTestServer(t, withSettings(func(s *Settings) { s.DisableMFMT = true }))
	rc := s.raw(t)

	msg := rc.expect("FEAT", StatusSystemStatus)
	lines := strings.Split(msg, "\n")
	assert.Equal(t, "Features:", lines[0])
	assert.Equal(t, "End", lines[len(lines)-1])

	for _, want := range []string{"SIZE", "MDTM", "REST STREAM", "EPSV", "UTF8", "CLNT"} {
		assert.Contains(t, lines, " "+want)
	}

	// RFC 3659 7.8: the facts a session starts with are starred; the UNIX ones wait for OPTS MLST.
	assert.Contains(t, msg, " MLST type*;size*;modify*;perm*;unique*;UNIX.mode;UNIX.owner;UNIX.group;")
	assert.NotContains(t, msg, "MFMT", "disabled by DisableMFMT")
	assert.NotContains(t, msg, "AUTH TLS", "the driver has no TLS configuration")
}

func TestHELP(t *testing.T) {
	s := newTestServer(t, withSettings(func(s *Settings) { s.DisableSite = true }))
	rc := s.raw(t)

	msg := rc.expect("HELP", StatusHelpMessage)
	assert.Contains(t, msg, "RETR")
	assert.NotContains(t, msg, "SITE")
	assert.Equal(t, "RETR is supported", rc.expect("HELP retr", StatusHelpMessage))
	rc.expect("HELP SITE", StatusCommandNotImplemented)
}

func TestSTATServer(t *testing.T) {
	s := newTestServer(t, withSettings(func(s *Settings) { s.Banner = "Test banner" }))
	rc := s.rawLoggedIn(t)
	rc.expect("TYPE I", StatusOK)

	msg := rc.expect("STAT", StatusSystemStatus)
	assert.True(t, strings.HasPrefix(msg, "Test banner status:\n"), msg)
	assert.Contains(t, msg, "TYPE: BINARY")
	assert.Contains(t, msg, "No data transfer in progress")
}

func TestSTATDisabled(t *testing.T) {
	s := newTestServer(t, withSettings(func(s *Settings) { s.DisableSTAT = true }))
	require.NoError(t, writeFile(s.driver.fs, "/f.txt", []byte("x")))

	rc := s.raw(t)
	assert.Equal(t, "Please login with USER and PASS", rc.expect("STAT", StatusNotLoggedIn))

	rc = s.rawLoggedIn(t)
	assert.Equal(t, "STAT is disabled on this server", rc.expect("STAT", StatusCommandNotImplemented))
	assert.Contains(t, rc.expect("STAT /f.txt", StatusFileStatus), "f.txt")
	assert.Contains(t, rc.expect("HELP", StatusHelpMessage), "STAT", "the argument form stays")
}

func TestClientContext(t *testing.T) {
	s := newTestServer(t)
	rc := s.rawLoggedIn(t)
	assert.Equal(t, "Good to know", rc.expect("CLNT my client 1.0", StatusOK))
	rc.expect("NOOP", StatusOK)

	s.driver.mu.Lock()
	cc := s.driver.lastClientCtx
	s.driver.mu.Unlock()

	assert.Equal(t, "my client 1.0", cc.GetClientVersion())
	assert.Equal(t, "NOOP", cc.GetLastCommand())
	assert.Equal(t, "/", cc.Path())
	assert.False(t, cc.HasTLSForControl())
	assert.False(t, cc.HasTLSForTransfers())
	assert.Equal(t, rc.conn.LocalAddr().String(), cc.RemoteAddr().String())
	assert.Equal(t, rc.conn.RemoteAddr().String(), cc.LocalAddr().String())
	assert.NotZero(t, cc.ID())

	cc.SetExtra(42)
	assert.Equal(t, 42, cc.Extra())
	cc.SetDebug(true)
	assert.True(t, cc.Debug())
	require.Error(t, cc.SetTLSRequirement(MandatoryEncryption), "already logged in over clear text")
	require.Error(t, cc.SetTLSRequirement(ImplicitEncryption))
	require.EqualError(t, cc.SetTLSRequirement(-1), "invalid TLS requirement")
	require.NoError(t, cc.SetTLSRequirement(ClearOrEncrypted))

	require.NoError(t, cc.Close())

	_, _, err := rc.text.ReadResponse(0)
	require.Error(t, err, "Close ends the session")
}

func TestPreAuthUser(t *testing.T) {
	s := newTestServer(t, func(d *testDriver) {
		d.preAuth = func(_ ClientContext, user string) error {
			if user == "banned" {
				return errors.New("banned")
			}

			return nil
		}
	})
	rc := s.raw(t)
	assert.Equal(t, "User rejected: banned", rc.expect("USER banned", StatusNotLoggedIn))
	rc.expect("USER "+testUser, StatusUserOK)
	rc.expect("PASS wrong", StatusNotLoggedIn)
	// A failed PASS forgets the user: the client starts again with USER.
	rc.expect("PASS "+testPass, StatusBadCommandSequence)
	rc.expect("USER "+testUser, StatusUserOK)
	rc.expect("PASS "+testPass, StatusUserLoggedIn)
	rc.expect("PASS "+testPass, StatusBadCommandSequence)
	rc.expect("USER other", StatusBadCommandSequence)
}

func TestPreAuthUserRequiresTLS(t *testing.T) {
	s := newTestServer(t, func(d *testDriver) {
		d.preAuth = func(cc ClientContext, _ string) error {
			return cc.SetTLSRequirement(MandatoryEncryption)
		}
	})
	rc := s.raw(t)
	assert.Equal(t, "TLS is required", rc.expect("USER "+testUser, StatusServiceNotAvailable))
	requireClosed(t, rc)
}

func TestREINAndQUIT(t *testing.T) {
	s := newTestServer(t)
	rc := s.rawLoggedIn(t)
	rc.expect("MKD /dir", StatusPathCreated)
	rc.expect("CWD /dir", StatusFileOK)
	rc.expect("REIN", StatusServiceReady)
	assert.Equal(t, "Please login with USER and PASS", rc.expect("PWD", StatusNotLoggedIn))
	rc.expect("USER "+testUser, StatusUserOK)
	rc.expect("PASS "+testPass, StatusUserLoggedIn)
	assert.Equal(t, `"/" is the current directory`, rc.expect("PWD", StatusPathCreated))
	assert.Equal(t, "Goodbye", rc.expect("QUIT", StatusClosingControlConn))
}

func TestACCT(t *testing.T) {
	s := newTestServer(t)
	rc := s.raw(t)
	rc.expect("ACCT x", StatusBadCommandSequence)
	rc.expect("USER "+testUser, StatusUserOK)
	rc.expect("PASS "+testPass, StatusUserLoggedIn)
	rc.expect("ACCT x", StatusNotImplemented)
}

func TestOPTS(t *testing.T) {
	s := newTestServer(t)
	rc := s.raw(t)
	assert.Equal(t, "I'm in UTF8 only anyway", rc.expect("OPTS UTF8", StatusOK))
	assert.Equal(t, "I'm in UTF8 only anyway", rc.expect("OPTS UTF8 ON", StatusOK))
	rc.expect("OPTS UTF8 OFF", StatusOK)
	rc.expect("OPTS UTF8 MAYBE", StatusSyntaxErrorParameters)
	rc.expect("OPTS NOPE", StatusSyntaxErrorParameters)
	assert.Equal(t, "MLST OPTS type;size;", rc.expect("OPTS MLST type;size;unknown;", StatusOK))

	msg := rc.expect("FEAT", StatusSystemStatus)
	assert.Contains(t, msg, " MLST type*;size*;modify;perm;unique;UNIX.mode;UNIX.owner;UNIX.group;")
}

func TestSYSTAndTypes(t *testing.T) {
	s := newTestServer(t)
	rc := s.rawLoggedIn(t)
	assert.Equal(t, "UNIX Type: L8", rc.expect("SYST", StatusSystemType))

	for _, ok := range []string{"TYPE A", "TYPE A N", "TYPE I", "TYPE L 8", "type i", "MODE S", "STRU F"} {
		rc.expect(ok, StatusOK)
	}

	assert.Equal(t, "Type set to ASCII", rc.expect("TYPE L 7", StatusOK))
	assert.Equal(t, "Type set to binary", rc.expect("TYPE L8", StatusOK))
	assert.Equal(t, "Type set to ASCII", rc.expect("type a n", StatusOK))

	for _, refused := range []string{"TYPE E", "TYPE A T", "TYPE X", "MODE B", "MODE C", "STRU R", "STRU P"} {
		rc.expect(refused, StatusNotImplementedParam)
	}
}

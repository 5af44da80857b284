package ftpserver

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/textproto"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/log/level"
	"github.com/jlaffaye/ftp"
	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExplicitTLSWithJlaffaye(t *testing.T) {
	s := newTestServer(t, withTLS(t), withOsFs(t))
	conn := s.dial(t, ftp.DialWithExplicitTLS(clientTLSConfig()))

	content := testContent(3 << 20)
	require.NoError(t, conn.Stor("secret.bin", bytes.NewReader(content)))

	stored, err := afero.ReadFile(s.driver.fs, "/secret.bin")
	require.NoError(t, err)
	assert.Equal(t, sha256Hex(content), sha256Hex(stored))

	r, err := conn.Retr("secret.bin")
	require.NoError(t, err)
	assert.Equal(t, sha256Hex(content), sha256Hex(readAllClose(t, r)))

	entries, err := conn.List("/")
	require.NoError(t, err)
	require.Len(t, entries, 2, "MLSD's entry for the directory itself and the file")

	s.driver.mu.Lock()
	cc := s.driver.lastClientCtx
	s.driver.mu.Unlock()

	assert.True(t, cc.HasTLSForControl())
	assert.True(t, cc.HasTLSForTransfers())
}

func TestImplicitTLS(t *testing.T) {
	s := newTestServer(t, withTLS(t), withSettings(func(s *Settings) { s.TLSRequired = ImplicitEncryption }))
	conn := s.dial(t, ftp.DialWithTLS(clientTLSConfig()))

	require.NoError(t, conn.Stor("f.txt", strings.NewReader("implicit")))
	r, err := conn.Retr("f.txt")
	require.NoError(t, err)
	assert.Equal(t, "implicit", string(readAllClose(t, r)))

	// Data connections are protected from the start: a clear one never completes a transfer.
	raw, err := tls.Dial("tcp", s.Addr(), clientTLSConfig())
	require.NoError(t, err)

	rc := &rawClient{t: t, conn: raw, text: textproto.NewConn(raw)}
	t.Cleanup(func() { _ = rc.text.Close() })

	code, _ := rc.read()
	require.Equal(t, StatusServiceReady, code)
	rc.expect("USER "+testUser, StatusUserOK)
	rc.expect("PASS "+testPass, StatusUserLoggedIn)

	data := rc.pasvTLS(clientTLSConfig())
	rc.expect("RETR /f.txt", StatusFileStatusOK)
	assert.Equal(t, "implicit", string(readAllClose(t, data)))
}

func TestTLSHandshakeTimeout(t *testing.T) {
	s := newTestServer(t, withTLS(t), withSettings(func(s *Settings) {
		s.TLSRequired = ImplicitEncryption
		s.ConnectionTimeout = 1
	}))

	conn, err := net.Dial("tcp", s.Addr())
	require.NoError(t, err)

	defer conn.Close()

	// Silent client: the server must drop it once the handshake time is over.
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, err = io.ReadAll(conn)
	require.NoError(t, err, "the server closes the connection (EOF), not our deadline")
}

func TestMandatoryEncryption(t *testing.T) {
	s := newTestServer(t, withTLS(t), withSettings(func(s *Settings) { s.TLSRequired = MandatoryEncryption }))
	require.NoError(t, writeFile(s.driver.fs, "/f.txt", []byte("data")))

	// Logging in without TLS closes the session: the client reconnects and starts TLS first.
	rc := s.raw(t)
	assert.Equal(t, "TLS is required", rc.expect("USER "+testUser, StatusServiceNotAvailable))
	requireClosed(t, rc)

	rc = s.raw(t)
	rc.startTLS(clientTLSConfig())
	rc.expect("USER "+testUser, StatusUserOK)
	rc.expect("PASS "+testPass, StatusUserLoggedIn)

	rc.expect("PROT P", StatusBadCommandSequence) // PBSZ first (RFC 4217 9)
	rc.expect("PBSZ 0", StatusOK)
	rc.expect("PROT C", StatusOK)
	rc.expect("RETR /f.txt", StatusDataConnRefusedByPROT)
	rc.expect("PROT S", StatusProtectionLevelNotSupported)
	rc.expect("PROT X", StatusNotImplementedParam)
	rc.expect("PROT P", StatusOK)

	data := rc.pasvTLS(clientTLSConfig())
	rc.expect("RETR /f.txt", StatusFileStatusOK)
	assert.Equal(t, "data", string(readAllClose(t, data)))

	code, _ := rc.read()
	assert.Equal(t, StatusClosingDataConn, code)
	rc.expect("CCC", StatusPolicyRequiresTLS)
	rc.expect("AUTH TLS", StatusBadCommandSequence)
}

func TestAUTHErrors(t *testing.T) {
	s := newTestServer(t)
	rc := s.raw(t)
	rc.expect("AUTH TLS", StatusTLSUnavailable)
	rc.expect("AUTH KERBEROS", StatusNotImplementedParam)
	rc.expect("PBSZ 0", StatusBadCommandSequence)
	rc.expect("PROT P", StatusBadCommandSequence)
	rc.expect("CCC", StatusCommandProtectionDenied)
}

func TestAUTHWithPipelinedCommandCloses(t *testing.T) {
	s := newTestServer(t, withTLS(t))
	rc := s.raw(t)

	// A command sent in clear text right behind AUTH could be injected by a third party.
	_, err := rc.conn.Write([]byte("AUTH TLS\r\nUSER test\r\n"))
	require.NoError(t, err)

	code, _ := rc.read()
	if code == StatusAuthAccepted {
		t.Skip("both lines were not read together; nothing to check this time")
	}

	assert.Equal(t, StatusBadCommandSequence, code)

	_, _, err = rc.text.ReadResponse(0)
	require.Error(t, err, "the connection is closed")
}

func TestTLSSessionReuseRequired(t *testing.T) {
	logs := &logRecorder{}
	s := newTestServer(t, withTLS(t), withLogger(level.NewFilter(logs, level.AllowWarn())),
		withSettings(func(s *Settings) { s.TLSRequireSessionReuse = true }))
	require.NoError(t, writeFile(s.driver.fs, "/f.txt", []byte("reused")))

	config := clientTLSConfig()
	rc := s.rawProtected(t, config) // reading replies takes in the session ticket

	// Same session cache: the data connection resumes the control session and is accepted.
	data := rc.pasvTLS(config)
	rc.expect("RETR /f.txt", StatusFileStatusOK)
	assert.Equal(t, "reused", string(readAllClose(t, data)))
	require.True(t, data.ConnectionState().DidResume)

	code, _ := rc.read()
	require.Equal(t, StatusClosingDataConn, code)

	// A fresh session (another party, or a client that does not resume) is refused, with the
	// reason and the remedy in the reply and in the log at the level production loggers keep.
	fresh := clientTLSConfig()
	data = rc.pasvTLS(fresh)
	rc.expect("RETR /f.txt", StatusFileStatusOK)

	_, _ = io.ReadAll(data)

	code, text := rc.read()
	assert.Equal(t, StatusCannotOpenDataConnection, code)
	assert.Equal(t, sessionNotReusedReply, text)
	assert.Equal(t, []string{sessionNotReusedReply}, logs.values("data_tls_refused", "reason"))

	// The session goes on.
	rc.expect("NOOP", StatusOK)
}

// sessionNotReusedReply is the text of the 425 refusing a data connection that did not resume
// the control connection's TLS session.
const sessionNotReusedReply = "TLS session reuse required: the data connection did not resume the control " +
	"connection's TLS session; use a client that reuses it, or ask the administrator to make reuse optional"

// TestTLSSessionNotReusedWithJlaffaye uses jlaffaye/ftp without a TLS session cache, as a client
// that opens a new TLS session on each data connection (Python's ftplib, Commons Net): with
// reuse required its upload is refused with the reason, with reuse optional it succeeds.
func TestTLSSessionNotReusedWithJlaffaye(t *testing.T) {
	for _, required := range []bool{true, false} {
		s := newTestServer(t, withTLS(t), withSettings(func(s *Settings) { s.TLSRequireSessionReuse = required }))
		conn := s.dial(t, ftp.DialWithExplicitTLS(&tls.Config{
			InsecureSkipVerify: true, // test server with a throw-away certificate
			ServerName:         "ftpkit.test",
		}))

		content := testContent(100_000)
		err := conn.Stor("f.bin", bytes.NewReader(content))

		if !required {
			require.NoError(t, err)

			stored, readErr := afero.ReadFile(s.driver.fs, "/f.bin")
			require.NoError(t, readErr)
			assert.Equal(t, sha256Hex(content), sha256Hex(stored))

			continue
		}

		var protoErr *textproto.Error
		require.ErrorAs(t, err, &protoErr)
		assert.Equal(t, StatusCannotOpenDataConnection, protoErr.Code)
		assert.Equal(t, sessionNotReusedReply, protoErr.Msg)
	}
}

func TestTLSSessionOfAnotherClientDoesNotResume(t *testing.T) {
	s := newTestServer(t, withTLS(t), withSettings(func(s *Settings) { s.TLSRequireSessionReuse = true }))
	require.NoError(t, writeFile(s.driver.fs, "/f.txt", []byte("mine")))

	shared := clientTLSConfig() // one cache for two clients: the second holds the first's ticket

	first := s.raw(t)
	first.startTLS(shared)
	first.expect("USER "+testUser, StatusUserOK)
	first.expect("PASS "+testPass, StatusUserLoggedIn)

	second := s.rawProtected(t, clientTLSConfig())

	data := second.pasvTLS(shared)
	second.expect("RETR /f.txt", StatusFileStatusOK)

	_, _ = io.ReadAll(data)

	code, _ := second.read()
	assert.Equal(t, StatusCannotOpenDataConnection, code)
}

// certDriver logs users in by their TLS client certificate.
type certDriver struct{ *testDriver }

func (d certDriver) VerifyConnection(_ ClientContext, user string, conn *tls.Conn) (ClientDriver, error) {
	certs := conn.ConnectionState().PeerCertificates
	switch {
	case len(certs) == 0:
		return nil, nil // no certificate: ask for the password
	case certs[0].Subject.CommonName == user:
		return d.fs, nil
	default:
		return nil, errors.New("certificate does not match user")
	}
}

func TestClientCertificateLogin(t *testing.T) {
	s := newTestServerMain(t, func(d *testDriver) MainDriver { return certDriver{d} }, withTLS(t),
		func(d *testDriver) { d.tlsConfig.ClientAuth = tls.RequestClientCert })

	withCert := clientTLSConfig()
	withCert.Certificates = []tls.Certificate{testCertificate(t, "alice")}

	rc := s.raw(t)
	rc.startTLS(withCert)
	assert.Equal(t, "Logged in with TLS certificate", rc.expect("USER alice", StatusAuthProceed))
	rc.expect("PWD", StatusPathCreated)

	rc = s.raw(t)
	rc.startTLS(clientTLSConfig())
	rc.expect("USER "+testUser, StatusUserOK) // no certificate: password as usual

	rc = s.raw(t)
	rc.startTLS(withCert)
	rc.expect("USER mallory", StatusNotLoggedIn)

	_, _, err := rc.text.ReadResponse(0)
	require.Error(t, err, "a refused certificate closes the connection")
}

// countingTLSDriver counts GetTLSConfig calls.
type countingTLSDriver struct {
	*testDriver
	calls atomic.Int32
}

func (d *countingTLSDriver) GetTLSConfig() (*tls.Config, error) {
	d.calls.Add(1)

	return d.testDriver.GetTLSConfig()
}

func TestTLSConfigAskedPerConnection(t *testing.T) {
	var counting *countingTLSDriver

	s := newTestServerMain(t, func(d *testDriver) MainDriver {
		counting = &countingTLSDriver{testDriver: d}

		return counting
	}, withTLS(t))

	for range 2 {
		rc := s.raw(t)
		rc.startTLS(clientTLSConfig())
	}

	assert.GreaterOrEqual(t, counting.calls.Load(), int32(2))
}

func TestPROTClearAfterPrivate(t *testing.T) {
	s := newTestServer(t, withTLS(t))
	require.NoError(t, writeFile(s.driver.fs, "/f.txt", []byte("both ways")))

	rc := s.rawProtected(t, clientTLSConfig())

	data := rc.pasvTLS(clientTLSConfig())
	rc.expect("RETR /f.txt", StatusFileStatusOK)
	assert.Equal(t, "both ways", string(readAllClose(t, data)))

	code, _ := rc.read()
	require.Equal(t, StatusClosingDataConn, code)

	// Back to clear data connections: the bytes arrive unencrypted.
	assert.Equal(t, "OK", rc.expect("PROT C", StatusOK))

	plain := rc.pasv()
	rc.expect("RETR /f.txt", StatusFileStatusOK)
	assert.Equal(t, "both ways", string(readAllClose(t, plain)))

	code, _ = rc.read()
	require.Equal(t, StatusClosingDataConn, code)
}

// TestTLSALPN offers application protocols in the TLS handshake of the control connection,
// after AUTH TLS and with implicit TLS: a client offering none, or "ftp", is served; one
// offering only others, such as a browser's, fails the handshake (the defence against ALPACA's
// cross-protocol requests).
func TestTLSALPN(t *testing.T) {
	tests := []struct {
		name       string
		protos     []string
		negotiated string // "" with ok: none
		ok         bool
	}{
		{"no ALPN", nil, "", true},
		{"ftp", []string{"ftp"}, "ftp", true},
		{"ftp among others", []string{"http/1.1", "ftp"}, "ftp", true},
		{"http/1.1 only", []string{"http/1.1"}, "", false},
		{"h2 and http/1.1", []string{"h2", "http/1.1"}, "", false},
	}

	explicit := newTestServer(t, withTLS(t), withOsFs(t))
	implicit := newTestServer(t, withTLS(t), withSettings(func(s *Settings) { s.TLSRequired = ImplicitEncryption }))

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			config := clientTLSConfig()
			config.NextProtos = tt.protos

			rc := explicit.raw(t)
			rc.expect("AUTH TLS", StatusAuthAccepted)

			tlsConn := tls.Client(rc.conn, config)
			err := tlsConn.Handshake()
			checkALPN(t, tlsConn, err, tt.negotiated, tt.ok)

			if tt.ok {
				rc.conn, rc.text = tlsConn, textproto.NewConn(tlsConn)
				rc.loginAs()
			}

			conn, err := tls.Dial("tcp", implicit.Addr(), config)
			if err == nil {
				t.Cleanup(func() { _ = conn.Close() })
			}

			checkALPN(t, conn, err, tt.negotiated, tt.ok)
		})
	}

	assert.Nil(t, explicit.driver.tlsConfig.NextProtos, "the driver's configuration is left as it is")
}

// checkALPN checks the outcome of a client handshake.
func checkALPN(t *testing.T, conn *tls.Conn, err error, negotiated string, ok bool) {
	t.Helper()

	if !ok {
		require.Error(t, err)
		assert.Contains(t, err.Error(), "no application protocol")

		return
	}

	require.NoError(t, err)
	assert.Equal(t, negotiated, conn.ConnectionState().NegotiatedProtocol)
}

// TestTLSALPNKeepsDriverProtocols: the protocols a driver's configuration lists stay, before
// "ftp", which is added once and never into the driver's own slice.
func TestTLSALPNKeepsDriverProtocols(t *testing.T) {
	t.Parallel()

	for _, tt := range []struct {
		driver, want []string
	}{
		{nil, []string{"ftp"}},
		{[]string{"ftp"}, []string{"ftp"}},
		{append(make([]string, 0, 4), "x-custom"), []string{"x-custom", "ftp"}},
	} {
		driverConfig := &tls.Config{NextProtos: tt.driver}
		session := &sessionTLS{config: func() (*tls.Config, error) { return driverConfig, nil }}

		config, err := session.serverConfig()
		require.NoError(t, err)
		assert.Equal(t, tt.want, config.NextProtos)

		if cap(tt.driver) > len(tt.driver) {
			assert.Empty(t, tt.driver[len(tt.driver):cap(tt.driver)][0], "the driver's array is not written")
		}
	}
}

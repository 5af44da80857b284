package ftpserver

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSessionEndReasons ends a session in each way there is, and checks what the client reads
// last, that the session is closed after it, and that the end is logged with its reason and
// reported to the driver exactly once.
func TestSessionEndReasons(t *testing.T) {
	tests := []struct {
		name     string
		settings func(*Settings)
		anon     bool // not logged in
		end      func(t *testing.T, s *testServer, rc *rawClient)
		code     int // of the last reply; 0: none
		text     string
		reason   string
	}{
		{
			name:   "quit",
			end:    func(_ *testing.T, _ *testServer, rc *rawClient) { rc.send("QUIT") },
			code:   StatusClosingControlConn,
			text:   "Goodbye",
			reason: "quit",
		},
		{
			name: "client gone",
			end: func(t *testing.T, _ *testServer, rc *rawClient) {
				t.Helper()

				tcp, ok := rc.conn.(*net.TCPConn)
				require.True(t, ok)
				require.NoError(t, tcp.CloseWrite())
			},
			reason: "client_gone",
		},
		{
			name:     "idle timeout",
			settings: func(s *Settings) { s.IdleTimeout = 1 },
			end:      func(*testing.T, *testServer, *rawClient) {},
			code:     StatusServiceNotAvailable,
			text:     "Idle timeout, closing control connection",
			reason:   "idle_timeout",
		},
		{
			name:     "login timeout",
			settings: func(s *Settings) { s.LoginTimeout = 1 },
			anon:     true,
			end:      func(*testing.T, *testServer, *rawClient) {},
			code:     StatusServiceNotAvailable,
			text:     "Login timeout, closing control connection",
			reason:   "login_timeout",
		},
		{
			name:     "too many login failures",
			settings: func(s *Settings) { s.MaxLoginFailures = 1 },
			anon:     true,
			end: func(_ *testing.T, _ *testServer, rc *rawClient) {
				rc.expect("USER "+testUser, StatusUserOK)
				rc.send("PASS wrong")
			},
			code:   StatusServiceNotAvailable,
			text:   "Too many failed logins, closing control connection",
			reason: "login_failures",
		},
		{
			name:     "TLS required",
			settings: func(s *Settings) { s.TLSRequired = MandatoryEncryption },
			anon:     true,
			end:      func(_ *testing.T, _ *testServer, rc *rawClient) { rc.send("USER " + testUser) },
			code:     StatusServiceNotAvailable,
			text:     "TLS is required",
			reason:   "tls_required",
		},
		{
			name:     "line too long",
			settings: func(s *Settings) { s.MaxCommandLineLength = 16 },
			end: func(t *testing.T, _ *testServer, rc *rawClient) {
				t.Helper()

				_, err := rc.conn.Write([]byte("NOOP 123456789012"))
				require.NoError(t, err)
			},
			code:   StatusSyntaxErrorNotRecognised,
			text:   "Command line too long",
			reason: "line_too_long",
		},
		{
			name:   "HTTP request before login",
			anon:   true,
			end:    func(_ *testing.T, _ *testServer, rc *rawClient) { rc.send("GET / HTTP/1.1") },
			code:   StatusServiceNotAvailable,
			text:   "This is an FTP server, not an HTTP one; closing",
			reason: "http_request",
		},
		{
			name:   "driver panic",
			end:    func(_ *testing.T, _ *testServer, rc *rawClient) { rc.send("CWD /boom") },
			code:   StatusServiceNotAvailable,
			text:   "Internal error, closing control connection",
			reason: "panic",
		},
		{
			name: "shutdown",
			end: func(t *testing.T, s *testServer, _ *rawClient) {
				t.Helper()

				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()

				require.NoError(t, s.Shutdown(ctx))
			},
			code:   StatusServiceNotAvailable,
			text:   "Server is shutting down",
			reason: "server_shutdown",
		},
		{
			name: "stop",
			end: func(t *testing.T, s *testServer, _ *rawClient) {
				t.Helper()
				require.NoError(t, s.Stop())
			},
			reason: "server_stop",
		},
		{
			name: "ClientContext.Close",
			end: func(t *testing.T, s *testServer, _ *rawClient) {
				t.Helper()
				require.NoError(t, s.clientContext().Close())
			},
			reason: "closed_by_driver",
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := &logRecorder{}
			opts := []testOption{withLogger(logs), withFs(panickyFs{Fs: afero.NewMemMapFs()})}

			if tt.settings != nil {
				opts = append(opts, withSettings(tt.settings))
			}

			s, events := newEventsServer(t, opts...)

			rc := s.raw(t)
			if !tt.anon {
				rc.expect("USER "+testUser, StatusUserOK)
				rc.expect("PASS "+testPass, StatusUserLoggedIn)
			}

			tt.end(t, s, rc)

			if tt.code != 0 {
				code, text := rc.read()
				assert.Equal(t, tt.code, code)
				assert.Equal(t, tt.text, text)
			}

			requireClosed(t, rc)

			for nextEvent(t, events).Kind != EventDisconnected { //nolint:revive // waits for the event
			}

			require.NoError(t, s.Stop())

			for len(events) > 0 {
				assert.NotEqual(t, EventDisconnected, (<-events).Kind, "a second EventDisconnected")
			}

			assert.Equal(t, []string{tt.reason}, logs.values("disconnected", "reason"))
			assert.Equal(t, 1, s.disconnectedCount(), "ClientDisconnected calls")
		})
	}
}

// probeSession reads back, through replies a client sees, every piece of state that REIN resets.
func probeSession(t *testing.T, s *testServer, rc *rawClient) []string {
	t.Helper()

	var state []string

	state = append(state, "PWD "+rc.expect("PWD", StatusPathCreated))

	for line := range strings.SplitSeq(rc.expect("STAT", StatusSystemStatus), "\n") {
		if strings.Contains(line, "TYPE:") {
			state = append(state, "STAT "+strings.TrimSpace(line))
		}
	}

	for line := range strings.SplitSeq(rc.expect("FEAT", StatusSystemStatus), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "MLST ") {
			state = append(state, "FEAT "+strings.TrimSpace(line))
		}
	}

	state = append(state,
		"OPTS HASH "+rc.expect("OPTS HASH", StatusOK),
		"HASH "+rc.expect("HASH /f.txt", StatusFileStatus))

	code, _ := rc.cmd("RNTO /g.txt")
	state = append(state, fmt.Sprint("RNTO ", code))

	data, code := rc.retrRaw("/f.txt")
	state = append(state, fmt.Sprintf("RETR %d %q", code, data))

	host, ok := s.clientContext().(ClientContextHost)
	require.True(t, ok)

	return append(state, "HOST "+host.Host())
}

// TestREINResetsLikeANewSession changes every piece of state a client can set, sends REIN and
// logs in again: the session must then answer exactly as a new one does.
func TestREINResetsLikeANewSession(t *testing.T) {
	s := newTestServer(t, withSettings(func(s *Settings) {
		s.EnableHASH = true
		s.DeflateCompressionLevel = 6
	}))
	require.NoError(t, writeFile(s.driver.fs, "/f.txt", []byte("0123456789")))
	require.NoError(t, s.driver.fs.MkdirAll("/dir", 0o755))

	fresh := s.rawLoggedIn(t)
	want := probeSession(t, s, fresh)

	rc := s.raw(t)
	rc.expect("HOST ftp.example.com", StatusServiceReady)
	rc.expect("USER "+testUser, StatusUserOK)
	rc.expect("PASS "+testPass, StatusUserLoggedIn)

	for _, line := range []string{
		"CWD /dir", "TYPE I", "REST 5", "MODE Z", "OPTS HASH MD5", "OPTS MLST type;", "EPSV ALL",
	} {
		code, msg := rc.cmd(line)
		require.Less(t, code, 400, "%s: %d %s", line, code, msg)
	}

	rc.expect("RNFR /f.txt", StatusFileActionPending)
	rc.expect("RANG 1 3", StatusFileActionPending)
	rc.expect("REIN", StatusServiceReady)
	rc.expect("USER "+testUser, StatusUserOK)
	rc.expect("PASS "+testPass, StatusUserLoggedIn)

	assert.Equal(t, want, probeSession(t, s, rc))
}

// slowDirFs holds the listing of /slow at its gate.
type slowDirFs struct {
	afero.Fs

	gate *slowGate
}

func (f slowDirFs) Open(name string) (afero.File, error) {
	file, err := f.Fs.Open(name)
	if err != nil || name != "/slow" {
		return file, err
	}

	return slowDir{File: file, gate: f.gate}, nil
}

type slowDir struct {
	afero.File

	gate *slowGate
}

func (d slowDir) Readdir(count int) ([]os.FileInfo, error) {
	d.gate.pass()

	return d.File.Readdir(count)
}

// slowTLSDriver holds GetTLSConfig at its gate.
type slowTLSDriver struct {
	*testDriver

	gate *slowGate
}

func (d slowTLSDriver) GetTLSConfig() (*tls.Config, error) {
	d.gate.pass()

	return d.testDriver.GetTLSConfig()
}

// TestShutdownDoesNotWaitOnASlowDriver runs Shutdown while a multi-line reply waits on the
// driver (the directory walk of STAT, the TLS configuration FEAT asks for): Shutdown must
// neither block the server (Addr, other clients) nor write into that reply, which arrives
// whole before the 421.
func TestShutdownDoesNotWaitOnASlowDriver(t *testing.T) {
	tests := []struct {
		name    string
		option  func(*slowGate) testOption
		command string
		code    int
		line    string // one line the reply holds
	}{
		{
			name: "STAT of a directory",
			option: func(gate *slowGate) testOption {
				fs := slowDirFs{Fs: afero.NewMemMapFs(), gate: gate}

				return func(d *testDriver) {
					d.fs = fs
					_ = fs.MkdirAll("/slow", 0o755)
					_ = writeFile(fs.Fs, "/slow/a.txt", []byte("a"))
				}
			},
			command: "STAT /slow",
			code:    StatusDirectoryStatus,
			line:    " a.txt\n",
		},
		{
			name: "FEAT",
			option: func(gate *slowGate) testOption {
				return func(d *testDriver) {
					d.wrap = func(d *testDriver) MainDriver { return slowTLSDriver{testDriver: d, gate: gate} }
				}
			},
			command: "FEAT",
			code:    StatusSystemStatus,
			line:    "\n UTF8\n",
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gate := newSlowGate()
			s := newTestServer(t, tt.option(gate))
			// Runs before the server's cleanup, which would wait on the held session.
			t.Cleanup(gate.open)

			idle := s.rawLoggedIn(t)
			busy := s.rawLoggedIn(t)
			gate.armed.Store(true)
			busy.send(tt.command)

			select {
			case <-gate.held:
			case <-time.After(10 * time.Second):
				require.FailNow(t, "the driver was not called")
			}

			shutdown := s.startShutdown(20 * time.Second)

			code, text := idle.read()
			assert.Equal(t, StatusServiceNotAvailable, code)
			assert.Equal(t, "Server is shutting down", text)
			requireClosed(t, idle)

			addr := make(chan string, 1)

			go func() { addr <- s.Addr() }()

			select {
			case <-addr:
			case <-time.After(10 * time.Second):
				require.FailNow(t, "the server's lock is held while a session's driver call runs")
			}

			gate.open()

			code, text = busy.read()
			assert.Equal(t, tt.code, code)
			assert.Contains(t, text, tt.line)
			assert.True(t, strings.HasSuffix(text, "\nEnd"), "%s reply: %q", tt.command, text)

			code, text = busy.read()
			assert.Equal(t, StatusServiceNotAvailable, code)
			assert.Equal(t, "Server is shutting down", text)
			requireClosed(t, busy)
			require.NoError(t, <-shutdown)
		})
	}
}

// TestShutdownDoesNotWaitOnAClientThatDoesNotRead fills a client's receive buffer with replies
// it never reads, so that the session's next write blocks for the connection timeout: Shutdown
// must still end by its context, rather than queue a 421 of its own behind that write.
func TestShutdownDoesNotWaitOnAClientThatDoesNotRead(t *testing.T) {
	s := newTestServer(t, withSettings(func(s *Settings) { s.ConnectionTimeout = 60 }))
	stuck := s.rawLoggedIn(t)

	// Each HELP is answered with a screenful of verbs. Once the server blocks writing a reply it
	// stops reading commands, and the client's own writes stall when the buffers between are
	// full: a write that makes no progress for a while shows that the server is blocked.
	const stalled = 500 * time.Millisecond

	for {
		require.NoError(t, stuck.conn.SetWriteDeadline(time.Now().Add(stalled)))

		if _, err := stuck.conn.Write([]byte("HELP\r\n")); err != nil {
			require.ErrorIs(t, err, os.ErrDeadlineExceeded)

			break
		}
	}

	start := time.Now()
	shutdown := s.startShutdown(200 * time.Millisecond)

	select {
	case err := <-shutdown:
		// The session may end within the context, or be stopped when it expires.
		if err != nil {
			require.ErrorIs(t, err, context.DeadlineExceeded)
		}
	case <-time.After(10 * time.Second):
		_ = stuck.conn.Close() // unblocks the server, so that the test ends
		t.Logf("Shutdown returned %v", <-shutdown)
		require.FailNow(t, "Shutdown waited on a write to a client", "after %v", time.Since(start))
	}
}

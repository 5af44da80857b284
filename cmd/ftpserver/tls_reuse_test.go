package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/jlaffaye/ftp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ftpkit/ftpserver"
)

func TestTLSSessionReuseFlag(t *testing.T) {
	t.Parallel()

	tests := []struct {
		args     []string
		required bool
	}{
		{nil, false},
		{[]string{"-tls"}, false},
		{[]string{"-tls-required"}, true},
		{[]string{"-tls-required", "-tls-session-reuse", "optional"}, false},
		{[]string{"-tls", "-tls-session-reuse", "required"}, true},
		{[]string{"-tls-session-reuse", "required"}, true},
	}

	for _, tt := range tests {
		drv := newTestDriver(t, tt.args...)

		settings, err := drv.GetSettings()
		require.NoError(t, err)
		assert.Equal(t, tt.required, settings.TLSRequireSessionReuse, "%v", tt.args)

		settings, err = implicitDriver{drv}.GetSettings()
		require.NoError(t, err)
		assert.Equal(t, tt.required, settings.TLSRequireSessionReuse, "%v, implicit TLS", tt.args)
	}

	var stderr bytes.Buffer

	_, err := parseFlags([]string{"-tls-session-reuse", "always"}, &stderr)
	require.ErrorIs(t, err, errUsage)
	assert.Contains(t, stderr.String(), `-tls-session-reuse: "always" is neither required nor optional`)
}

// TestRunTLSSessionReuse checks -tls-required end to end: a client that resumes the control
// connection's TLS session on its data connections (a session cache, as jlaffaye/ftp uses its
// tls.Config for both) lists and downloads; one that starts a new session on each is refused
// 425, unless -tls-session-reuse optional.
func TestRunTLSSessionReuse(t *testing.T) {
	t.Parallel()

	for _, tt := range []struct {
		name   string
		args   []string
		cache  bool
		refuse bool
	}{
		{"resuming client", []string{"-tls-required"}, true, false},
		{"client without session cache", []string{"-tls-required"}, false, true},
		{"optional", []string{"-tls-required", "-tls-session-reuse", "optional"}, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			var stderr bytes.Buffer

			srv := startRunLogging(t, &stderr, tt.args...)

			// Go's client caches a session under ServerName, or without one under the address,
			// which differs for each data connection.
			config := &tls.Config{InsecureSkipVerify: true, ServerName: "ftp.test"}
			if tt.cache {
				config.ClientSessionCache = tls.NewLRUClientSessionCache(4)
			}

			conn, err := ftp.Dial(srv.addr, ftp.DialWithTimeout(startTimeout), ftp.DialWithExplicitTLS(config))
			require.NoError(t, err)
			t.Cleanup(func() { _ = conn.Quit() })
			require.NoError(t, conn.Login("test", "test"))

			data := randomBytes(t, 100_000)
			err = conn.Stor("/f.bin", bytes.NewReader(data))

			if tt.refuse {
				var protoErr *textproto.Error
				require.ErrorAs(t, err, &protoErr)
				assert.Equal(t, ftpserver.StatusCannotOpenDataConnection, protoErr.Code)
				assert.Equal(t, sessionNotReusedReply, protoErr.Msg)

				// The server's log at its default level says the same.
				require.NoError(t, conn.Quit())
				require.NoError(t, srv.stop(t))
				assert.Contains(t, stderr.String(), "level=warn")
				assert.Contains(t, stderr.String(), sessionNotReusedReply)

				return
			}

			require.NoError(t, err)

			resp, err := conn.Retr("/f.bin")
			require.NoError(t, err)

			got, err := io.ReadAll(resp)
			require.NoError(t, err)
			require.NoError(t, resp.Close())
			assert.Equal(t, data, got)
		})
	}
}

// sessionNotReusedReply is the text of the 425 refusing a data connection that did not resume
// the control connection's TLS session.
const sessionNotReusedReply = "TLS session reuse required: the data connection did not resume the control " +
	"connection's TLS session; use a client that reuses it, or ask the administrator to make reuse optional"

// runTLSReuseProbe starts the server with -tls-required and flags, and runs command, a client
// program from testdata, with the server's host, port, a file of random bytes and opts: it
// lists, uploads and downloads over FTPS with PROT P. It returns what the client printed,
// after checking its exit status: 0 when it printed "ok " and the downloaded bytes' SHA-256,
// which must be the file's, and 2 when it printed the reply that refused it.
func runTLSReuseProbe(t *testing.T, flags, command []string, opts ...string) string {
	t.Helper()

	srv := startRun(t, append([]string{"-tls-required"}, flags...)...)
	host, port, err := net.SplitHostPort(srv.addr)
	require.NoError(t, err)

	data := randomBytes(t, 300_000)
	file := filepath.Join(t.TempDir(), "probe.bin")
	require.NoError(t, os.WriteFile(file, data, 0o600))

	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()

	args := append(append(append([]string{}, command[1:]...), host, port, file), opts...)
	cmd := exec.CommandContext(ctx, command[0], args...) //nolint:gosec // the test's own programs

	var stderr bytes.Buffer

	cmd.Stderr = &stderr
	out, err := cmd.Output()

	var exitErr *exec.ExitError

	switch {
	case err == nil:
		sum := sha256.Sum256(data)
		assert.Equal(t, "ok "+hex.EncodeToString(sum[:])+"\n", string(out), "the downloaded bytes are the file's")
	case errors.As(err, &exitErr) && exitErr.ExitCode() == 2:
	default:
		require.NoError(t, err, "%s %s", out, stderr.String())
	}

	return string(out)
}

// TestTLSSessionReuseFtplib runs Python's ftplib.FTP_TLS, which opens a new TLS session on each
// data connection: with reuse required (the default of -tls-required) it is refused with a
// reply that says why; with -tls-session-reuse optional, or through the subclass that resumes
// the control session (the workaround the README gives), it lists and transfers.
func TestTLSSessionReuseFtplib(t *testing.T) {
	t.Parallel()

	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed: ftplib interoperability test skipped (apt-get install -y python3)")
	}

	ftplib := []string{"python3", "testdata/tls_reuse_ftplib.py"}

	for _, tt := range []struct {
		name    string
		flags   []string
		opts    []string
		refused bool
	}{
		{"FTP_TLS, reuse required", nil, nil, true},
		{"FTP_TLS, reuse optional", []string{"-tls-session-reuse", "optional"}, nil, false},
		{"FTP_TLS resuming the session, reuse required", nil, []string{"--reuse-session"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			out := runTLSReuseProbe(t, tt.flags, ftplib, tt.opts...)
			if tt.refused {
				assert.Equal(t, "reply: 425 "+sessionNotReusedReply+"\n", out)
			}
		})
	}
}

// TestTLSSessionReuseCommonsNet runs Apache Commons Net's FTPSClient (the FTP client of most
// Java programs: Spring Integration, Camel), which opens a new TLS session on each data
// connection: refused with a reply that says why while reuse is required, served with
// -tls-session-reuse optional. The probe is compiled once, into the test's directory.
func TestTLSSessionReuseCommonsNet(t *testing.T) {
	t.Parallel()

	const jar = "/usr/share/java/commons-net.jar"

	for _, tool := range []string{"javac", "java"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: Commons Net interoperability test skipped (apt-get install -y default-jdk)", tool)
		}
	}

	if _, err := os.Stat(jar); err != nil {
		t.Skipf("%s is missing: Commons Net interoperability test skipped (apt-get install -y libcommons-net-java)", jar)
	}

	probe := []string{"java", "-cp", compileCommonsNetProbe(t, jar) + string(os.PathListSeparator) + jar, "CommonsNetProbe"}

	t.Run("reuse required", func(t *testing.T) {
		t.Parallel()
		assert.Equal(t, "reply: 425 "+sessionNotReusedReply+"\n", runTLSReuseProbe(t, nil, probe))
	})

	t.Run("reuse optional", func(t *testing.T) {
		t.Parallel()
		runTLSReuseProbe(t, []string{"-tls-session-reuse", "optional"}, probe)
	})
}

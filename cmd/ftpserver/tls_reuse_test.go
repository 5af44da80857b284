package main

import (
	"bytes"
	"crypto/tls"
	"io"
	"net/textproto"
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

			srv := startRun(t, tt.args...)

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

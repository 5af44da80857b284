package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ftpkit/ftpserver"
)

func TestPasvLimitFlags(t *testing.T) {
	t.Parallel()

	tests := []struct {
		args     []string
		maxPerIP int
		timeout  time.Duration
	}{
		{nil, 0, ftpserver.DefaultPassivePortTimeout}, // the library's defaults
		{[]string{"-pasv-max-per-ip", "3", "-pasv-timeout", "5s"}, 3, 5 * time.Second},
		{[]string{"-pasv-max-per-ip", "0", "-pasv-timeout", "0"}, -1, -1}, // none
	}

	for _, tt := range tests {
		settings, err := newTestDriver(t, tt.args...).GetSettings()
		require.NoError(t, err)
		assert.Equal(t, tt.maxPerIP, settings.MaxPassivePortsPerIP, "%q", tt.args)
		assert.Equal(t, tt.timeout, settings.PassivePortTimeout, "%q", tt.args)
	}

	for _, args := range [][]string{
		{"-pasv-max-per-ip", "-1"},
		{"-pasv-max-per-ip", "many"},
		{"-pasv-timeout", "-1s"},
		{"-pasv-timeout", "30"},
	} {
		var stderr bytes.Buffer

		err := run(context.Background(), args, io.Discard, &stderr)
		require.ErrorIs(t, err, errUsage, "%q", args)
		assert.Contains(t, stderr.String(), args[0]+": ", "%q", args)
	}

	var help bytes.Buffer

	require.Error(t, run(context.Background(), []string{"-h"}, io.Discard, &help))
	assert.Regexp(t, `(?m)^  -pasv-max-per-ip N$`, help.String())
	assert.Regexp(t, `(?m)^  -pasv-timeout DURATION$`, help.String())
}

// TestRunPasvLimits checks that the flags reach the sessions: an address that holds its one
// waiting port is refused another, until nobody having connected to it, it is given up.
func TestRunPasvLimits(t *testing.T) {
	t.Parallel()

	srv := startRun(t, "-pasv-max-per-ip", "1", "-pasv-timeout", "200ms")

	first, second := dialRaw(t, srv.addr), dialRaw(t, srv.addr)
	for _, r := range []*rawSession{first, second} {
		r.expect("USER test", ftpserver.StatusUserOK)
		r.expect("PASS test", ftpserver.StatusUserLoggedIn)
	}

	_, port, _ := strings.Cut(first.expect("EPSV", ftpserver.StatusEnteringEPSV), "(|||")
	assert.Equal(t, "Too many passive ports waiting for a connection from your address (1); "+
		"connect to one or try again later", second.expect("EPSV", ftpserver.StatusCannotOpenDataConnection))

	// A connection the server never takes: giving the port up resets it.
	data, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strings.TrimSuffix(port, "|)")), startTimeout)
	require.NoError(t, err)
	t.Cleanup(func() { _ = data.Close() })
	require.NoError(t, data.SetReadDeadline(time.Now().Add(startTimeout)))
	_, err = data.Read(make([]byte, 1))
	var netErr net.Error
	require.False(t, errors.As(err, &netErr) && netErr.Timeout(), "the port is still open: %v", err)

	second.expect("EPSV", ftpserver.StatusEnteringEPSV)
	assert.Equal(t, "Passive port closed after 200ms without a connection; send PASV or EPSV again",
		first.expect("NLST", ftpserver.StatusCannotOpenDataConnection))
}

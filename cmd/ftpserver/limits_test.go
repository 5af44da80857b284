package main

import (
	"io"
	"net/textproto"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ftpkit/ftpserver"
)

// refusedAtConnect requires a new connection to addr to be told 421 with text, then closed.
func refusedAtConnect(t *testing.T, addr, text string) {
	t.Helper()

	conn, err := textproto.Dial("tcp", addr)
	require.NoError(t, err)

	defer conn.Close()

	code, msg, err := conn.ReadResponse(0)
	require.NoError(t, err)
	assert.Equal(t, ftpserver.StatusServiceNotAvailable, code)
	assert.Equal(t, text, msg)

	_, err = conn.ReadLine()
	require.ErrorIs(t, err, io.EOF, "the server closes the refused connection")
}

// TestRunConnectionLimitsByDefault holds 50 connections from 127.0.0.1 to a server started
// without limit flags: the 51st is refused with 421 and closed, as vsftpd refuses it, and
// loopback is not exempt. Once one of the 50 leaves, a new one is served.
func TestRunConnectionLimitsByDefault(t *testing.T) {
	t.Parallel()

	srv := startRun(t)

	held := make([]*textproto.Conn, 0, defaultMaxClientsPerIP)
	for range defaultMaxClientsPerIP {
		held = append(held, dialText(t, srv.addr))
	}

	refusedAtConnect(t, srv.addr, "Too many connections from your address")

	// What a client library shows its user.
	_, err := ftp.Dial(srv.addr, ftp.DialWithTimeout(startTimeout))
	require.EqualError(t, err, `421 "Too many connections from your address"`)

	// The held connections still work.
	code, _ := textCmd(t, held[0], "NOOP")
	assert.Equal(t, ftpserver.StatusOK, code)

	code, _ = textCmd(t, held[1], "QUIT")
	assert.Equal(t, ftpserver.StatusClosingControlConn, code)

	// The server forgets the connection once its session has ended, which the client does not
	// see: a guard against a hang, not a timing.
	require.Eventually(t, func() bool {
		conn, err := textproto.Dial("tcp", srv.addr)
		if err != nil {
			return false
		}

		defer conn.Close()

		code, _, _ := conn.ReadResponse(0)

		return code == ftpserver.StatusServiceReady
	}, startTimeout, 10*time.Millisecond, "a place freed is taken again")
}

// TestConnectionLimitFlags checks what the limit flags give the library: vsftpd's defaults,
// each changeable, 0 for none.
func TestConnectionLimitFlags(t *testing.T) {
	t.Parallel()

	for _, tt := range []struct {
		args           []string
		total, perAddr int
	}{
		{nil, 2000, 50},
		{[]string{"-max-clients", "10", "-max-clients-per-ip", "2"}, 10, 2},
		{[]string{"-max-clients", "0", "-max-clients-per-ip", "0"}, 0, 0},
	} {
		settings, err := newTestDriver(t, tt.args...).GetSettings()
		require.NoError(t, err)
		assert.Equal(t, tt.total, settings.MaxClients, "%q", tt.args)
		assert.Equal(t, tt.perAddr, settings.MaxClientsPerIP, "%q", tt.args)
	}
}

// TestRunTotalConnectionLimit fills -max-clients from one address with no per-address limit:
// the next gets the library's 421 for a full server.
func TestRunTotalConnectionLimit(t *testing.T) {
	t.Parallel()

	srv := startRun(t, "-max-clients", "3", "-max-clients-per-ip", "0")

	for range 3 {
		dialText(t, srv.addr)
	}

	refusedAtConnect(t, srv.addr, "Too many clients, try again later")
}

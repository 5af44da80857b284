package ftpserver

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEventsSession runs one whole session and checks every event it produced, in order.
func TestEventsSession(t *testing.T) {
	s, events := newEventsServer(t)
	require.NoError(t, writeFile(s.driver.fs, "/long.bin", testContent(16<<20)))

	before := time.Now()
	rc := s.raw(t)

	rc.expect("USER "+testUser, StatusUserOK)
	rc.expect("PASS wrong", StatusNotLoggedIn)
	rc.expect("USER "+testUser, StatusUserOK)
	rc.expect("PASS "+testPass, StatusUserLoggedIn)
	rc.expect("TYPE I", StatusOK)

	uploaded := testContent(100_000)
	code, msg := rc.storeRaw("/up.bin", uploaded)
	require.Equal(t, StatusClosingDataConn, code, msg)

	downloaded, code := rc.retrRaw("/up.bin")
	require.Equal(t, StatusClosingDataConn, code)
	require.Equal(t, sha256Hex(uploaded), sha256Hex(downloaded))

	rc.startRETR("/long.bin")
	rc.abort("ABOR")

	rc.expect("QUIT", StatusClosingControlConn)

	var got []seenEvent
	for len(got) == 0 || got[len(got)-1].Kind != EventDisconnected {
		got = append(got, nextEvent(t, events))
	}

	kinds := make([]EventKind, 0, len(got))
	for _, e := range got {
		kinds = append(kinds, e.Kind)
	}

	require.Equal(t, []EventKind{
		EventConnected, EventLoginFailed, EventLoginSucceeded,
		EventTransferEnded, EventTransferEnded, EventTransferEnded, EventDisconnected,
	}, kinds)

	for _, e := range got {
		assert.Equal(t, got[0].clientID, e.clientID, "%s: client ID", e.Kind)
		assert.Equal(t, rc.conn.LocalAddr().String(), e.remote, "%s: remote address", e.Kind)
		assert.False(t, e.Time.Before(before), "%s: time", e.Kind)
	}

	assert.Equal(t, testUser, got[1].User)
	require.ErrorIs(t, got[1].Err, errBadCredentials)
	assert.Equal(t, testUser, got[2].User)
	require.NoError(t, got[2].Err)

	stor, retr, aborted := got[3], got[4], got[5]

	assert.Equal(t, Event{
		Kind: EventTransferEnded, Time: stor.Time, User: testUser, Command: "STOR", Path: "/up.bin",
		Direction: TransferUpload, Bytes: int64(len(uploaded)), Duration: stor.Duration,
	}, stor.Event)
	assert.Positive(t, stor.Duration)

	assert.Equal(t, Event{
		Kind: EventTransferEnded, Time: retr.Time, User: testUser, Command: "RETR", Path: "/up.bin",
		Direction: TransferDownload, Bytes: int64(len(uploaded)), Duration: retr.Duration,
	}, retr.Event)
	assert.Positive(t, retr.Duration)

	assert.Equal(t, "RETR", aborted.Command)
	assert.Equal(t, "/long.bin", aborted.Path)
	assert.Equal(t, TransferDownload, aborted.Direction)
	require.ErrorIs(t, aborted.Err, errTransferAborted)
	assert.GreaterOrEqual(t, aborted.Bytes, int64(1000), "startRETR read 1000 bytes")
	assert.Less(t, aborted.Bytes, int64(16<<20))

	assert.GreaterOrEqual(t, got[6].Duration, aborted.Duration, "the session outlasts its transfers")
}

// TestEventsListing reports listings as downloads of the listed directory.
func TestEventsListing(t *testing.T) {
	s, events := newEventsServer(t)
	require.NoError(t, writeFile(s.driver.fs, "/dir/a.txt", []byte("a")))

	conn := s.dial(t)
	_, err := conn.List("/dir")
	require.NoError(t, err)

	for _, want := range []EventKind{EventConnected, EventLoginSucceeded} {
		require.Equal(t, want, nextEvent(t, events).Kind)
	}

	e := nextEvent(t, events)
	require.Equal(t, EventTransferEnded, e.Kind)
	assert.Equal(t, "MLSD", e.Command)
	assert.Equal(t, "/dir", e.Path)
	assert.Equal(t, TransferDownload, e.Direction)
	assert.Positive(t, e.Bytes)
	assert.NoError(t, e.Err)
}

// TestEventsRefusedWelcome pairs the connection a driver refuses at ClientConnected with its
// disconnection, so a gauge of connections goes back down.
func TestEventsRefusedWelcome(t *testing.T) {
	s, events := newEventsServer(t, func(d *testDriver) { d.welcomeErr = errors.New("closed today") })

	conn, err := net.DialTimeout("tcp", s.Addr(), 5*time.Second)
	require.NoError(t, err)

	defer conn.Close()

	assert.Equal(t, EventConnected, nextEvent(t, events).Kind)
	assert.Equal(t, EventDisconnected, nextEvent(t, events).Kind)
}

// TestEventsFailedDataConnection reports a transfer whose data connection never opened.
func TestEventsFailedDataConnection(t *testing.T) {
	s, events := newEventsServer(t)
	require.NoError(t, writeFile(s.driver.fs, "/f.bin", []byte("data")))

	rc := s.rawLoggedIn(t)
	require.Equal(t, EventConnected, nextEvent(t, events).Kind)
	require.Equal(t, EventLoginSucceeded, nextEvent(t, events).Kind)

	// A port nobody listens on: the server's dial is refused at once.
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)

	port := listener.Addr().(*net.TCPAddr).Port //nolint:errcheck // a TCP listener
	require.NoError(t, listener.Close())
	rc.expect("EPRT |1|127.0.0.1|"+strconv.Itoa(port)+"|", StatusOK)
	rc.expect("RETR /f.bin", StatusFileStatusOK)

	code, _ := rc.read()
	assert.Equal(t, StatusCannotOpenDataConnection, code)

	e := nextEvent(t, events)
	require.Equal(t, EventTransferEnded, e.Kind)
	assert.Equal(t, "RETR", e.Command)
	assert.Zero(t, e.Bytes)
	require.ErrorIs(t, e.Err, errOpeningData)
}

func TestEventKindString(t *testing.T) {
	t.Parallel()

	for kind, name := range map[EventKind]string{
		EventConnected: "connected", EventLoginSucceeded: "login_succeeded", EventLoginFailed: "login_failed",
		EventTransferEnded: "transfer_ended", EventDisconnected: "disconnected", 0: "unknown",
		EventFileDeleted: "file_deleted", EventDirCreated: "dir_created", EventDirRemoved: "dir_removed",
		EventRenamed: "renamed", EventModeChanged: "mode_changed", EventOwnerChanged: "owner_changed",
		EventSymlinkCreated: "symlink_created", EventTimeChanged: "time_changed", EventCombined: "combined",
		EventCombined + 1: "unknown", -1: "unknown",
	} {
		assert.Equal(t, name, kind.String())
	}

	// Programs may have stored the values: the first five keep theirs.
	assert.Equal(t, []EventKind{1, 2, 3, 4, 5},
		[]EventKind{EventConnected, EventLoginSucceeded, EventLoginFailed, EventTransferEnded, EventDisconnected})

	assert.Equal(t, "upload", TransferUpload.String())
	assert.Equal(t, "download", TransferDownload.String())
}

// TestEventsTransferType tells transfers under TYPE A from those under TYPE I.
func TestEventsTransferType(t *testing.T) {
	s, events := newEventsServer(t)

	conn := s.dial(t)
	skipLogin(t, events)

	for _, ascii := range []bool{true, false} {
		transferType := ftp.TransferTypeBinary
		if ascii {
			transferType = ftp.TransferTypeASCII
		}

		require.NoError(t, conn.Type(transferType))
		require.NoError(t, conn.Stor("/f.txt", strings.NewReader("line\r\n")))

		e := onlyEvent(t, events)
		assert.Equal(t, "STOR", e.Command)
		assert.Equal(t, ascii, e.ASCII, "TYPE %s", transferType)
	}
}

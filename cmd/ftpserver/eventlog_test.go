package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ftpkit/ftpserver"
)

// sessionClient is the ClientContext the event logs read: an address and a session ID.
type sessionClient struct {
	fakeClient

	id uint32
}

func (c sessionClient) ID() uint32 { return c.id }

// TestXferlogLine checks each field of xferlog lines made from events, against the xferlog(5)
// manual page.
func TestXferlogLine(t *testing.T) {
	t.Parallel()

	cc := sessionClient{fakeClient{addr: tcpAddr("192.0.2.7")}, 3}
	// A one-digit day: ctime pads it, "Mon Dec  7".
	ended := time.Date(2026, 12, 7, 18, 21, 49, 0, time.Local)

	for _, tc := range []struct {
		name  string
		event ftpserver.Event
		want  string
	}{
		{
			name: "download, binary, complete",
			event: ftpserver.Event{
				Kind: ftpserver.EventTransferEnded, Time: ended, User: "alice", Command: "RETR", Path: "/pub/a.bin",
				Direction: ftpserver.TransferDownload, Bytes: 1234, Duration: 2600 * time.Millisecond,
			},
			want: "Mon Dec  7 18:21:49 2026 3 192.0.2.7 1234 /pub/a.bin b _ o r alice ftp 0 * c\n",
		},
		{
			name: "upload, ASCII, spaces and a tab in the name, aborted",
			event: ftpserver.Event{
				Kind: ftpserver.EventTransferEnded, Time: ended, User: "bob", Command: "STOR", Path: "/my file\tv2.txt",
				Direction: ftpserver.TransferUpload, ASCII: true, Bytes: 10, Duration: 1400 * time.Millisecond,
				Err: errors.New("transfer aborted"),
			},
			want: "Mon Dec  7 18:21:49 2026 1 192.0.2.7 10 /my_file_v2.txt a _ i r bob ftp 0 * i\n",
		},
		{
			name: "a fast append counts one second",
			event: ftpserver.Event{
				Kind: ftpserver.EventTransferEnded, Time: ended.AddDate(0, 0, 3), User: "bob", Command: "APPE",
				Path: "/log", Direction: ftpserver.TransferUpload, Duration: time.Millisecond,
			},
			want: "Thu Dec 10 18:21:49 2026 1 192.0.2.7 0 /log b _ i r bob ftp 0 * c\n",
		},
	} {
		line, ok := xferlogLine(cc, tc.event)
		require.True(t, ok, tc.name)
		assert.Equal(t, tc.want, string(line), tc.name)

		// Parsed back, the fields are where the format puts them.
		f := parseXferlog(t, string(line))
		assert.True(t, tc.event.Time.Equal(f.time), tc.name)
		assert.Equal(t, "192.0.2.7", f.host, tc.name)
		assert.Equal(t, tc.event.User, f.user, tc.name)
		assert.Equal(t, []string{"_", "r", "ftp", "0", "*"}, []string{f.action, f.access, f.service, f.method, f.authID})
	}

	// Listings and the other events are not file transfers.
	for _, event := range []ftpserver.Event{
		{Kind: ftpserver.EventTransferEnded, Command: "LIST", Path: "/", Direction: ftpserver.TransferDownload},
		{Kind: ftpserver.EventTransferEnded, Command: "MLSD", Path: "/", Direction: ftpserver.TransferDownload},
		{Kind: ftpserver.EventFileDeleted, Command: "DELE", Path: "/a"},
		{Kind: ftpserver.EventLoginSucceeded, User: "alice"},
	} {
		_, ok := xferlogLine(cc, event)
		assert.False(t, ok, "%s %s", event.Kind, event.Command)
	}
}

// TestAuditLine checks the JSON object of a rename and of a failed transfer.
func TestAuditLine(t *testing.T) {
	t.Parallel()

	cc := sessionClient{fakeClient{addr: tcpAddr("2001:db8::5")}, 42}
	when := time.Date(2026, 12, 7, 18, 21, 49, 123456789, time.FixedZone("CET", 3600))

	line, ok := auditLine(cc, ftpserver.Event{
		Kind: ftpserver.EventRenamed, Time: when, User: "alice", Command: "RNTO", Path: "/a <1>.txt",
		Target: "/b & c.txt", Duration: 1500 * time.Microsecond,
	})
	require.True(t, ok)
	require.True(t, strings.HasSuffix(string(line), "}\n"), "one object per line")
	assert.Equal(t, 1, strings.Count(string(line), "\n"))

	assert.Equal(t, map[string]any{
		"time": "2026-12-07T17:21:49.123456Z", "kind": "renamed", "user": "alice", "remote": "[2001:db8::5]:40000",
		"session": 42.0, "command": "RNTO", "path": "/a <1>.txt", "target": "/b & c.txt", "direction": "",
		"bytes": 0.0, "duration_ms": 1.5, "result": "ok",
	}, parseAudit(t, string(line)))

	line, ok = auditLine(cc, ftpserver.Event{
		Kind: ftpserver.EventTransferEnded, Time: when, User: "alice", Command: "STOR", Path: "/x",
		Direction: ftpserver.TransferUpload, Bytes: 99, Duration: 2 * time.Second, Err: errors.New(`disk "full"`),
	})
	require.True(t, ok)

	record := parseAudit(t, string(line))
	assert.Equal(t, "upload", record["direction"])
	assert.InDelta(t, 2000.0, record["duration_ms"], 0)
	assert.Equal(t, `disk "full"`, record["result"])
}

// TestLogFileReopen writes, renames the file, reopens: the lines after the reopen go to a new
// file of the old name, with mode 0640, and close writes what was queued.
func TestLogFileReopen(t *testing.T) {
	t.Parallel()

	name := filepath.Join(t.TempDir(), "audit.log")
	f, err := openLogFile(name, 16, log.NewNopLogger())
	require.NoError(t, err)

	f.write([]byte("one\n"))
	require.NoError(t, os.Rename(name, name+".1"))
	require.NoError(t, f.reopen())
	f.write([]byte("two\n"))
	f.close()

	rotated, err := os.ReadFile(name + ".1")
	require.NoError(t, err)
	assert.Equal(t, "one\n", string(rotated))

	current, err := os.ReadFile(name)
	require.NoError(t, err)
	assert.Equal(t, "two\n", string(current))

	info, err := os.Stat(name)
	require.NoError(t, err)
	assert.Zero(t, info.Mode().Perm()&0o007, "no access for others: %s", info.Mode())

	// Once closed, lines are dropped and counted, and reopen says it is closed.
	f.write([]byte("three\n"))
	assert.Equal(t, int64(1), f.dropped.Load())
	require.ErrorIs(t, f.reopen(), errLogClosed)
}

// TestLogFileFullQueue fills the queue of a writer that cannot write: a line waits about
// logQueueWait and is dropped, and the drop is counted.
func TestLogFileFullQueue(t *testing.T) {
	t.Parallel()

	// No writer goroutine: nothing takes the lines, as when the disk does not answer.
	f := &logFile{lines: make(chan []byte, 1), stop: make(chan struct{}), done: make(chan struct{})}

	f.write([]byte("queued\n"))

	start := time.Now()
	f.write([]byte("dropped\n"))
	assert.GreaterOrEqual(t, time.Since(start), logQueueWait, "waited for room first")
	assert.Equal(t, int64(1), f.dropped.Load())
	assert.Len(t, f.lines, 1)
}

// TestLogFileReportsDrops logs the lines dropped, once, with their count.
func TestLogFileReportsDrops(t *testing.T) {
	t.Parallel()

	var logged bytes.Buffer

	f, err := openLogFile(filepath.Join(t.TempDir(), "x.log"), 1, log.NewLogfmtLogger(&logged))
	require.NoError(t, err)

	f.dropped.Add(3) // as three writes that found the queue full would
	f.write([]byte("kept\n"))
	f.close() // the writer has ended: logged is ours

	assert.Equal(t, 1, strings.Count(logged.String(), "dropped=3 total=3"), logged.String())
	assert.Contains(t, logged.String(), `level=warn file=`)
	assert.Contains(t, logged.String(), ` msg="log lines dropped, the disk was too slow" dropped=3 total=3`)
}

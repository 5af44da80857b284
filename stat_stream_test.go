package ftpserver

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// generatedListLine is the STAT line of made-up entry n, after the leading space.
func generatedListLine(n int) string {
	return "-rw-r--r-- 1 ftp ftp            0 Jan  2  2020 " + generatedName(n)
}

// eachLine reads a reply a line at a time without keeping it, and calls fn with each line's
// number (the first is 0) and text without CRLF, which is valid only during the call; it
// returns the number of lines.
func (rc *rawClient) eachLine(fn func(i int, text []byte)) int {
	rc.t.Helper()

	require.NoError(rc.t, rc.conn.SetDeadline(time.Now().Add(time.Minute)))

	var last []byte // how the last line of a multi-line reply starts: "212 "

	for i := 0; ; i++ {
		line, err := rc.text.R.ReadSlice('\n')
		require.NoError(rc.t, err, "line %d", i)

		text := bytes.TrimSuffix(line, []byte("\r\n"))
		fn(i, text)

		switch {
		case i == 0 && (len(text) < 4 || text[3] != '-'):
			return 1
		case i == 0:
			last = append(bytes.Clone(text[:3]), ' ')
		case bytes.HasPrefix(text, last):
			return i + 1
		}
	}
}

// statLiveHeap sends STAT for a made-up directory of n entries and reads the reply line by
// line, checking it, without keeping it. Every sampleEvery lines it collects garbage and
// samples the live heap of the process, where the server runs: it returns the median growth
// over the heap before the command (0 when the heap shrank), which the odd allocation elsewhere
// in the process does not move, and which a reply built whole before it is sent lifts for its
// whole length.
func statLiveHeap(t *testing.T, n int) uint64 {
	t.Helper()

	const sampleEvery = 5000

	s := newTestServer(t, withGeneratedDirs(t, map[string]generatedDir{"/big": {entries: n}}))
	rc := s.rawLoggedIn(t)

	var stats runtime.MemStats

	runtime.GC()
	runtime.ReadMemStats(&stats)
	base := stats.HeapAlloc
	samples := make([]uint64, 0, n/sampleEvery+1)

	rc.send("STAT /big")
	lines := rc.eachLine(func(i int, text []byte) {
		switch {
		case i == 0:
			require.Equal(t, "212-STAT /big", string(text))
		case i <= n && (i == 1 || i == n || i%sampleEvery == 0):
			require.Equal(t, " "+generatedListLine(i-1), string(text))
		case i == n+1:
			require.Equal(t, "212 End", string(text))
		}

		if i%sampleEvery == 0 {
			runtime.GC()
			runtime.ReadMemStats(&stats)
			samples = append(samples, stats.HeapAlloc-min(base, stats.HeapAlloc))
		}
	})
	require.Equal(t, n+2, lines)

	slices.Sort(samples)

	return samples[len(samples)/2]
}

// TestSTATDirectoryMemoryIsFlat lists directories of 20,000 and 200,000 entries with STAT: the
// reply of the larger one is about 11 MB, but the live memory it needs is no more than that of
// the smaller one, as entries are sent while they are read.
func TestSTATDirectoryMemoryIsFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("lists 220,000 entries")
	}

	small := statLiveHeap(t, 20_000)
	large := statLiveHeap(t, 200_000)
	t.Logf("median live heap growth: %d bytes for 20,000 entries, %d bytes for 200,000", small, large)

	const replyOf200k = 200_000 * len(" -rw-r--r-- 1 ftp ftp            0 Jan  2  2020 f000000\r\n")

	assert.Less(t, large, uint64(replyOf200k/10), "the reply is not held in memory")
	assert.Less(t, large, 2*small+512<<10, "memory does not grow with the directory")
}

// BenchmarkSTATDirectory lists 20,000 entries with STAT, read line by line by the client.
func BenchmarkSTATDirectory(b *testing.B) {
	const entries = 20_000

	s := newTestServer(b, withGeneratedDirs(b, map[string]generatedDir{"/big": {entries: entries}}))
	rc := s.rawLoggedIn(b)

	for b.Loop() {
		rc.send("STAT /big")

		if lines := rc.eachLine(func(int, []byte) {}); lines != entries+2 {
			b.Fatalf("%d lines, want %d", lines, entries+2)
		}
	}

	b.ReportMetric(float64(entries*b.N)/b.Elapsed().Seconds(), "entries/s")
}

// TestSTATDirectoryReadErrorEndsReply fails the directory read after 3,000 entries, once parts
// of the reply are out: the reply tells the error on a line of its own and ends as usual, and
// the session goes on.
func TestSTATDirectoryReadErrorEndsReply(t *testing.T) {
	s := newTestServer(t, withGeneratedDirs(t, map[string]generatedDir{"/broken": {entries: 5000, failAfter: 3000}}))
	rc := s.rawLoggedIn(t)

	lines := strings.Split(rc.expect("STAT /broken", StatusDirectoryStatus), "\n")
	require.Len(t, lines, 3003)
	assert.Equal(t, "STAT /broken", lines[0])
	assert.Equal(t, " "+generatedListLine(0), lines[1])
	assert.Equal(t, " "+generatedListLine(2999), lines[3000])
	assert.Equal(t, " Listing failed: permission denied", lines[3001])
	assert.Equal(t, "End", lines[3002])

	assert.Equal(t, "OK", rc.expect("NOOP", StatusOK))
}

// TestSTATDirectoryDriverPanic makes the driver panic after 3,000 entries, once parts of the
// reply are out: the reply still ends, with a line that says the listing failed, and then the
// session ends with its 421.
func TestSTATDirectoryDriverPanic(t *testing.T) {
	s := newTestServer(t, withGeneratedDirs(t, map[string]generatedDir{
		"/boom": {entries: 5000, failAfter: 3000, panics: true},
	}))
	rc := s.rawLoggedIn(t)

	lines := strings.Split(rc.expect("STAT /boom", StatusDirectoryStatus), "\n")
	require.Len(t, lines, 3003)
	assert.Equal(t, " "+generatedListLine(2999), lines[3000])
	assert.Equal(t, " Listing failed: internal error", lines[3001])
	assert.Equal(t, "End", lines[3002])

	code, text := rc.read()
	assert.Equal(t, StatusServiceNotAvailable, code)
	assert.Equal(t, "Internal error, closing control connection", text)
}

// TestSTATDirectoryClientGone closes the connection after the first line of a STAT of a
// million entries: the server stops reading the directory and ends the session.
func TestSTATDirectoryClientGone(t *testing.T) {
	const entries = 1_000_000

	var read atomic.Int64

	s := newTestServer(t, withGeneratedDirs(t, map[string]generatedDir{"/big": {entries: entries, read: &read}}))
	rc := s.rawLoggedIn(t)

	rc.send("STAT /big")
	first, err := rc.text.ReadLine()
	require.NoError(t, err)
	require.Equal(t, "212-STAT /big", first)
	require.NoError(t, rc.conn.Close())

	require.Eventually(t, func() bool { return s.disconnectedCount() == 1 }, time.Minute, 10*time.Millisecond)
	assert.Less(t, read.Load(), int64(entries), "the directory is not read to its end for a client that is gone")
}

// TestMultilineReplyHoldsOtherReplies writes a reply of another goroutine while a long
// multi-line reply is partly sent: it must neither wait for the end nor land inside the reply,
// and goes out right after its last line.
func TestMultilineReplyHoldsOtherReplies(t *testing.T) {
	server, client := net.Pipe()
	t.Cleanup(func() { _ = client.Close() })

	w := &replyWriter{timeout: 10 * time.Second, logger: log.NewNopLogger(), conn: server}
	received := make(chan string, 10_000)

	go func() {
		defer close(received)

		scanner := bufio.NewScanner(client)
		for scanner.Scan() {
			received <- scanner.Text()
		}
	}()

	const entries = 3000 // well past one part of the reply

	m := w.startMultiline(StatusDirectoryStatus, "STAT /dir")
	for i := range entries {
		m.line("entry " + strconv.Itoa(i))
	}

	select {
	case first := <-received:
		assert.Equal(t, "212-STAT /dir", first, "a long reply is sent before its end")
	case <-time.After(10 * time.Second):
		require.FailNow(t, "nothing of the reply was sent before its end")
	}

	done := make(chan struct{})

	go func() {
		defer close(done)

		w.reply(StatusClosingDataConn, "Closing transfer connection")
	}()

	select {
	case <-done:
	case <-time.After(10 * time.Second):
		require.FailNow(t, "another goroutine's reply waits for the multi-line reply")
	}

	m.line("last entry")
	m.end("End")
	w.reply(StatusOK, "after")
	require.NoError(t, server.Close())

	var lines []string
	for line := range received {
		lines = append(lines, line)
	}

	// A count rather than require.Len, which would print thousands of lines on failure.
	count := len(lines)
	require.Equal(t, entries+4, count, "lines after the first")
	assert.Equal(t, " entry 0", lines[0])
	assert.Equal(t, fmt.Sprintf(" entry %d", entries-1), lines[entries-1])
	assert.Equal(t, " last entry", lines[entries])
	assert.Equal(t, "212 End", lines[entries+1])
	assert.Equal(t, "226 Closing transfer connection", lines[entries+2])
	assert.Equal(t, "200 after", lines[entries+3])
}

// statScript runs STAT with Python's ftplib and prints the number of lines of the reply, its
// first and second lines and its last.
const statScript = `import ftplib, sys
host, port, user, password, path = sys.argv[1:]
ftp = ftplib.FTP()
ftp.connect(host, int(port), timeout=30)
ftp.login(user, password)
lines = ftp.sendcmd("STAT " + path).split("\n")
print(len(lines))
print(lines[0])
print(lines[1])
print(lines[-1])
print(ftp.voidcmd("NOOP"))
ftp.quit()
`

// TestSTATDirectoryPythonFtplib reads a streamed STAT of 20,000 entries with Python's ftplib,
// which parses the multi-line reply by its framing alone.
func TestSTATDirectoryPythonFtplib(t *testing.T) {
	requireTool(t, "python3")

	s := newTestServer(t, withGeneratedDirs(t, map[string]generatedDir{"/big": {entries: 20_000}}))
	host, port, _ := strings.Cut(s.Addr(), ":")

	out := runClient(t, "python3", "-c", statScript, host, port, testUser, testPass, "/big")
	assert.Equal(t, strings.Join([]string{
		"20002",
		"212-STAT /big",
		" " + generatedListLine(0),
		"212 End",
		"200 OK",
	}, "\n")+"\n", out)
}

package ftpserver

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// slowReadFs holds the second read of every file it opens at its gate, so a checksum is surely
// running, one chunk in, while the test talks to the session; it counts reads and closes.
type slowReadFs struct {
	afero.Fs

	gate   *slowGate
	reads  atomic.Int32
	closes atomic.Int32
}

func (f *slowReadFs) OpenFile(name string, flag int, perm os.FileMode) (afero.File, error) {
	return openWrapped(f.Fs, name, flag, perm, func(file afero.File) afero.File { return &slowReadFile{File: file, fs: f} })
}

type slowReadFile struct {
	afero.File

	fs *slowReadFs
}

func (r *slowReadFile) Read(p []byte) (int, error) {
	if r.fs.reads.Add(1) > 1 {
		r.fs.gate.pass()
	}

	return r.File.Read(p)
}

func (r *slowReadFile) Close() error {
	r.fs.closes.Add(1)

	return r.File.Close()
}

// checksumCase is one way to ask for the digest of /big: HASH, or an X* command.
type checksumCase struct {
	line  string
	code  int
	reply func(content []byte) string
}

var checksumCases = []checksumCase{
	{"HASH /big", StatusFileStatus, func(content []byte) string {
		return fmt.Sprintf("SHA-256 0-%d %s /big", len(content)-1, goDigest(HASHAlgoSHA256, content))
	}},
	{"XSHA256 /big", StatusFileOK, func(content []byte) string { return goDigest(HASHAlgoSHA256, content) }},
	{"XCRC /big", StatusFileOK, func(content []byte) string { return goDigest(HASHAlgoCRC32, content) }},
}

// heldChecksum is a server whose /big (1 MiB, four chunks) is hashed by a session, held at the
// second read.
type heldChecksum struct {
	s       *testServer
	fs      *slowReadFs
	rc      *rawClient
	content []byte
}

// startHeldChecksum sends line and returns once its checksum is held at the gate.
func startHeldChecksum(t *testing.T, line string) *heldChecksum {
	t.Helper()

	fs := &slowReadFs{Fs: afero.NewMemMapFs(), gate: newSlowGate()}
	content := testContent(4 * transferChunk)
	require.NoError(t, writeFile(fs.Fs, "/big", content))
	require.NoError(t, writeFile(fs.Fs, "/small", []byte("small")))

	s := newTestServer(t, withSettings(enableHASH), withFs(fs))
	rc := s.rawLoggedIn(t)

	fs.gate.armed.Store(true)
	rc.send(line)
	<-fs.gate.held

	return &heldChecksum{s: s, fs: fs, rc: rc, content: content}
}

// releaseOnceAborted opens the gate once the running checksum has been told to stop, so its
// held read returns into an aborted run: what follows does not depend on timing.
func (h *heldChecksum) releaseOnceAborted(t *testing.T) {
	t.Helper()

	run := h.s.clientContext().(*clientHandler).data.current() //nolint:errcheck // the server's own type
	require.NotNil(t, run, "the checksum runs as the session's transfer")

	select {
	case <-run.ctx.Done():
	case <-time.After(10 * time.Second):
		require.Fail(t, "the checksum was not stopped")
	}

	h.fs.gate.open()
}

// assertStoppedAtGate checks that the file was read no further than the held read, and closed.
func (h *heldChecksum) assertStoppedAtGate(t *testing.T) {
	t.Helper()

	assert.Equal(t, int32(2), h.fs.reads.Load(), "no read after the held one")
	assert.Eventually(t, func() bool { return h.fs.closes.Load() == 1 }, 10*time.Second, time.Millisecond,
		"the file is closed")
}

// TestChecksumAnswersNOOPAndSTATMeanwhile: while a checksum reads, the session answers NOOP
// and STAT (which reports it), and the digest arrives once the read goes on.
func TestChecksumAnswersNOOPAndSTATMeanwhile(t *testing.T) {
	for _, tc := range checksumCases {
		t.Run(tc.line, func(t *testing.T) {
			h := startHeldChecksum(t, tc.line)

			h.rc.expect("NOOP", StatusOK)
			status := h.rc.expect("STAT", StatusSystemStatus)
			assert.Contains(t, status, fmt.Sprintf("%s: %d bytes transferred", tc.line, transferChunk))

			h.fs.gate.open()
			code, msg := h.rc.read()
			assert.Equal(t, tc.code, code, msg)
			assert.Equal(t, tc.reply(h.content), msg)
		})
	}
}

// TestChecksumABOR: ABOR stops a checksum as it stops a transfer, 426 for the checksum and
// then 226 for ABOR, and the file is read no further; the session goes on.
func TestChecksumABOR(t *testing.T) {
	for _, tc := range checksumCases {
		t.Run(tc.line, func(t *testing.T) {
			h := startHeldChecksum(t, tc.line)

			h.rc.send("ABOR")
			h.releaseOnceAborted(t)
			h.rc.expectAborted()

			h.assertStoppedAtGate(t)

			code, msg := h.rc.cmd("XCRC /small")
			assert.Equal(t, StatusFileOK, code, msg)
			assert.Equal(t, goDigest(HASHAlgoCRC32, []byte("small")), msg)
		})
	}
}

// TestChecksumQueuesCommands: a command other than ABOR, STAT and NOOP sent during a checksum
// (another checksum, a transfer) runs after it, in order, as behind a transfer.
func TestChecksumQueuesCommands(t *testing.T) {
	h := startHeldChecksum(t, "HASH /big")

	h.rc.send("XMD5 /small")
	h.rc.send("PWD")
	h.fs.gate.open()

	code, msg := h.rc.read()
	assert.Equal(t, StatusFileStatus, code, msg)
	assert.Equal(t, checksumCases[0].reply(h.content), msg)

	code, msg = h.rc.read()
	assert.Equal(t, StatusFileOK, code, msg)
	assert.Equal(t, goDigest(HASHAlgoMD5, []byte("small")), msg)

	code, msg = h.rc.read()
	assert.Equal(t, StatusPathCreated, code, msg)
}

// TestChecksumEndsWithTheSession: a client that goes away, Stop, and Shutdown past its
// deadline end a running checksum; the server's cleanup checks no goroutine is left.
func TestChecksumEndsWithTheSession(t *testing.T) {
	for _, tt := range []struct {
		name string
		end  func(h *heldChecksum) <-chan error
	}{
		{"client gone", func(h *heldChecksum) <-chan error {
			_ = h.rc.conn.Close()

			return nil
		}},
		{"Stop", func(h *heldChecksum) <-chan error {
			stopped := make(chan error, 1)

			go func() { stopped <- h.s.Stop() }()

			return stopped
		}},
		{"Shutdown deadline", func(h *heldChecksum) <-chan error {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()

			stopped := make(chan error, 1)

			go func() { stopped <- h.s.Shutdown(ctx) }()

			return stopped
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := startHeldChecksum(t, "XSHA256 /big")

			stopped := tt.end(h)
			h.releaseOnceAborted(t)

			if stopped != nil {
				err := <-stopped
				if tt.name == "Stop" {
					require.NoError(t, err)
				} else {
					require.ErrorIs(t, err, context.Canceled)
				}
			}

			require.Eventually(t, func() bool { return h.s.disconnectedCount() == 1 }, 10*time.Second,
				time.Millisecond)
			h.assertStoppedAtGate(t)
		})
	}
}

// TestChecksumShutdownLetsItFinish: Shutdown waits for a running checksum as for a transfer:
// the digest, then 421.
func TestChecksumShutdownLetsItFinish(t *testing.T) {
	h := startHeldChecksum(t, "HASH /big")

	shutdown := h.s.startShutdown(10 * time.Second)

	h.fs.gate.open()

	code, msg := h.rc.read()
	assert.Equal(t, StatusFileStatus, code, msg)
	assert.Equal(t, checksumCases[0].reply(h.content), msg)

	code, msg = h.rc.read()
	assert.Equal(t, StatusServiceNotAvailable, code)
	assert.Equal(t, "Server is shutting down", msg)
	require.NoError(t, <-shutdown)
}

// TestChecksumMaxHashSize: a range longer than MaxHashSize is refused with 550 before any read,
// whatever the command; one within it is hashed. A negative limit lifts it.
func TestChecksumMaxHashSize(t *testing.T) {
	content := testContent(1001)
	refusal := "Cannot hash /f: 1001 bytes to read, more than this server's limit of 1000"

	s := newTestServer(t, withSettings(func(s *Settings) {
		enableHASH(s)
		s.MaxHashSize = 1000
	}))
	require.NoError(t, writeFile(s.driver.fs, "/f", content))

	rc := s.rawLoggedIn(t)
	assert.Equal(t, refusal, rc.expect("HASH /f", StatusActionNotTaken))

	for _, verb := range []string{"XCRC", "XMD5", "XSHA", "XSHA1", "XSHA256", "XSHA512"} {
		assert.Equal(t, refusal, rc.expect(verb+" /f", StatusActionNotTaken), verb)
	}

	rc.expect("RANG 1 1000", StatusFileActionPending)
	assert.Equal(t, "SHA-256 1-1000 "+goDigest(HASHAlgoSHA256, content[1:])+" /f",
		rc.expect("HASH /f", StatusFileStatus))
	assert.Equal(t, goDigest(HASHAlgoSHA256, content[:1000]), rc.expect("XSHA256 /f 0 1000", StatusFileOK))

	// The range is checked, not the file: a RANG within the limit is hashed, and RANG's end
	// is cut to the file's before the check.
	rc.expect("RANG 0 5000", StatusFileActionPending)
	assert.Equal(t, refusal, rc.expect("HASH /f", StatusActionNotTaken))

	unlimited := newTestServer(t, withSettings(func(s *Settings) {
		enableHASH(s)
		s.MaxHashSize = -1
	}))
	require.NoError(t, writeFile(unlimited.driver.fs, "/f", content))
	assert.Equal(t, goDigest(HASHAlgoSHA1, content), unlimited.rawLoggedIn(t).expect("XSHA1 /f", StatusFileOK))

	assert.Equal(t, int64(DefaultMaxHashSize), (&Settings{}).withDefaults().MaxHashSize)
	assert.Equal(t, int64(16<<30), int64(DefaultMaxHashSize))
}

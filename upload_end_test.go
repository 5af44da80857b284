package ftpserver

import (
	"bytes"
	"testing"

	"github.com/jlaffaye/ftp"
	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// trustServer starts a server over memory whose files report TransferError, whose driver
// reports events, and with TLS, MODE Z and the given settings.
func trustServer(t *testing.T, change func(*Settings)) (*testServer, *reportingFs, <-chan seenEvent) {
	t.Helper()

	fs := &reportingFs{Fs: afero.NewMemMapFs()}
	s, events := newEventsServer(t, withTLS(t), withFs(fs), withSettings(func(settings *Settings) {
		settings.DeflateCompressionLevel = 5
		change(settings)
	}))

	return s, fs, events
}

// trustClient logs in over TLS, with TYPE I, and PROT P or C.
func trustClient(t *testing.T, s *testServer, protected bool) *rawClient {
	t.Helper()

	rc := s.raw(t)
	rc.startTLS(clientTLSConfig())
	rc.login()
	rc.expect("TYPE I", StatusOK)
	rc.expect("PBSZ 0", StatusOK)

	if protected {
		rc.expect("PROT P", StatusOK)
	} else {
		rc.expect("PROT C", StatusOK)
	}

	return rc
}

// login logs in as the test user.
func (rc *rawClient) login() {
	rc.t.Helper()

	rc.expect("USER "+testUser, StatusUserOK)
	rc.expect("PASS "+testPass, StatusUserLoggedIn)
}

func TestTLSUploadWithoutCloseNotify(t *testing.T) {

	tests := []struct {
		name   string
		policy CloseNotifyRequirement
		opts   uploadOptions
		cut    bool // the upload must fail as truncated
		plain  bool // without AtomicUploads
	}{
		{"close_notify", CloseNotifyWithAtomicUploads, uploadOptions{command: "STOR", protected: true, ending: endCloseNotify}, false, false},
		{"FIN alone", CloseNotifyWithAtomicUploads, uploadOptions{command: "STOR", protected: true, ending: endFIN}, true, false},
		{"MODE Z close_notify", CloseNotifyRequired, uploadOptions{command: "STOR", protected: true, deflate: true}, false, false},
		{"MODE Z FIN alone", CloseNotifyRequired, uploadOptions{command: "STOR", protected: true, deflate: true, ending: endFIN}, true, false},
		{"APPE FIN alone", CloseNotifyRequired, uploadOptions{command: "APPE", protected: true, ending: endFIN}, true, false},
		{"APPE close_notify", CloseNotifyRequired, uploadOptions{command: "APPE", protected: true}, false, false},
		{"optional", CloseNotifyOptional, uploadOptions{command: "STOR", protected: true, ending: endFIN}, false, false},
		{"clear text", CloseNotifyRequired, uploadOptions{command: "STOR", ending: endFIN}, false, false},
		// The default of a program written for ftpserverlib, which has no AtomicUploads.
		{"default without atomic uploads", CloseNotifyWithAtomicUploads,
			uploadOptions{command: "STOR", protected: true, ending: endFIN}, false, true},
		{"required without atomic uploads", CloseNotifyRequired,
			uploadOptions{command: "STOR", protected: true, ending: endFIN}, true, true},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {

			s, fs, events := trustServer(t, func(settings *Settings) {
				settings.AtomicUploads = !tt.plain
				settings.TLSCloseNotify = tt.policy
			})

			old := testContent(1000)
			require.NoError(t, writeFile(fs.Fs, "/f.bin", old))

			rc := trustClient(t, s, tt.opts.protected)
			data := testContent(700_000)[1000:]
			code, msg := rc.uploadEnding("/f.bin", data, tt.opts)
			event := transferEnded(t, events)

			want := data
			if tt.opts.command == "APPE" {
				want = append(append([]byte{}, old...), data...)
			}

			if !tt.cut {
				assert.Equal(t, StatusClosingDataConn, code, msg)
				require.NoError(t, event.Err)
				assert.Empty(t, fs.errs.all())
				requireContent(t, fs.Fs, "/f.bin", want)

				return
			}

			assert.Equal(t, StatusTransferAborted, code)
			assert.Equal(t, uploadTruncatedText, msg)
			require.ErrorIs(t, event.Err, ErrUploadTruncated)
			assert.EqualValues(t, len(data), event.Bytes)

			reported := fs.errs.all()
			require.Len(t, reported, 1)
			require.ErrorIs(t, reported[0], ErrUploadTruncated)
			assert.Zero(t, fs.flushes.Load(), "a truncated upload is not flushed")

			if tt.opts.command == "STOR" && !tt.plain {
				requireContent(t, fs.Fs, "/f.bin", old) // atomic: the earlier file stays
			}

			requireNoUploadTemp(t, fs.Fs, "/")
		})
	}
}

func TestTLSUploadWithoutCloseNotifySTOU(t *testing.T) {

	s, fs, events := trustServer(t, func(settings *Settings) { settings.TLSCloseNotify = CloseNotifyRequired })
	rc := trustClient(t, s, true)

	code, msg := rc.uploadEnding("", testContent(5000), uploadOptions{command: "STOU", protected: true, ending: endFIN})
	assert.Equal(t, StatusTransferAborted, code)
	assert.Equal(t, uploadTruncatedText, msg)
	require.ErrorIs(t, transferEnded(t, events).Err, ErrUploadTruncated)
	require.Len(t, fs.errs.all(), 1)

	code, msg = rc.uploadEnding("", testContent(5000), uploadOptions{command: "STOU", protected: true})
	assert.Equal(t, StatusClosingDataConn, code, msg)
	require.NoError(t, transferEnded(t, events).Err)
}

// TestUploadCutNeverCommitted: an upload ended by a reset or by the stall timeout is never
// taken for a whole file, in clear text and under TLS, written in place or atomically.
func TestUploadCutNeverCommitted(t *testing.T) {

	for _, ending := range []struct {
		name   string
		ending dataEnding
	}{{"reset", endReset}, {"stall", endStall}} {
		for _, protected := range []bool{false, true} {
			for _, atomic := range []bool{false, true} {
				name := ending.name + map[bool]string{false: " clear", true: " TLS"}[protected] +
					map[bool]string{false: " in place", true: " atomic"}[atomic]

				t.Run(name, func(t *testing.T) {
					testUploadCut(t, uploadOptions{command: "STOR", protected: protected, ending: ending.ending}, atomic)
				})
			}
		}
	}
}

func testUploadCut(t *testing.T, opts uploadOptions, atomic bool) {
	t.Helper()

	s, fs, events := trustServer(t, func(settings *Settings) {
		settings.AtomicUploads = atomic
		settings.TransferStallTimeout = 1
	})

	old := testContent(1000)
	require.NoError(t, writeFile(fs.Fs, "/f.bin", old))

	rc := trustClient(t, s, opts.protected)
	code, msg := rc.uploadEnding("/f.bin", testContent(300_000), opts)
	event := transferEnded(t, events)

	assert.Equal(t, StatusTransferAborted, code, msg)
	require.Error(t, event.Err)
	require.NotErrorIs(t, event.Err, ErrUploadTruncated, "not a TLS truncation")
	require.Len(t, fs.errs.all(), 1, "the driver's file is told")
	assert.Zero(t, fs.flushes.Load(), "a broken upload is not flushed")

	if atomic {
		requireContent(t, fs.Fs, "/f.bin", old)
		requireNoUploadTemp(t, fs.Fs, "/")
	}

	// The session goes on.
	rc.expect("NOOP", StatusOK)
}

// TestTLSUploadCloseNotifyJlaffaye: jlaffaye/ftp ends its TLS uploads with close_notify, so its
// uploads are kept with the alert required.
func TestTLSUploadCloseNotifyJlaffaye(t *testing.T) {
	s, fs, _ := trustServer(t, func(settings *Settings) { settings.TLSCloseNotify = CloseNotifyRequired })

	conn := s.dial(t, ftp.DialWithExplicitTLS(clientTLSConfig()))
	data := testContent(1 << 20)
	require.NoError(t, conn.Stor("/f.bin", bytes.NewReader(data)))
	requireContent(t, fs.Fs, "/f.bin", data)
	assert.Empty(t, fs.errs.all())
}

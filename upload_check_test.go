package ftpserver

import (
	"bytes"
	"errors"
	"io"
	"net/textproto"
	"os"
	"strings"
	"testing"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refusedMarker makes checkingFs refuse an upload that contains it.
const refusedMarker = "X5O!P%@AP-TEST-MARKER"

var errInfected = errors.New("infected: test marker found")

// checkedUpload is what checkingFs saw of one CheckUpload call.
type checkedUpload struct {
	name     string
	received ReceivedUpload
	content  []byte
	visible  bool // name held the received content while the check ran
}

// checkingFs implements ClientDriverExtensionUploadCheck: it refuses uploads containing
// refusedMarker with errInfected, or with refuseWith when set.
type checkingFs struct {
	afero.Fs

	refuseWith error
	checks     recorder[checkedUpload]
}

func (f *checkingFs) CheckUpload(cc ClientContext, name string, received ReceivedUpload) error {
	if cc == nil {
		return errors.New("no client context")
	}

	file, err := received.Open()
	if err != nil {
		return err
	}

	content, readErr := io.ReadAll(file)
	if err := errors.Join(readErr, file.Close()); err != nil {
		return err
	}

	current, statErr := afero.ReadFile(f.Fs, name)
	visible := statErr == nil && bytes.Equal(current, content) && received.Name != name
	f.checks.add(checkedUpload{name: name, received: received, content: content, visible: visible})

	switch {
	case f.refuseWith != nil:
		return f.refuseWith
	case bytes.Contains(content, []byte(refusedMarker)):
		return errInfected
	}

	return nil
}

// checkedServer starts a server over a checkingFs, in memory or in a directory.
func checkedServer(t *testing.T, dir, atomic bool) (*testServer, *checkingFs, <-chan seenEvent) {
	t.Helper()

	fs := &checkingFs{Fs: afero.NewMemMapFs()}
	if dir {
		fs.Fs = afero.NewBasePathFs(afero.NewOsFs(), t.TempDir())
	}

	s, events := newEventsServer(t, withFs(fs), withSettings(func(settings *Settings) { settings.AtomicUploads = atomic }))

	return s, fs, events
}

// infected returns content with the marker inside.
func infected(n int) []byte {
	data := testContent(n)
	copy(data[n/2:], refusedMarker)

	return data
}

func TestUploadCheck(t *testing.T) {
	for _, fsys := range atomicFileSystems {
		for _, atomic := range []bool{false, true} {
			t.Run(fsys.name+map[bool]string{false: "", true: " atomic"}[atomic], func(t *testing.T) {
				testUploadCheck(t, fsys.dir, atomic)
			})
		}
	}
}

func testUploadCheck(t *testing.T, dir, atomic bool) {
	t.Helper()

	s, fs, events := checkedServer(t, dir, atomic)
	old := testContent(1000)
	require.NoError(t, writeFile(fs.Fs, "/f.bin", old))

	conn := s.dial(t)

	// Accepted: it appears with the bytes sent, and the check saw them under a temporary name.
	clean := testContent(400_000)
	require.NoError(t, conn.Stor("/f.bin", bytes.NewReader(clean)))
	requireContent(t, fs.Fs, "/f.bin", clean)
	require.NoError(t, transferEnded(t, events).Err)

	checks := fs.checks.all()
	require.Len(t, checks, 1)
	assert.Equal(t, "/f.bin", checks[0].name)
	assert.Equal(t, "STOR", checks[0].received.Command)
	assert.True(t, strings.HasPrefix(checks[0].received.Name, "/"+AtomicUploadPrefix), checks[0].received.Name)
	assert.EqualValues(t, len(clean), checks[0].received.Size)
	assert.Equal(t, sha256Hex(clean), sha256Hex(checks[0].content))

	// Refused: 550 with the driver's text, the earlier file stays, no temporary file is left.
	err := conn.Stor("/f.bin", bytes.NewReader(infected(300_000)))
	requireFTPError(t, err, StatusActionNotTaken, "Upload refused: "+errInfected.Error())
	requireContent(t, fs.Fs, "/f.bin", clean)

	event := transferEnded(t, events)
	require.ErrorIs(t, event.Err, ErrUploadRefused)
	require.ErrorIs(t, event.Err, errInfected)

	// A new name refused never exists.
	err = conn.Stor("/new.bin", bytes.NewReader(infected(5000)))
	requireFTPError(t, err, StatusActionNotTaken, "Upload refused: "+errInfected.Error())
	_, statErr := fs.Stat("/new.bin")
	require.ErrorIs(t, statErr, os.ErrNotExist)

	for _, check := range fs.checks.all() {
		assert.False(t, check.visible, "%s was visible during its check", check.name)
	}

	requireNoUploadTemp(t, fs.Fs, "/")
	require.ErrorIs(t, transferEnded(t, events).Err, ErrUploadRefused)
}

// requireFTPError requires err to be the FTP reply code and text.
func requireFTPError(t *testing.T, err error, code int, text string) {
	t.Helper()

	var protoErr *textproto.Error
	require.ErrorAs(t, err, &protoErr)
	assert.Equal(t, code, protoErr.Code)
	assert.Equal(t, text, protoErr.Msg)
}

func TestUploadCheckInPlace(t *testing.T) {
	s, fs, _ := checkedServer(t, false, false)
	old := testContent(1000)
	require.NoError(t, writeFile(fs.Fs, "/f.bin", old))

	conn := s.dial(t)

	// APPE extends the file itself: the check sees it whole.
	more := testContent(3000)[1000:]
	require.NoError(t, conn.Append("/f.bin", bytes.NewReader(more)))

	whole := append(append([]byte{}, old...), more...)
	requireContent(t, fs.Fs, "/f.bin", whole)

	checks := fs.checks.all()
	require.Len(t, checks, 1)
	assert.Equal(t, "/f.bin", checks[0].received.Name)
	assert.Equal(t, "APPE", checks[0].received.Command)
	assert.EqualValues(t, len(more), checks[0].received.Size)
	assert.Equal(t, sha256Hex(whole), sha256Hex(checks[0].content))

	// A refused APPE removes the file, which the refused bytes are part of.
	err := conn.Append("/f.bin", bytes.NewReader(infected(2000)))
	requireFTPError(t, err, StatusActionNotTaken, "Upload refused: "+errInfected.Error())

	_, statErr := fs.Stat("/f.bin")
	require.ErrorIs(t, statErr, os.ErrNotExist)

	// STOU goes through a temporary name: a refused one leaves nothing.
	rc := s.rawLoggedIn(t)
	code, msg := rc.uploadEnding("", infected(1000), uploadOptions{command: "STOU", ending: endFIN})
	assert.Equal(t, StatusActionNotTaken, code)
	assert.Equal(t, "Upload refused: "+errInfected.Error(), msg)

	entries, err := afero.ReadDir(fs.Fs, "/")
	require.NoError(t, err)
	assert.Empty(t, entries)

	code, msg = rc.uploadEnding("", testContent(1000), uploadOptions{command: "STOU", ending: endFIN})
	assert.Equal(t, StatusClosingDataConn, code, msg)

	last := fs.checks.all()[len(fs.checks.all())-1]
	assert.Equal(t, "STOU", last.received.Command)
	assert.True(t, strings.HasPrefix(last.received.Name, "/"+AtomicUploadPrefix), last.received.Name)
	requireContent(t, fs.Fs, last.name, testContent(1000))
}

func TestUploadCheckQuota(t *testing.T) {
	s, fs, _ := checkedServer(t, false, true)
	fs.refuseWith = ErrStorageExceeded

	err := s.dial(t).Stor("/f.bin", bytes.NewReader(testContent(100)))
	requireFTPError(t, err, StatusActionNotTakenStorageExceeded, "Upload refused: Storage limit exceeded")
}

func TestUploadCheckNotCalledForFailedUpload(t *testing.T) {
	s, fs, _ := checkedServer(t, false, true)

	rc := s.rawLoggedIn(t)
	code, _ := rc.uploadEnding("/f.bin", testContent(100_000), uploadOptions{command: "STOR", ending: endReset})
	assert.Equal(t, StatusTransferAborted, code)
	assert.Empty(t, fs.checks.all())
	requireNoUploadTemp(t, fs.Fs, "/")
}

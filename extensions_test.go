package ftpserver

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGetHandleFlagsAndOffsets(t *testing.T) {
	fs := &handleFs{Fs: afero.NewMemMapFs()}
	s := newTestServer(t, withFs(fs))
	content := testContent(10_000)
	require.NoError(t, writeFile(fs.Fs, "/f.bin", content))

	conn := s.dial(t)
	r, err := conn.Retr("f.bin")
	require.NoError(t, err)
	assert.Equal(t, sha256Hex(content), sha256Hex(readAllClose(t, r)))

	r, err = conn.RetrFrom("f.bin", 4000)
	require.NoError(t, err)
	assert.Equal(t, sha256Hex(content[4000:]), sha256Hex(readAllClose(t, r)))

	require.NoError(t, conn.Stor("new.bin", bytes.NewReader(content)))
	require.NoError(t, conn.Append("new.bin", strings.NewReader("tail")))

	resumed := testContent(8000)
	require.NoError(t, conn.StorFrom("new.bin", bytes.NewReader(resumed), 5000))

	stored, err := afero.ReadFile(fs.Fs, "/new.bin")
	require.NoError(t, err)
	assert.Equal(t, sha256Hex(append(append([]byte{}, content[:5000]...), resumed...)), sha256Hex(stored))

	// REST then STOR must not truncate (the driver keeps what lies before the offset) nor
	// append (the writing starts at the offset, not at the end).
	assert.Equal(t, []handleCall{
		{"/f.bin", os.O_RDONLY, 0},
		{"/f.bin", os.O_RDONLY, 4000},
		{"/new.bin", os.O_WRONLY | os.O_CREATE | os.O_TRUNC, 0},
		{"/new.bin", os.O_WRONLY | os.O_CREATE | os.O_APPEND, 0},
		{"/new.bin", os.O_WRONLY | os.O_CREATE, 5000},
	}, fs.calls.all())
}

func TestTransferErrorNotCalledOnSuccess(t *testing.T) {
	fs := &reportingFs{Fs: afero.NewMemMapFs()}
	s := newTestServer(t, withFs(fs))
	content := testContent(100_000)

	conn := s.dial(t)
	require.NoError(t, conn.Stor("f.bin", bytes.NewReader(content)))

	r, err := conn.Retr("f.bin")
	require.NoError(t, err)
	assert.Equal(t, sha256Hex(content), sha256Hex(readAllClose(t, r)))
	require.NoError(t, conn.NoOp())

	assert.Empty(t, fs.errs.all())
	assert.EqualValues(t, 1, fs.flushes.Load(), "uploads are flushed, downloads are not")
}

func TestTransferErrorOnInterruptedUpload(t *testing.T) {
	fs := &reportingFs{Fs: afero.NewMemMapFs()}
	s := newTestServer(t, withFs(fs))

	rc := s.rawLoggedIn(t)
	rc.expect("TYPE I", StatusOK)
	data := rc.pasv()
	rc.expect("STOR /cut.bin", StatusFileStatusOK)

	_, err := data.Write(testContent(10_000))
	require.NoError(t, err)

	tcp, ok := data.(*net.TCPConn)
	require.True(t, ok)
	require.NoError(t, tcp.SetLinger(0)) // a reset, not the clean end of an upload
	require.NoError(t, tcp.Close())

	code, msg := rc.read()
	assert.Equal(t, StatusTransferAborted, code)
	assert.Equal(t, "Data connection closed, transfer aborted", msg)

	require.Len(t, fs.errs.all(), 1)
	require.Error(t, fs.errs.all()[0])
	assert.Zero(t, fs.flushes.Load(), "a broken upload is not flushed")
}

func TestTransferErrorOnABOR(t *testing.T) {
	fs := &reportingFs{Fs: afero.NewMemMapFs()}
	s := newTestServer(t, withFs(fs))
	require.NoError(t, writeFile(fs.Fs, "/big.bin", testContent(16<<20)))

	rc := s.rawLoggedIn(t)
	rc.startRETR("/big.bin")
	rc.abort("ABOR")

	require.Len(t, fs.errs.all(), 1)
	require.Error(t, fs.errs.all()[0])
}

func TestFlushError(t *testing.T) {
	tests := []struct {
		name string
		err  error
		code int
		text string
	}{
		{"any error", errors.New("backend flush failed"), StatusActionNotTaken, "backend flush failed"},
		{"quota", ErrStorageExceeded, StatusActionNotTakenStorageExceeded, "Issue during transfer: Storage limit exceeded"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := &reportingFs{Fs: afero.NewMemMapFs(), flushErr: tt.err}
			s := newTestServer(t, withFs(fs))
			rc := s.rawLoggedIn(t)
			rc.expect("TYPE I", StatusOK)

			code, msg := rc.storeRaw("/f.bin", testContent(50_000))
			assert.Equal(t, tt.code, code)
			assert.Contains(t, msg, tt.text)
			assert.EqualValues(t, 1, fs.flushes.Load())

			require.Len(t, fs.errs.all(), 1, "a failed flush is a failed transfer")
			assert.ErrorIs(t, fs.errs.all()[0], tt.err)
		})
	}
}

func TestFileListExtension(t *testing.T) {
	fs := &listerFs{Fs: afero.NewMemMapFs()}
	s := newTestServer(t, withFs(fs))
	require.NoError(t, fs.Mkdir("/real", 0o755))
	require.NoError(t, writeFile(fs.Fs, "/real/not-listed.txt", []byte("x")))

	rc := s.rawLoggedIn(t)
	lines := rc.listing("LIST /real")
	assert.Equal(t, []string{"vdir", "virtual.txt"}, names(lines))

	for _, line := range lines {
		m := lsLine.FindStringSubmatch(line)
		require.NotNil(t, m, line)

		if m[7] == "virtual.txt" {
			assert.Equal(t, "42", m[3])
		}
	}

	rc.expect("CWD /real", StatusFileOK)
	assert.ElementsMatch(t, []string{"vdir", "virtual.txt"}, rc.listing("NLST"))
	assert.Len(t, rc.listing("MLSD /real"), 3, "the directory itself, then its two entries")
	assert.Contains(t, rc.expect("STAT /real", StatusDirectoryStatus), "virtual.txt")

	assert.Equal(t, []string{"/real", "/real", "/real", "/real"}, fs.dirs.all())
}

// removeDirFs implements ClientDriverExtensionRemoveDir.
type removeDirFs struct {
	afero.Fs

	removed recorder[string]
}

func (r *removeDirFs) RemoveDir(name string) error {
	r.removed.add(name)

	if name == "/locked" {
		return &os.PathError{Op: "rmdir", Path: name, Err: os.ErrPermission}
	}

	return r.RemoveAll(name)
}

func TestRemoveDirExtension(t *testing.T) {
	fs := &removeDirFs{Fs: afero.NewMemMapFs()}
	s := newTestServer(t, withFs(fs))
	require.NoError(t, fs.MkdirAll("/d/inner", 0o755))
	require.NoError(t, fs.Mkdir("/locked", 0o755))
	require.NoError(t, writeFile(fs, "/f.txt", []byte("x")))

	rc := s.rawLoggedIn(t)
	rc.expect("RMD /d", StatusFileOK) // the driver decides what a non-empty directory means
	assert.Equal(t, "Could not delete dir /locked: permission denied", rc.expect("XRMD /locked", StatusActionNotTaken))
	rc.expect("DELE /f.txt", StatusFileOK)

	assert.Equal(t, []string{"/d", "/locked"}, fs.removed.all(), "DELE does not use RemoveDir")

	_, err := fs.Stat("/d")
	require.ErrorIs(t, err, os.ErrNotExist)
	_, err = fs.Stat("/f.txt")
	require.ErrorIs(t, err, os.ErrNotExist)
}

// allocateFs implements ClientDriverExtensionAllocate with a 1 MiB quota.
type allocateFs struct {
	afero.Fs

	sizes recorder[int]
}

func (a *allocateFs) AllocateSpace(size int) error {
	a.sizes.add(size)

	if size > 1<<20 {
		return ErrStorageExceeded
	}

	return nil
}

func TestAllocateExtension(t *testing.T) {
	fs := &allocateFs{Fs: afero.NewMemMapFs()}
	s := newTestServer(t, withFs(fs))

	rc := s.rawLoggedIn(t)
	assert.Equal(t, "Space allocated", rc.expect("ALLO 1000", StatusOK))
	rc.expect("ALLO 2000 R 512", StatusOK)
	assert.Equal(t, "Cannot allocate space: Storage limit exceeded",
		rc.expect("ALLO 5000000", StatusActionNotTakenStorageExceeded))
	rc.expect("ALLO -5", StatusSyntaxErrorParameters)

	assert.Equal(t, []int{1000, 2000, 5000000}, fs.sizes.all())
}

// symlinkFs implements ClientDriverExtensionSymlink.
type symlinkFs struct {
	afero.Fs

	links recorder[[2]string]
}

func (l *symlinkFs) Symlink(oldname, newname string) error {
	l.links.add([2]string{oldname, newname})

	return nil
}

func TestSymlinkExtension(t *testing.T) {
	fs := &symlinkFs{Fs: afero.NewMemMapFs()}
	s := newTestServer(t, withFs(fs))
	require.NoError(t, fs.Mkdir("/dir", 0o755))

	rc := s.rawLoggedIn(t)
	assert.Equal(t, "Done !", rc.expect("SITE SYMLINK target.txt /dir/link", StatusOK))
	rc.expect("CWD /dir", StatusFileOK)
	rc.expect("SITE SYMLINK ../t l", StatusOK)
	rc.expect("SITE SYMLINK only-one", StatusSyntaxErrorParameters)

	assert.Equal(t, [][2]string{{"/target.txt", "/dir/link"}, {"/t", "/dir/l"}}, fs.links.all())
}

func TestSymlinkThroughAferoLinker(t *testing.T) {
	s := newTestServer(t, withOsFs(t))
	served, _ := jailDirs(t, s)
	require.NoError(t, writeFile(s.driver.fs, "/t.txt", []byte("target")))

	rc := s.rawLoggedIn(t)
	rc.expect("SITE SYMLINK /t.txt /l.txt", StatusOK)
	assert.Equal(t, "Couldn't symlink: file exists", rc.expect("SITE SYMLINK /t.txt /l.txt", StatusActionNotTaken))

	info, err := os.Lstat(served + "/l.txt")
	require.NoError(t, err)
	assert.Equal(t, os.ModeSymlink, info.Mode().Type())

	r, err := s.dial(t).Retr("/l.txt")
	require.NoError(t, err)
	assert.Equal(t, "target", string(readAllClose(t, r)))

	// A file system that cannot link says so.
	memory := newTestServer(t)
	assert.Equal(t, "This extension hasn't been implemented !",
		memory.rawLoggedIn(t).expect("SITE SYMLINK /a /b", StatusCommandNotImplemented))
}

// siteFs implements ClientDriverExtensionSite for SITE HELLO and SITE QUOTA only.
type siteFs struct {
	afero.Fs
}

func (siteFs) Site(param string) *AnswerCommand {
	verb, _, _ := strings.Cut(param, " ")

	switch strings.ToUpper(verb) {
	case "HELLO":
		return &AnswerCommand{Code: StatusOK, Message: "Hello from the driver"}
	case "QUOTA":
		return &AnswerCommand{Code: StatusSystemStatus, Message: "Quota:\nused 1\nEnd"}
	default:
		return nil
	}
}

func TestSiteExtension(t *testing.T) {
	fs := siteFs{Fs: afero.NewMemMapFs()}
	s := newTestServer(t, withFs(fs))

	rc := s.rawLoggedIn(t)
	assert.Equal(t, "Hello from the driver", rc.expect("SITE HELLO", StatusOK))
	assert.Equal(t, "Quota:\n used 1\nEnd", rc.expect("SITE quota", StatusSystemStatus))

	// nil falls through to the built-in subcommands.
	assert.Equal(t, "Created dir /made", rc.expect("SITE MKDIR /made", StatusFileOK))
	info, err := fs.Stat("/made")
	require.NoError(t, err)
	assert.True(t, info.IsDir())

	assert.Equal(t, "Removed dir /made", rc.expect("SITE RMDIR /made", StatusFileOK))
	_, err = fs.Stat("/made")
	require.ErrorIs(t, err, os.ErrNotExist)

	assert.Equal(t, "Unknown SITE subcommand: NOPE", rc.expect("SITE nope", StatusSyntaxErrorNotRecognised))
}

func TestSiteMKDIRAndRMDIRWorkOnTrees(t *testing.T) {
	s := newTestServer(t)
	fs := s.driver.fs

	rc := s.rawLoggedIn(t)
	assert.Equal(t, "Created dir /a/b/c", rc.expect("SITE MKDIR /a/b/c", StatusFileOK), "parents are created")
	require.NoError(t, writeFile(fs, "/a/b/c/f.txt", []byte("x")))

	rc.expect("CWD /a", StatusFileOK)
	assert.Equal(t, "Created dir /a/with space", rc.expect("SITE MKDIR with space", StatusFileOK))
	info, err := fs.Stat("/a/with space")
	require.NoError(t, err)
	assert.True(t, info.IsDir())

	assert.Equal(t, "Missing path", rc.expect("SITE MKDIR", StatusSyntaxErrorNotRecognised))
	assert.Equal(t, "Missing path", rc.expect("SITE RMDIR", StatusSyntaxErrorNotRecognised))
	assert.Equal(t, "Cannot remove the root directory", rc.expect("SITE RMDIR /", StatusActionNotTaken))

	assert.Equal(t, "Removed dir /a/b", rc.expect("SITE RMDIR b", StatusFileOK), "a tree goes at once")

	for _, gone := range []string{"/a/b", "/a/b/c", "/a/b/c/f.txt"} {
		_, err = fs.Stat(gone)
		require.ErrorIs(t, err, os.ErrNotExist, gone)
	}

	_, err = fs.Stat("/a/with space")
	require.NoError(t, err, "what is beside the tree stays")
}

func TestSiteCHMODOnDisk(t *testing.T) {
	s := newTestServer(t, withOsFs(t))
	served, _ := jailDirs(t, s)
	require.NoError(t, writeFile(s.driver.fs, "/f.txt", []byte("x")))
	require.NoError(t, s.driver.fs.Mkdir("/dir", 0o755))

	rc := s.rawLoggedIn(t)
	assert.Equal(t, "SITE CHMOD command successful", rc.expect("SITE CHMOD 600 /f.txt", StatusOK))
	rc.expect("SITE CHMOD 0710 dir", StatusOK)

	info, err := os.Stat(served + "/f.txt")
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	info, err = os.Stat(served + "/dir")
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o710), info.Mode().Perm())

	rc.expect("SITE CHMOD 644", StatusSyntaxErrorParameters)

	for _, bad := range []string{"SITE CHMOD 9 /f.txt", "SITE CHMOD rw /f.txt", "SITE CHMOD 17777 /f.txt"} {
		rc.expect(bad, StatusActionNotTaken)
	}

	assert.Equal(t, `Invalid mode "a": use an octal mode such as 644`, rc.expect("SITE CHMOD a /f.txt", StatusActionNotTaken))

	assert.Equal(t, "Cannot change mode: no such file or directory",
		rc.expect("SITE CHMOD 644 /missing", StatusActionNotTaken))
}

type chownCall struct {
	name     string
	uid, gid int
}

// chownFs records Chown calls.
type chownFs struct {
	afero.Fs

	calls recorder[chownCall]
}

func (c *chownFs) Chown(name string, uid, gid int) error {
	c.calls.add(chownCall{name, uid, gid})

	return nil
}

func TestSiteCHOWN(t *testing.T) {
	fs := &chownFs{Fs: afero.NewMemMapFs()}
	s := newTestServer(t, withFs(fs))

	rc := s.rawLoggedIn(t)
	assert.Equal(t, "Done !", rc.expect("SITE CHOWN 1000:100 f.txt", StatusOK))
	rc.expect("SITE CHOWN 1001 /d/../g", StatusOK)

	rc.expect("SITE CHOWN 1000", StatusSyntaxErrorParameters)

	for _, bad := range []string{"SITE CHOWN abc f", "SITE CHOWN 1:x f", "SITE CHOWN -1 f"} {
		rc.expect(bad, StatusActionNotTaken)
	}

	// Without a group the driver is asked for group 0, as ftpserverlib asks.
	assert.Equal(t, []chownCall{{"/f.txt", 1000, 100}, {"/g", 1001, 0}}, fs.calls.all())
}

func TestDisableSite(t *testing.T) {
	s := newTestServer(t, withSettings(func(s *Settings) { s.DisableSite = true }))
	require.NoError(t, writeFile(s.driver.fs, "/f", []byte("x")))

	rc := s.rawLoggedIn(t)
	assert.Equal(t, "SITE is disabled on this server", rc.expect("SITE CHMOD 600 /f", StatusCommandNotImplemented))
	rc.expect("SITE MKDIR /d", StatusCommandNotImplemented)

	_, err := s.driver.fs.Stat("/d")
	require.ErrorIs(t, err, os.ErrNotExist)
}

// quotaFs refuses to create files under /full and lets other files grow to 1000 bytes.
type quotaFs struct {
	afero.Fs
}

func (q quotaFs) OpenFile(name string, flag int, perm os.FileMode) (afero.File, error) {
	if strings.HasPrefix(name, "/full/") {
		return nil, ErrStorageExceeded
	}

	f, err := q.Fs.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}

	return &quotaFile{File: f, left: 1000}, nil
}

type quotaFile struct {
	afero.File

	left int
}

func (f *quotaFile) Write(p []byte) (int, error) {
	if len(p) <= f.left {
		f.left -= len(p)

		return f.File.Write(p)
	}

	n, _ := f.File.Write(p[:f.left])
	f.left = 0

	return n, ErrStorageExceeded
}

func TestStorageExceeded(t *testing.T) {
	s := newTestServer(t, withFs(quotaFs{Fs: afero.NewMemMapFs()}))
	rc := s.rawLoggedIn(t)
	rc.expect("TYPE I", StatusOK)

	// Refused when opening: no 150, no transfer.
	assert.Equal(t, "Could not access file: Storage limit exceeded",
		rc.expect("STOR /full/f.bin", StatusActionNotTakenStorageExceeded))

	// Refused while writing: the transfer's final reply.
	code, msg := rc.storeRaw("/big.bin", testContent(50_000))
	assert.Equal(t, StatusActionNotTakenStorageExceeded, code)
	assert.Equal(t, "Issue during transfer: Storage limit exceeded", msg)

	code, _ = rc.storeRaw("/small.bin", testContent(999))
	assert.Equal(t, StatusClosingDataConn, code)
}

// namePolicyFs refuses every name containing "forbidden".
type namePolicyFs struct {
	afero.Fs
}

func (n namePolicyFs) OpenFile(name string, flag int, perm os.FileMode) (afero.File, error) {
	if strings.Contains(name, "forbidden") {
		return nil, ErrFileNameNotAllowed
	}

	return n.Fs.OpenFile(name, flag, perm)
}

func (n namePolicyFs) Mkdir(name string, perm os.FileMode) error {
	if strings.Contains(name, "forbidden") {
		return ErrFileNameNotAllowed
	}

	return n.Fs.Mkdir(name, perm)
}

func (n namePolicyFs) Rename(oldname, newname string) error {
	if strings.Contains(newname, "forbidden") {
		return ErrFileNameNotAllowed
	}

	return n.Fs.Rename(oldname, newname)
}

func TestFileNameNotAllowed(t *testing.T) {
	fs := namePolicyFs{Fs: afero.NewMemMapFs()}
	s := newTestServer(t, withFs(fs))
	require.NoError(t, writeFile(fs.Fs, "/ok.txt", []byte("x")))

	rc := s.rawLoggedIn(t)
	assert.Equal(t, "Could not access file: File name not allowed",
		rc.expect("STOR forbidden.txt", StatusActionNotTakenNoFile))
	rc.expect("APPE forbidden.txt", StatusActionNotTakenNoFile)
	rc.expect("MKD /forbidden", StatusActionNotTakenNoFile)
	rc.expect("RNFR /ok.txt", StatusFileActionPending)
	assert.Equal(t, "Couldn't rename /ok.txt to /forbidden.txt: File name not allowed",
		rc.expect("RNTO /forbidden.txt", StatusActionNotTakenNoFile))

	names, err := afero.ReadDir(fs.Fs, "/")
	require.NoError(t, err)
	require.Len(t, names, 1)
}

func TestReadOnlyFsPermissionDenied(t *testing.T) {
	base := afero.NewMemMapFs()
	require.NoError(t, writeFile(base, "/f.txt", []byte("read me")))
	require.NoError(t, base.Mkdir("/dir", 0o755))

	s := newTestServer(t, withFs(afero.NewReadOnlyFs(base)))
	rc := s.rawLoggedIn(t)

	assert.Equal(t, "Could not access file: permission denied", rc.expect("STOR /f.txt", StatusActionNotTaken))
	rc.expect("STOR /new.txt", StatusActionNotTaken)
	rc.expect("APPE /f.txt", StatusActionNotTaken)
	assert.Equal(t, "Couldn't delete /f.txt: permission denied", rc.expect("DELE /f.txt", StatusActionNotTaken))
	assert.Equal(t, `Could not create "/d" : permission denied`, rc.expect("MKD /d", StatusActionNotTaken))
	rc.expect("RMD /dir", StatusActionNotTaken)
	rc.expect("RNFR /f.txt", StatusFileActionPending)
	rc.expect("RNTO /g.txt", StatusActionNotTaken)
	rc.expect("SITE CHMOD 600 /f.txt", StatusActionNotTaken)
	rc.expect("MFMT 20200101000000 /f.txt", StatusActionNotTaken)

	data := rc.pasv()
	rc.expect("RETR /f.txt", StatusFileStatusOK)
	assert.Equal(t, "read me", string(readAllClose(t, data)))

	stored, err := afero.ReadFile(base, "/f.txt")
	require.NoError(t, err)
	assert.Equal(t, "read me", string(stored))
}

// messagesDriver adds MainDriverExtensionPostAuthMessage and MainDriverExtensionQuitMessage.
type messagesDriver struct {
	*testDriver
}

func (messagesDriver) PostAuthMessage(_ ClientContext, user string, authErr error) string {
	if authErr != nil {
		return "Go away, " + user
	}

	return "Welcome aboard, " + user
}

func (messagesDriver) QuitMessage() string {
	return "See you soon"
}

func TestPostAuthAndQuitMessages(t *testing.T) {
	s := newTestServerMain(t, func(d *testDriver) MainDriver { return messagesDriver{d} })
	rc := s.raw(t)

	rc.expect("USER "+testUser, StatusUserOK)
	assert.Equal(t, "Go away, test", rc.expect("PASS wrong", StatusNotLoggedIn))
	rc.expect("USER "+testUser, StatusUserOK)
	assert.Equal(t, "Welcome aboard, test", rc.expect("PASS "+testPass, StatusUserLoggedIn))
	assert.Equal(t, "See you soon", rc.expect("QUIT", StatusClosingControlConn))
}

// nilAuthDriver returns neither a file system nor an error.
type nilAuthDriver struct {
	*testDriver
}

func (nilAuthDriver) AuthUser(ClientContext, string, string) (ClientDriver, error) {
	return nil, nil // the driver mistake under test
}

func TestAuthUserWithoutDriver(t *testing.T) {
	s := newTestServerMain(t, func(d *testDriver) MainDriver { return nilAuthDriver{d} })
	rc := s.raw(t)

	rc.expect("USER "+testUser, StatusUserOK)
	rc.expect("PASS "+testPass, StatusNotLoggedIn)
	rc.expect("PWD", StatusNotLoggedIn)
	rc.expect("LIST", StatusNotLoggedIn)
}

func TestDriverPanicClosesOnlyItsClient(t *testing.T) {
	fs := panickyFs{Fs: afero.NewMemMapFs()}
	s := newTestServer(t, withFs(fs))
	require.NoError(t, writeFile(fs.Fs, "/f.txt", []byte("fine")))

	other := s.rawLoggedIn(t)
	victim := s.rawLoggedIn(t)

	assert.Equal(t, "Internal error, closing control connection", victim.expect("CWD /boom", StatusServiceNotAvailable))

	require.NoError(t, victim.conn.SetDeadline(time.Now().Add(10*time.Second)))
	_, _, err := victim.text.ReadResponse(0)
	require.ErrorIs(t, err, io.EOF, "the control connection is closed after 421")

	other.expect("NOOP", StatusOK)
	assert.Equal(t, []string{"f.txt"}, other.listing("NLST"))

	newcomer := s.rawLoggedIn(t)
	newcomer.expect("TYPE I", StatusOK)
	newcomer.expect("SIZE /f.txt", StatusFileStatus)
}

func TestDriverPanicDuringTransfer(t *testing.T) {
	fs := panickyFs{Fs: afero.NewMemMapFs()}
	s := newTestServer(t, withFs(fs))
	content := testContent(100_000)
	require.NoError(t, writeFile(fs.Fs, "/panic.bin", content))
	require.NoError(t, writeFile(fs.Fs, "/f.bin", content))

	rc := s.rawLoggedIn(t)
	rc.expect("TYPE I", StatusOK)
	rc.pasv()
	rc.expect("RETR /panic.bin", StatusFileStatusOK)

	code, msg := rc.read()
	assert.Equal(t, statusLocalError, code)
	assert.Equal(t, "Internal error, transfer aborted", msg)

	// The session and the server go on.
	rc.expect("NOOP", StatusOK)
	data := rc.pasv()
	rc.expect("RETR /f.bin", StatusFileStatusOK)
	assert.Equal(t, sha256Hex(content), sha256Hex(readAllClose(t, data)))

	code, _ = rc.read()
	assert.Equal(t, StatusClosingDataConn, code)

	s.rawLoggedIn(t).expect("NOOP", StatusOK)
}

// writeRefusingFs opens files whose every Write fails, as a back end that lost its storage.
type writeRefusingFs struct {
	afero.Fs

	errs recorder[error]
}

var errBackendWrite = errors.New("backend refuses writes")

func (w *writeRefusingFs) OpenFile(name string, flag int, perm os.FileMode) (afero.File, error) {
	return openWrapped(w.Fs, name, flag, perm, func(f afero.File) afero.File { return &writeRefusingFile{File: f, fs: w} })
}

type writeRefusingFile struct {
	afero.File

	fs *writeRefusingFs
}

func (f *writeRefusingFile) Write([]byte) (int, error) { return 0, errBackendWrite }

func (f *writeRefusingFile) TransferError(err error) { f.fs.errs.add(err) }

func TestDriverWriteErrorIsFinal(t *testing.T) {
	fs := &writeRefusingFs{Fs: afero.NewMemMapFs()}
	s := newTestServer(t, withFs(fs))

	rc := s.rawLoggedIn(t)
	rc.expect("TYPE I", StatusOK)

	// 550, not 451: a client must not take a back end's refusal for a passing failure and retry.
	for _, size := range []int{100_000, 0} {
		code, msg := rc.storeRaw("/f.bin", testContent(size))
		assert.Equal(t, StatusActionNotTaken, code, "%d bytes", size)
		assert.Equal(t, "Issue during transfer: backend refuses writes", msg, "%d bytes", size)
	}

	require.Len(t, fs.errs.all(), 2, "the driver hears of both, the empty upload too")
	require.ErrorIs(t, fs.errs.all()[1], errBackendWrite)
	rc.expect("NOOP", StatusOK)
}

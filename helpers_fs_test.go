// helpers_fs_test.go holds the test doubles that stand behind a test server: the recorders that
// collect what the server or its driver reported (calls, events, log lines), and the file systems
// that watch, steer, fail or generate what the driver serves. The servers, clients and shared
// assertions that use them are in helpers_test.go.

package ftpserver

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/require"
)

// --- Recorders -----------------------------------------------------------------------------------

// recorder keeps what a test driver was called with; the server calls drivers from several
// goroutines.
type recorder[T any] struct {
	mu    sync.Mutex
	items []T
}

func (r *recorder[T]) add(item T) {
	r.mu.Lock()
	defer r.mu.Unlock()

	r.items = append(r.items, item)
}

func (r *recorder[T]) all() []T {
	r.mu.Lock()
	defer r.mu.Unlock()

	return append([]T(nil), r.items...)
}

// logRecorder is a server logger that keeps every log line as its key/value pairs.
type logRecorder struct {
	recorder[[]any]
}

func (r *logRecorder) Log(keyvals ...any) error {
	r.add(keyvals)

	return nil
}

// values returns key's value in every line whose event is event.
func (r *logRecorder) values(event, key string) []string {
	var found []string

	for _, line := range r.all() {
		fields := map[string]string{}
		for i := 0; i+1 < len(line); i += 2 {
			fields[fmt.Sprint(line[i])] = fmt.Sprint(line[i+1])
		}

		if fields["event"] == event {
			found = append(found, fields[key])
		}
	}

	return found
}

// lockedBuilder is a strings.Builder that a process's output may be copied into while a test
// reads it: the bundled server writes a log line per transfer to its stderr.
type lockedBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuilder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()

	return l.b.Write(p)
}

func (l *lockedBuilder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()

	return l.b.String()
}

// seenEvent is an event and the client it was about.
type seenEvent struct {
	Event

	clientID uint32
	remote   string
}

// eventTimeout bounds the wait for an event the server must send; a guard against a hang.
const eventTimeout = 10 * time.Second

// nextEvent returns the next event the server sent.
func nextEvent(t *testing.T, events <-chan seenEvent) seenEvent {
	t.Helper()

	select {
	case e := <-events:
		return e
	case <-time.After(eventTimeout):
		require.FailNow(t, "no event")

		return seenEvent{}
	}
}

// onlyEvent returns the next event and checks that no other came with it. The server reports
// an operation before it replies, so once the client has the reply the event is there.
func onlyEvent(t *testing.T, events <-chan seenEvent) seenEvent {
	t.Helper()

	e := nextEvent(t, events)
	require.Empty(t, events, "one event only, got %s first", e.Kind)

	return e
}

// skipLogin reads the events of a new session's login.
func skipLogin(t *testing.T, events <-chan seenEvent) {
	t.Helper()

	for _, want := range []EventKind{EventConnected, EventLoginSucceeded} {
		require.Equal(t, want, nextEvent(t, events).Kind)
	}
}

// transferEnded returns the next EventTransferEnded.
func transferEnded(t *testing.T, events <-chan seenEvent) Event {
	t.Helper()

	for {
		if e := nextEvent(t, events); e.Kind == EventTransferEnded {
			return e.Event
		}
	}
}

// slowGate holds a driver call until the test opens it, and says when one is held.
type slowGate struct {
	armed   atomic.Bool
	held    chan struct{}
	release chan struct{}
	open    func()
}

// pass returns at once until the gate is armed, and then only once it is opened.
func (g *slowGate) pass() {
	if !g.armed.Load() {
		return
	}

	select {
	case g.held <- struct{}{}:
	default:
	}

	<-g.release
}

func newSlowGate() *slowGate {
	g := &slowGate{held: make(chan struct{}, 1), release: make(chan struct{})}
	g.open = sync.OnceFunc(func() { close(g.release) })

	return g
}

// sessions returns how many sessions of account are logged in.
func (u *userLimits) sessions(account string) int {
	u.mu.Lock()
	defer u.mu.Unlock()

	if state := u.users[account]; state != nil {
		return state.sessions
	}

	return 0
}

// --- File systems that watch or steer their files ------------------------------------------------

// openWrapped opens name on fsys and returns the file as wrap makes it: the OpenFile of a test
// file system that watches or steers its files' reads and writes.
func openWrapped(fsys afero.Fs, name string, flag int, perm os.FileMode, wrap func(afero.File) afero.File,
) (afero.File, error) {
	file, err := fsys.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}

	return wrap(file), nil
}

type handleCall struct {
	name   string
	flags  int
	offset int64
}

// handleFs implements ClientDriverExtentionFileTransfer.
type handleFs struct {
	afero.Fs

	calls recorder[handleCall]
}

func (h *handleFs) GetHandle(name string, flags int, offset int64) (FileTransfer, error) {
	h.calls.add(handleCall{name, flags, offset})

	f, err := h.OpenFile(name, flags, 0o644)
	if err != nil {
		return nil, err
	}

	if offset == 0 {
		return f, nil // unchanged, so that O_APPEND keeps its position at the end
	}

	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		_ = f.Close()

		return nil, err
	}

	return f, nil
}

// reportingFs opens files that implement FileTransferError and Flusher.
type reportingFs struct {
	afero.Fs

	flushErr error
	errs     recorder[error]
	flushes  atomic.Int32
}

func (r *reportingFs) OpenFile(name string, flag int, perm os.FileMode) (afero.File, error) {
	return openWrapped(r.Fs, name, flag, perm, func(f afero.File) afero.File { return &reportingFile{File: f, fs: r} })
}

type reportingFile struct {
	afero.File

	fs *reportingFs
}

func (f *reportingFile) TransferError(err error) { f.fs.errs.add(err) }

func (f *reportingFile) Flush() error {
	f.fs.flushes.Add(1)

	return f.fs.flushErr
}

// listerFs implements ClientDriverExtensionFileList with entries that are not in the file
// system.
type listerFs struct {
	afero.Fs

	dirs recorder[string]
}

func (l *listerFs) ReadDir(name string) ([]os.FileInfo, error) {
	l.dirs.add(name)

	return []os.FileInfo{
		fakeInfo{name: "virtual.txt", size: 42},
		fakeInfo{name: "vdir", dir: true},
	}, nil
}

type fakeInfo struct {
	name string
	size int64
	dir  bool
}

func (f fakeInfo) Name() string       { return f.name }
func (f fakeInfo) Size() int64        { return f.size }
func (f fakeInfo) IsDir() bool        { return f.dir }
func (f fakeInfo) Sys() any           { return nil }
func (f fakeInfo) ModTime() time.Time { return time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC) }

func (f fakeInfo) Mode() os.FileMode {
	if f.dir {
		return os.ModeDir | 0o755
	}

	return 0o644
}

var errTestPanic = errors.New("driver bug")

// panickyFs panics in Stat of /boom and in Read of /panic.bin.
type panickyFs struct {
	afero.Fs
}

func (p panickyFs) Stat(name string) (os.FileInfo, error) {
	if name == "/boom" {
		panic(errTestPanic)
	}

	return p.Fs.Stat(name)
}

func (p panickyFs) OpenFile(name string, flag int, perm os.FileMode) (afero.File, error) {
	f, err := p.Fs.OpenFile(name, flag, perm)
	if err != nil || name != "/panic.bin" {
		return f, err
	}

	return panickyFile{f}, nil
}

type panickyFile struct {
	afero.File
}

func (panickyFile) Read([]byte) (int, error) {
	panic(errTestPanic)
}

// --- File systems with per-session settings ------------------------------------------------------

// policyFs is a user's file system with SessionSettings of its own. It records every call that
// would change a file, so that a test can tell the driver was never asked.
type policyFs struct {
	afero.Fs

	settings SessionSettings
	writes   *recorder[string]
}

func (p *policyFs) SessionSettings() SessionSettings { return p.settings }

func (p *policyFs) Create(name string) (afero.File, error) {
	p.writes.add("Create " + name)

	return p.Fs.Create(name)
}

func (p *policyFs) OpenFile(name string, flag int, perm os.FileMode) (afero.File, error) {
	if flag&(os.O_WRONLY|os.O_RDWR|os.O_CREATE|os.O_TRUNC|os.O_APPEND) != 0 {
		p.writes.add("OpenFile " + name)
	}

	return p.Fs.OpenFile(name, flag, perm)
}

func (p *policyFs) Mkdir(name string, perm os.FileMode) error {
	p.writes.add("Mkdir " + name)

	return p.Fs.Mkdir(name, perm)
}

func (p *policyFs) MkdirAll(name string, perm os.FileMode) error {
	p.writes.add("MkdirAll " + name)

	return p.Fs.MkdirAll(name, perm)
}

func (p *policyFs) Remove(name string) error {
	p.writes.add("Remove " + name)

	return p.Fs.Remove(name)
}

func (p *policyFs) RemoveAll(name string) error {
	p.writes.add("RemoveAll " + name)

	return p.Fs.RemoveAll(name)
}

func (p *policyFs) Rename(oldname, newname string) error {
	p.writes.add("Rename " + oldname)

	return p.Fs.Rename(oldname, newname)
}

func (p *policyFs) Chmod(name string, mode os.FileMode) error {
	p.writes.add("Chmod " + name)

	return p.Fs.Chmod(name, mode)
}

func (p *policyFs) Chown(name string, uid, gid int) error {
	p.writes.add("Chown " + name)

	return p.Fs.Chown(name, uid, gid)
}

func (p *policyFs) Chtimes(name string, atime, mtime time.Time) error {
	p.writes.add("Chtimes " + name)

	return p.Fs.Chtimes(name, atime, mtime)
}

// Symlink implements ClientDriverExtensionSymlink.
func (p *policyFs) Symlink(oldname, _ string) error {
	p.writes.add("Symlink " + oldname)

	return nil
}

// RemoveDir implements ClientDriverExtensionRemoveDir.
func (p *policyFs) RemoveDir(name string) error {
	p.writes.add("RemoveDir " + name)

	return p.Fs.Remove(name)
}

// Site implements ClientDriverExtensionSite: it answers HELLO and leaves the rest to the
// server.
func (p *policyFs) Site(param string) *AnswerCommand {
	p.writes.add("Site " + param)

	if strings.EqualFold(param, "HELLO") {
		return &AnswerCommand{Code: StatusOK, Message: "Hello"}
	}

	return nil
}

func newPolicyFs(settings SessionSettings) *policyFs {
	return &policyFs{Fs: afero.NewMemMapFs(), settings: settings, writes: &recorder[string]{}}
}

// --- Generated directories -----------------------------------------------------------------------

// generatedDirFs is an in-memory file system where some directories hold entries made up as
// they are read, so that a listing of hundreds of thousands of entries costs neither disk nor
// the memory of storing them.
type generatedDirFs struct {
	afero.Fs

	dirs map[string]generatedDir
}

func (f generatedDirFs) Open(name string) (afero.File, error) {
	file, err := f.Fs.Open(name)
	dir, ok := f.dirs[name]

	if err != nil || !ok {
		return file, err
	}

	return &generatedDirFile{File: file, dir: dir}, nil
}

// generatedDir describes a made-up directory: entries empty files named f000000, f000001...
// and, when failAfter is above 0, a read error once that many entries have been read, or a
// panic when panics is set. read, when set, counts the entries handed out.
type generatedDir struct {
	entries   int
	failAfter int
	panics    bool
	read      *atomic.Int64
}

// generatedModTime is the modification time of every made-up entry: old enough that LIST shows
// its year.
var generatedModTime = time.Date(2020, time.January, 2, 3, 4, 5, 0, time.UTC)

// withGeneratedDirs serves a generatedDirFs holding dirs.
func withGeneratedDirs(tb testing.TB, dirs map[string]generatedDir) testOption {
	tb.Helper()

	served := generatedDirFs{Fs: afero.NewMemMapFs(), dirs: dirs}
	for dir := range dirs {
		require.NoError(tb, served.MkdirAll(dir, 0o755))
	}

	return func(d *testDriver) { d.fs = served }
}

// generatedDirFile reads the entries of a generatedDir.
type generatedDirFile struct {
	afero.File

	dir  generatedDir
	next int
}

func (d *generatedDirFile) Readdir(count int) ([]os.FileInfo, error) {
	if d.dir.failAfter > 0 && d.next >= d.dir.failAfter {
		if d.dir.panics {
			panic("generated directory: read past failAfter")
		}

		return nil, &os.PathError{Op: "readdir", Path: d.Name(), Err: os.ErrPermission}
	}

	left := d.dir.entries - d.next
	if d.dir.failAfter > 0 {
		left = min(left, d.dir.failAfter-d.next)
	}

	if left <= 0 {
		return nil, io.EOF
	}

	if count > 0 {
		left = min(left, count)
	}

	infos := make([]os.FileInfo, left)
	for i := range infos {
		infos[i] = generatedEntry(d.next + i)
	}

	d.next += left

	if d.dir.read != nil {
		d.dir.read.Add(int64(left))
	}

	return infos, nil
}

// generatedEntry is the made-up entry number n: an empty file named f and n on six digits.
type generatedEntry int

func (e generatedEntry) Name() string       { return generatedName(int(e)) }
func (e generatedEntry) Size() int64        { return 0 }
func (e generatedEntry) Mode() os.FileMode  { return 0o644 }
func (e generatedEntry) ModTime() time.Time { return generatedModTime }
func (e generatedEntry) IsDir() bool        { return false }
func (e generatedEntry) Sys() any           { return nil }

// generatedName is the name of entry n.
func generatedName(n int) string {
	digits := strconv.Itoa(n)
	for len(digits) < 6 {
		digits = "0" + digits
	}

	return "f" + digits
}

// --- Listing fixtures ----------------------------------------------------------------------------

// listingTestFile is an os.FileInfo with the fields the formatters read.
type listingTestFile struct {
	name  string
	size  int64
	mode  os.FileMode
	mtime time.Time
}

func (f listingTestFile) Name() string       { return f.name }
func (f listingTestFile) Size() int64        { return f.size }
func (f listingTestFile) Mode() os.FileMode  { return f.mode }
func (f listingTestFile) ModTime() time.Time { return f.mtime }
func (f listingTestFile) IsDir() bool        { return f.mode.IsDir() }
func (listingTestFile) Sys() any             { return nil }

var listingTestNow = time.Date(2026, time.March, 15, 12, 0, 0, 0, time.UTC)

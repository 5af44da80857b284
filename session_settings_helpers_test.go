package ftpserver

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"
	"github.com/spf13/afero"
	"github.com/stretchr/testify/require"
)

// policyFs is a user's file system with SessionSettings of its own. It records every call that
// would change a file, so that a test can tell the driver was never asked.
type policyFs struct {
	afero.Fs

	settings SessionSettings
	writes   *recorder[string]
}

func newPolicyFs(settings SessionSettings) *policyFs {
	return &policyFs{Fs: afero.NewMemMapFs(), settings: settings, writes: &recorder[string]{}}
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

// policyUsers is a MainDriver serving several users, each on its own file system with its own
// SessionSettings; the password of each is testPass, and names are matched without regard to
// case, as many drivers do.
type policyUsers struct {
	*testDriver

	users map[string]ClientDriver
}

func (d policyUsers) AuthUser(_ ClientContext, user, pass string) (ClientDriver, error) {
	fs, ok := d.users[strings.ToLower(user)]
	if !ok || pass != testPass {
		return nil, errBadCredentials
	}

	return fs, nil
}

// newPolicyServer starts a test server for users.
func newPolicyServer(t *testing.T, users map[string]ClientDriver, opts ...testOption) *testServer {
	t.Helper()

	return newTestServerMain(t, func(d *testDriver) MainDriver { return policyUsers{d, users} }, opts...)
}

// dialAs logs user in with jlaffaye/ftp.
func (s *testServer) dialAs(tb testing.TB, user string) *ftp.ServerConn {
	tb.Helper()

	conn, err := ftp.Dial(s.Addr(), ftp.DialWithTimeout(5*time.Second))
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = conn.Quit() })
	require.NoError(tb, conn.Login(user, testPass))

	return conn
}

// rawAs connects and logs user in.
func (s *testServer) rawAs(tb testing.TB, user string) *rawClient {
	tb.Helper()

	rc := s.raw(tb)
	rc.expect("USER "+user, StatusUserOK)
	rc.expect("PASS "+testPass, StatusUserLoggedIn)

	return rc
}

// expectClosed requires the server to have closed the control connection.
func (rc *rawClient) expectClosed() {
	rc.t.Helper()

	require.NoError(rc.t, rc.conn.SetReadDeadline(time.Now().Add(10*time.Second)))

	_, err := rc.text.ReadLine()
	require.ErrorIs(rc.t, err, io.EOF)
}

// transferEach runs one transfer per connection, all at once: a download of name, which must
// hold content, or an upload of content to name plus the connection's index. It returns how
// long they took together.
func transferEach(t *testing.T, conns []*ftp.ServerConn, upload bool, name string, content []byte,
) time.Duration {
	t.Helper()

	var wg sync.WaitGroup

	errs := make([]error, len(conns))
	start := time.Now()

	for i, conn := range conns {
		wg.Go(func() {
			if upload {
				errs[i] = conn.Stor(name+strconv.Itoa(i), bytes.NewReader(content))

				return
			}

			errs[i] = retrExpect(conn, name, content)
		})
	}

	wg.Wait()

	elapsed := time.Since(start)

	for _, err := range errs {
		require.NoError(t, err)
	}

	return elapsed
}

var errContentDiffers = errors.New("downloaded content differs")

// retrExpect downloads name and checks it holds want, by hash.
func retrExpect(conn *ftp.ServerConn, name string, want []byte) error {
	r, err := conn.Retr(name)
	if err != nil {
		return err
	}

	got, readErr := io.ReadAll(r)
	if err := errors.Join(readErr, r.Close()); err != nil {
		return err
	}

	if sha256Hex(got) != sha256Hex(want) {
		return errContentDiffers
	}

	return nil
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

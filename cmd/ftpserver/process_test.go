package main

import (
	"context"
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

// The tests of this file run the bundled server as a process, built from this package, for
// what only a process shows: signals, exit status and stdin.

// refusedLogin requires a login as user to be refused with 530.
func refusedLogin(t *testing.T, addr, user, pass string) {
	t.Helper()

	conn, err := ftp.Dial(addr, ftp.DialWithTimeout(startTimeout))
	require.NoError(t, err)

	defer conn.Quit() //nolint:errcheck // the test is about the login

	requireReply(t, conn.Login(user, pass), 530, "Login incorrect")
}

func TestProcessUsersReloadOnSIGHUP(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGHUP on Windows")
	}

	t.Parallel()

	root := t.TempDir()
	users := filepath.Join(t.TempDir(), "users")
	alice := testUser{"alice", "alice-pw", "/alice", "rw"}
	carol := testUser{"carol", "carol-pw", "/carol", "ro"}
	writeUsers(t, users, alice)

	proc := startProcess(t, "-root", root, "-users", users, "-login-failure-delay", "0", "-max-login-failures", "0")

	aliceConn := loginAs(t, proc.addr, "alice", "alice-pw")
	require.NoError(t, aliceConn.Stor("/before.txt", strings.NewReader("1")))
	refusedLogin(t, proc.addr, "carol", "carol-pw")

	// A user added to the file logs in after SIGHUP.
	writeUsers(t, users, alice, carol)
	assert.Contains(t, proc.reload(t, "users reloaded"), " users=2")

	carolConn := loginAs(t, proc.addr, "carol", "carol-pw")
	assert.Empty(t, names(t, carolConn))

	// A user removed from the file can no longer log in, but its session goes on, with its home.
	writeUsers(t, users, carol)
	assert.Contains(t, proc.reload(t, "users reloaded"), " users=1")
	refusedLogin(t, proc.addr, "alice", "alice-pw")
	require.NoError(t, aliceConn.Stor("/after.txt", strings.NewReader("2")))
	assert.Equal(t, []string{"after.txt", "before.txt"}, names(t, aliceConn))

	// A malformed file is refused, with its line, and the users stay as they were.
	bad := "# broken\ncarol:" + hashFor(t, "carol-pw") + ":/carol:rw\nalice:not-a-hash:/alice:rw\n"
	require.NoError(t, os.WriteFile(users, []byte(bad), 0o600))

	line := proc.reload(t, "users file not reloaded")
	assert.Contains(t, line, "level=error")
	assert.Contains(t, line, users+`:3: user \"alice\": the password is not a bcrypt hash`)

	refusedLogin(t, proc.addr, "alice", "alice-pw")
	carolAgain := loginAs(t, proc.addr, "carol", "carol-pw")
	requireReply(t, carolAgain.MakeDir("/d"), 550, "Permission denied: read-only session")

	// A file gone is refused alike.
	require.NoError(t, os.Remove(users))
	assert.Contains(t, proc.reload(t, "users file not reloaded"), "no such file or directory")
	loginAs(t, proc.addr, "carol", "carol-pw")
}

func TestProcessMalformedUsersFile(t *testing.T) {
	t.Parallel()

	users := filepath.Join(t.TempDir(), "users")
	require.NoError(t, os.WriteFile(users, []byte("# users\n\nbob:"+hashFor(t, "pw")+":/bob\n"), 0o600))

	cmd := exec.Command(serverBinary(t), "-listen", "127.0.0.1:0", "-users", users) //nolint:gosec // the binary this test built
	out, err := cmd.CombinedOutput()

	var exit *exec.ExitError

	require.ErrorAs(t, err, &exit, "the server must not start: %s", out)
	assert.Equal(t, 1, exit.ExitCode())
	assert.Equal(t, "ftpserver: -users: "+users+":3: 3 fields separated by ':', want 4 or 5: name:bcrypt-hash:home:ro|rw[:settings]\n",
		string(out))
}

func TestProcessHashPassword(t *testing.T) {
	t.Parallel()

	cmd := exec.Command(serverBinary(t), "-hash-password") //nolint:gosec // the binary this test built
	cmd.Stdin = strings.NewReader("s3cret pass\n")

	out, err := cmd.Output()
	require.NoError(t, err)

	hash, found := strings.CutSuffix(string(out), "\n")
	require.True(t, found, "one line: %q", out)
	require.NoError(t, bcrypt.CompareHashAndPassword([]byte(hash), []byte("s3cret pass")))

	cost, err := bcrypt.Cost([]byte(hash))
	require.NoError(t, err)
	assert.Equal(t, bcrypt.DefaultCost, cost)

	// The hash is what a -users line takes.
	users := filepath.Join(t.TempDir(), "users")
	require.NoError(t, os.WriteFile(users, []byte("dave:"+hash+":/dave:rw\n"), 0o600))

	srv := startRun(t, "-users", users)
	loginAs(t, srv.addr, "dave", "s3cret pass")

	// Nothing to hash is an error.
	cmd = exec.Command(serverBinary(t), "-hash-password") //nolint:gosec // the binary this test built
	cmd.Stdin = strings.NewReader("")

	out, err = cmd.CombinedOutput()

	var exit *exec.ExitError

	require.ErrorAs(t, err, &exit, "an empty password must fail: %s", out)
	assert.Equal(t, "ftpserver: -hash-password: empty password\n", string(out))
}

func TestProcessUsersWithCurl(t *testing.T) {
	t.Parallel()

	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed: test skipped (apt-get install -y curl)")
	}

	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "pub"), 0o750))

	published := randomBytes(t, 40_000)
	require.NoError(t, os.WriteFile(filepath.Join(root, "pub", "release.bin"), published, 0o600))

	users := filepath.Join(t.TempDir(), "users")
	writeUsers(t, users, testUser{"alice", "alice pw", "/alice", "rw"}, testUser{"guest", "guest-pw", "/pub", "ro"})

	proc := startProcess(t, "-root", root, "-users", users)
	local := filepath.Join(t.TempDir(), "upload.bin")
	require.NoError(t, os.WriteFile(local, randomBytes(t, 70_000), 0o600))

	curl := func(args ...string) ([]byte, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()

		return exec.CommandContext(ctx, "curl", append([]string{"-sS"}, args...)...).CombinedOutput() //nolint:gosec // G204: arguments of this test
	}

	// alice uploads into her home.
	out, err := curl("-u", "alice:alice pw", "-T", local, "ftp://"+proc.addr+"/upload.bin")
	require.NoError(t, err, "%s", out)

	sent, err := os.ReadFile(local)
	require.NoError(t, err)
	onDisk, err := os.ReadFile(filepath.Join(root, "alice", "upload.bin"))
	require.NoError(t, err)
	assert.Equal(t, sha256.Sum256(sent), sha256.Sum256(onDisk))

	// guest downloads from its home and may not upload.
	out, err = curl("-u", "guest:guest-pw", "ftp://"+proc.addr+"/release.bin")
	require.NoError(t, err)
	assert.Equal(t, sha256.Sum256(published), sha256.Sum256(out))

	out, err = curl("-u", "guest:guest-pw", "-T", local, "ftp://"+proc.addr+"/upload.bin")
	require.Error(t, err)
	assert.Contains(t, string(out), "550", "curl reports the server's refusal")
	assert.NoFileExists(t, filepath.Join(root, "pub", "upload.bin"))

	// A wrong password is refused.
	out, err = curl("-u", "guest:wrong", "ftp://"+proc.addr+"/release.bin")
	require.Error(t, err)
	assert.Contains(t, string(out), "530")
}

// TestProcessSIGHUPWithoutUsers sends SIGHUP to a server started without -users nor -cert: it
// logs that there is nothing to reload and goes on serving.
func TestProcessSIGHUPWithoutUsers(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGHUP on Windows")
	}

	t.Parallel()

	proc := startProcess(t)

	for range 2 {
		line := proc.reload(t, "SIGHUP")
		assert.True(t, strings.HasPrefix(line, "level=info "), line)
		assert.Contains(t, line, ` msg="SIGHUP: nothing to reload (no -users, no -cert)"`)

		conn := loginAs(t, proc.addr, "test", "test")
		require.NoError(t, conn.Stor("/f.txt", strings.NewReader("still serving")))
		require.NoError(t, conn.Quit())
	}
}

// TestProcessReloadsCertificate replaces the -cert and -key files and sends SIGHUP: new TLS
// sessions get the new certificate. A pair that does not load is logged and the certificate
// served stays the last good one.
func TestProcessReloadsCertificate(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGHUP on Windows")
	}

	t.Parallel()

	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	first := writeCertificate(t, certFile, keyFile)

	proc := startProcess(t, "-cert", certFile, "-key", keyFile)
	assert.Equal(t, first, servedCertificate(t, proc.addr))

	renewed := writeCertificate(t, certFile, keyFile)
	require.NotEqual(t, first, renewed)
	line := proc.reload(t, "TLS certificate")
	assert.True(t, strings.HasPrefix(line, "level=info "), line)
	assert.Contains(t, line, ` msg="TLS certificate reloaded" cert=`+certFile+" not_after=")
	assert.Equal(t, renewed, servedCertificate(t, proc.addr), "a new session gets the renewed certificate")

	// A key that is not the certificate's, as when one file is copied before the other.
	writeCertificate(t, filepath.Join(dir, "other.pem"), keyFile)

	line = proc.reload(t, "TLS certificate")
	assert.True(t, strings.HasPrefix(line, "level=error "), line)
	assert.Contains(t, line, ` msg="TLS certificate not reloaded, keeping the previous one"`)
	assert.Contains(t, line, "private key does not match public key")
	assert.Equal(t, renewed, servedCertificate(t, proc.addr))
}

// TestProcessPidFile starts the server with -pid-file: the file holds its process ID while it
// runs, a SIGHUP sent to that ID reloads, and the file is gone once the server has stopped.
func TestProcessPidFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGHUP on Windows")
	}

	t.Parallel()

	pidFile := filepath.Join(t.TempDir(), "ftpserver.pid")
	proc := startProcess(t, "-pid-file", pidFile)

	data, err := os.ReadFile(pidFile)
	require.NoError(t, err)
	assert.Equal(t, strconv.Itoa(proc.cmd.Process.Pid)+"\n", string(data))

	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	require.NoError(t, err)
	named, err := os.FindProcess(pid)
	require.NoError(t, err)
	require.NoError(t, named.Signal(syscall.SIGHUP))
	proc.waitLog(t, "nothing to reload")
	loginAs(t, proc.addr, "test", "test")

	require.NoError(t, proc.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, <-proc.exited)
	proc.exited <- nil // for the cleanup's check
	assert.NoFileExists(t, pidFile)
}

// TestProcessFlagErrorExitStatus checks what a shell sees of a command-line error: status 2,
// the error and one line pointing at -h; and -h prints the whole usage and exits 0.
func TestProcessFlagErrorExitStatus(t *testing.T) {
	t.Parallel()

	missing := filepath.Join(t.TempDir(), "srv")

	out, err := exec.Command(serverBinary(t), "-root", missing).CombinedOutput() //nolint:gosec // the binary this test built

	var exit *exec.ExitError

	require.ErrorAs(t, err, &exit, "the server must not start: %s", out)
	assert.Equal(t, 2, exit.ExitCode())
	assert.Equal(t, "ftpserver: -root: "+missing+" does not exist (create it, or add -root-create)\n"+
		"Run 'ftpserver -h' for the usage.\n", string(out))

	out, err = exec.Command(serverBinary(t), "-h").CombinedOutput() //nolint:gosec // the binary this test built
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(out), "Usage: ftpserver [flags]\n"))
	assert.Greater(t, strings.Count(string(out), "\n"), 50, "the whole usage")
}

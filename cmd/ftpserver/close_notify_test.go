package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"net"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ftpkit/ftpserver"
)

// closeNotifyClient is a client of TestCloseNotifyClients: the command that uploads a file to
// /probe.bin over FTPS with PROT P, and whether it ends the upload with close_notify, as the
// README's table says.
type closeNotifyClient struct {
	name  string
	sends bool
	// command returns the program and its arguments to upload file to host:port, or skips the
	// test when the client is not installed.
	command func(t *testing.T, host, port, file string) []string
}

var closeNotifyClients = []closeNotifyClient{
	{"curl", true, func(t *testing.T, host, port, file string) []string {
		t.Helper()
		requireProgram(t, "curl", "apt-get install -y curl")

		return []string{"curl", "-sS", "--max-time", "30", "--ssl-reqd", "-k", "-T", file,
			"ftp://test:test@" + net.JoinHostPort(host, port) + "/probe.bin"}
	}},
	{"lftp", true, func(t *testing.T, host, port, file string) []string {
		t.Helper()
		requireProgram(t, "lftp", "apt-get install -y lftp")

		return []string{"lftp", "-c", "set ssl:verify-certificate no; set ftp:ssl-force yes; " +
			"set ftp:ssl-protect-data yes; set net:max-retries 1; open -u test,test ftp://" +
			net.JoinHostPort(host, port) + "; put " + file + " -o /probe.bin"}
	}},
	{"Python ftplib", true, func(t *testing.T, host, port, file string) []string {
		t.Helper()
		requireProgram(t, "python3", "apt-get install -y python3")

		return []string{"python3", "testdata/tls_reuse_ftplib.py", host, port, file}
	}},
	{"basic-ftp (Node.js)", true, func(t *testing.T, host, port, file string) []string {
		t.Helper()
		requireProgram(t, "node", "apt-get install -y nodejs npm")

		if _, err := os.Stat("testdata/node/node_modules/basic-ftp/package.json"); err != nil {
			t.Skip("basic-ftp is not installed: test skipped " +
				"(npm install --prefix cmd/ftpserver/testdata/node basic-ftp@6, as .ci/run does)")
		}

		return []string{"node", "testdata/close_notify_basic_ftp.js", host, port, file}
	}},
	{"Apache Commons Net", true, func(t *testing.T, host, port, file string) []string {
		t.Helper()
		requireProgram(t, "javac", "apt-get install -y default-jdk-headless")
		requireProgram(t, "java", "apt-get install -y default-jdk-headless")

		const jar = "/usr/share/java/commons-net.jar"
		if _, err := os.Stat(jar); err != nil {
			t.Skipf("%s is missing: test skipped (apt-get install -y libcommons-net-java)", jar)
		}

		classes := compileCommonsNetProbe(t, jar)

		return []string{"java", "-cp", classes + string(os.PathListSeparator) + jar, "CommonsNetProbe", host, port, file}
	}},
}

// requireProgram skips the test when program is not installed.
func requireProgram(t *testing.T, program, install string) {
	t.Helper()

	if _, err := exec.LookPath(program); err != nil {
		t.Skipf("%s is not installed: test skipped (%s)", program, install)
	}
}

// TestCloseNotifyClients records, from the server's side, which clients end a TLS upload with
// close_notify: the server runs with -tls-require-close-notify (its default), so an upload
// lands on disk, whole, exactly when the client sent the alert. A client whose behaviour
// changes fails the test, so the README's table stays true.
func TestCloseNotifyClients(t *testing.T) {
	t.Parallel()

	for _, client := range closeNotifyClients {
		t.Run(client.name, func(t *testing.T) {
			t.Parallel()

			sent, out := uploadsWhole(t, func(host, port, file string) string {
				command := client.command(t, host, port, file)

				ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
				defer cancel()

				out, _ := exec.CommandContext(ctx, command[0], command[1:]...).CombinedOutput() //nolint:gosec // test clients

				return string(out)
			})
			assert.Equal(t, client.sends, sent, "client output:\n%s", out)
		})
	}
}

// TestCloseNotifyCutOff is the other side of TestCloseNotifyClients: a client whose data
// connection ends with a TCP FIN alone, as one cut off would, never has its upload on disk, and
// hears why.
func TestCloseNotifyCutOff(t *testing.T) {
	t.Parallel()

	sent, reply := uploadsWhole(t, func(host, port, file string) string {
		return uploadWithoutCloseNotify(t, net.JoinHostPort(host, port), file)
	})
	assert.False(t, sent)
	assert.Equal(t, "426 Upload cut short: the data connection ended without TLS close_notify; transfer aborted", reply)
}

// uploadsWhole starts the server with TLS offered over a directory, has upload send 300 kB to
// /probe.bin, and tells whether the file is then on disk with those bytes, with what upload
// returned.
func uploadsWhole(t *testing.T, upload func(host, port, file string) string) (bool, string) {
	t.Helper()

	root := t.TempDir()
	srv := startRun(t, "-tls", "-root", root)

	host, port, err := net.SplitHostPort(srv.addr)
	require.NoError(t, err)

	data := randomBytes(t, 300_000)
	file := filepath.Join(t.TempDir(), "probe.bin")
	require.NoError(t, os.WriteFile(file, data, 0o600))

	out := upload(host, port, file)

	stored, err := os.ReadFile(filepath.Join(root, "probe.bin"))

	return err == nil && sha256.Sum256(stored) == sha256.Sum256(data), out
}

// uploadWithoutCloseNotify logs in over TLS, stores file with PROT P, and ends the data
// connection with a TCP FIN, without close_notify. It returns the final reply.
func uploadWithoutCloseNotify(t *testing.T, addr, file string) string {
	t.Helper()

	data, err := os.ReadFile(file)
	require.NoError(t, err)

	config := &tls.Config{ServerName: "ftp.test", ClientSessionCache: tls.NewLRUClientSessionCache(2)}
	secure, err := authTLS(t, addr, config)
	require.NoError(t, err)

	text := textproto.NewConn(secure)

	for _, step := range []struct {
		line string
		code int
	}{
		{"USER test", ftpserver.StatusUserOK}, {"PASS test", ftpserver.StatusUserLoggedIn},
		{"TYPE I", ftpserver.StatusOK}, {"PBSZ 0", ftpserver.StatusOK}, {"PROT P", ftpserver.StatusOK},
	} {
		require.NoError(t, text.PrintfLine("%s", step.line))
		_, _, err = text.ReadResponse(step.code)
		require.NoError(t, err, step.line)
	}

	require.NoError(t, text.PrintfLine("EPSV"))
	_, msg, err := text.ReadResponse(ftpserver.StatusEnteringEPSV)
	require.NoError(t, err)

	host, _, err := net.SplitHostPort(addr)
	require.NoError(t, err)

	raw, err := net.DialTimeout("tcp", net.JoinHostPort(host, strings.Trim(msg[strings.IndexByte(msg, '('):], "()|")),
		startTimeout)
	require.NoError(t, err)

	require.NoError(t, text.PrintfLine("STOR /probe.bin"))
	_, _, err = text.ReadResponse(ftpserver.StatusFileStatusOK)
	require.NoError(t, err)

	config.InsecureSkipVerify = true // the server's throw-away certificate
	_, err = tls.Client(raw, config).Write(data)
	require.NoError(t, err)
	require.NoError(t, raw.Close()) // a FIN, and no close_notify

	code, msg, _ := text.ReadResponse(0)

	return strconv.Itoa(code) + " " + msg
}

package s3fs

import (
	"context"
	"errors"
	"net"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"

	"github.com/ftpkit/ftpserver"
	"github.com/ftpkit/ftpserver/s3fs/s3test"
)

// errTest is the cause of the transfer errors the tests report.
var errTest = errors.New("connection reset")

// rawSession is a control connection driven command by command, for what a client library
// does not do: cut a data connection in the middle of an upload.
type rawSession struct {
	t    *testing.T
	addr string
	text *textproto.Conn
}

// rawLogin connects to addr, logs in and sets TYPE I.
func rawLogin(t *testing.T, addr string) *rawSession {
	t.Helper()

	control, err := net.DialTimeout("tcp", addr, ftpTimeout)
	require.NoError(t, err)
	t.Cleanup(func() { _ = control.Close() })
	require.NoError(t, control.SetDeadline(time.Now().Add(ftpTimeout)))

	s := &rawSession{t: t, addr: addr, text: textproto.NewConn(control)}
	s.command("", ftpserver.StatusServiceReady)
	s.command("USER "+ftpUser, ftpserver.StatusUserOK)
	s.command("PASS "+ftpPass, ftpserver.StatusUserLoggedIn)
	s.command("TYPE I", ftpserver.StatusOK)

	return s
}

// command sends cmd (none when empty) and checks that the reply has the code want.
func (s *rawSession) command(cmd string, want int) string {
	s.t.Helper()

	if cmd != "" {
		require.NoError(s.t, s.text.PrintfLine("%s", cmd))
	}

	code, msg, err := s.text.ReadResponse(0)
	require.NoError(s.t, err, cmd)
	require.Equal(s.t, want, code, "%s: %s", cmd, msg)

	return msg
}

// reply reads the next reply, whatever its code.
func (s *rawSession) reply() (int, string) {
	s.t.Helper()

	code, msg, err := s.text.ReadResponse(0)
	require.NoError(s.t, err)

	return code, msg
}

// dataConn opens a passive data connection (EPSV).
func (s *rawSession) dataConn() *net.TCPConn {
	s.t.Helper()

	// 229 Entering Extended Passive Mode (|||port|)
	msg := s.command("EPSV", ftpserver.StatusEnteringEPSV)
	_, port, _ := strings.Cut(strings.TrimSuffix(strings.TrimSpace(msg), "|)"), "(|||")
	_, err := strconv.Atoi(port)
	require.NoError(s.t, err, msg)

	host, _, err := net.SplitHostPort(s.addr)
	require.NoError(s.t, err)

	conn, err := net.DialTimeout("tcp", net.JoinHostPort(host, port), ftpTimeout)
	require.NoError(s.t, err)
	s.t.Cleanup(func() { _ = conn.Close() })

	tcp, ok := conn.(*net.TCPConn)
	require.True(s.t, ok)

	return tcp
}

// partsSent counts the parts S3 holds of the newest incomplete upload of key, 0 without one.
func partsSent(t *testing.T, gw *s3test.Gateway, bucket, key string) int {
	t.Helper()

	ctx := context.Background()
	uploads, err := gw.Client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{
		Bucket: aws.String(bucket), Prefix: aws.String(key),
	})
	require.NoError(t, err)

	var newest *string

	var initiated time.Time

	for _, upload := range uploads.Uploads {
		if aws.ToString(upload.Key) == key && !aws.ToTime(upload.Initiated).Before(initiated) {
			newest, initiated = upload.UploadId, aws.ToTime(upload.Initiated)
		}
	}

	if newest == nil {
		return 0
	}

	parts, err := gw.Client.ListParts(ctx, &s3.ListPartsInput{
		Bucket: aws.String(bucket), Key: aws.String(key), UploadId: newest,
	})
	require.NoError(t, err)

	return len(parts.Parts)
}

// objectExists tells whether bucket has an object key, by HEAD.
func objectExists(t *testing.T, gw *s3test.Gateway, bucket, key string) bool {
	t.Helper()

	_, err := gw.Client.HeadObject(context.Background(), &s3.HeadObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key),
	})
	if err != nil {
		require.True(t, isNotExist(err), "HEAD %s: %v", key, err)

		return false
	}

	return true
}

// writeTemp writes data into a new file of the test's temporary directory and returns its path.
func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()

	file := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(file, data, 0o600))

	return file
}

// clientTool returns the path of the client program name, skipping the test without it.
func clientTool(t *testing.T, name string) string {
	t.Helper()

	found, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed (.ci/run installs it): %v", name, err)
	}

	return found
}

// runTool runs a client program to its end, within ftpTimeout, and returns its output
// (stdout and stderr). A failure fails the test with that output.
func runTool(t *testing.T, bin string, args ...string) string {
	t.Helper()

	ctx, cancel := context.WithTimeout(context.Background(), ftpTimeout)
	defer cancel()

	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	require.NoError(t, err, "%s %s:\n%s", bin, strings.Join(args, " "), out)

	return string(out)
}

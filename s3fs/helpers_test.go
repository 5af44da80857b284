// Shared helpers of the s3fs tests: the S3 gateway and the Fs under test, request counting,
// directory reading, an FTP server on the Fs with its clients, and the resumed-upload kit (raw
// sessions, two server nodes, outside clients, looks at the gateway's uploads).

package s3fs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/jlaffaye/ftp"
	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ftpkit/ftpserver"
	"github.com/ftpkit/ftpserver/s3fs/s3test"
)

// --- The gateway and the Fs under test ---

// newTestClient returns a client of endpoint made by NewClient, signing with the gateway's
// access key and secret.
func newTestClient(t *testing.T, endpoint, secret string) *s3.Client {
	t.Helper()

	client, err := NewClient(context.Background(), ClientOptions{
		Endpoint:    endpoint,
		Region:      DefaultRegion,
		PathStyle:   true,
		Credentials: credentials.NewStaticCredentialsProvider(s3test.AccessKey, secret, ""),
	})
	require.NoError(t, err)

	return client
}

// newTestFs starts a gateway, creates a bucket and returns an Fs on it.
func newTestFs(t *testing.T, opts Options) (*Fs, *s3test.Gateway, string) {
	t.Helper()

	gw := s3test.Start(t)
	bucket := gw.NewBucket(t)

	return New(newTestClient(t, gw.Endpoint, s3test.SecretKey), bucket, opts), gw, bucket
}

// minPart is the smallest part size S3 accepts, used by the tests to reach multipart uploads
// with little data.
const minPart = 5 << 20

// testData returns n pseudo-random bytes, the same for the same seed.
func testData(n int, seed uint64) []byte {
	data := make([]byte, n+8)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))

	for i := 0; i < n; i += 8 {
		binary.LittleEndian.PutUint64(data[i:], rng.Uint64())
	}

	return data[:n:n]
}

// putFile stores data as name through f.
func putFile(t *testing.T, f afero.Fs, name string, data []byte) {
	t.Helper()

	file, err := f.Create(name)
	require.NoError(t, err)

	_, err = file.Write(data)
	require.NoError(t, err)
	require.NoError(t, file.Close())
}

// getFile reads name whole through f.
func getFile(t *testing.T, f afero.Fs, name string) []byte {
	t.Helper()

	file, err := f.Open(name)
	require.NoError(t, err)

	defer file.Close()

	data, err := io.ReadAll(file)
	require.NoError(t, err)

	return data
}

// --- Counting requests ---

// methodCounter is an HTTP client that counts the requests it sends, by method.
type methodCounter struct {
	mu     sync.Mutex
	counts map[string]int
}

func (c *methodCounter) Do(req *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.counts[req.Method]++
	c.mu.Unlock()

	return http.DefaultClient.Do(req) //nolint:gosec // G704: the gateway of the test, on loopback
}

// take returns the counts so far and starts again from zero.
func (c *methodCounter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()

	counts := c.counts
	c.counts = map[string]int{}

	return counts
}

// heldClient is an HTTP client that holds two requests about key until release is closed: the
// first HeadObject, once answered (headDone is closed then), and the first listing of uploads,
// before it is sent. What the test does meanwhile falls between the two.
type heldClient struct {
	key         string
	headDone    chan struct{}
	release     chan struct{}
	head, lists atomic.Bool // the first of each was held
}

func newHeldClient(key string) *heldClient {
	return &heldClient{key: key, headDone: make(chan struct{}), release: make(chan struct{})}
}

func (c *heldClient) Do(req *http.Request) (*http.Response, error) {
	switch {
	case req.Method == http.MethodHead && strings.HasSuffix(req.URL.Path, "/"+c.key) && c.head.CompareAndSwap(false, true):
		resp, err := http.DefaultClient.Do(req) //nolint:gosec // G704: the gateway of the test, on loopback
		close(c.headDone)
		<-c.release

		return resp, err
	case req.Method == http.MethodGet && req.URL.Query().Has("uploads") && c.lists.CompareAndSwap(false, true):
		<-c.release
	}

	return http.DefaultClient.Do(req) //nolint:gosec // G704: the gateway of the test, on loopback
}

// newFsWithClient returns an Fs on bucket of gw whose requests go through httpClient.
func newFsWithClient(gw *s3test.Gateway, bucket string, httpClient s3.HTTPClient) *Fs {
	return New(s3.New(s3.Options{
		Region:       s3test.Region,
		BaseEndpoint: aws.String(gw.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(s3test.AccessKey, s3test.SecretKey, ""),
		HTTPClient:   httpClient,
	}), bucket, Options{})
}

// newCountedFs returns an Fs on a new bucket whose requests counter counts.
func newCountedFs(t *testing.T) (*Fs, *methodCounter) {
	t.Helper()

	gw := s3test.Start(t)
	bucket := gw.NewBucket(t)
	counter := &methodCounter{counts: map[string]int{}}

	return newFsWithClient(gw, bucket, counter), counter
}

// --- Reading directories ---

// openDir opens the directory /d of f as its *dirFile.
func openDir(t *testing.T, f *Fs) *dirFile {
	t.Helper()

	file, err := f.Open("/d")
	require.NoError(t, err)

	dir, ok := file.(*dirFile)
	require.True(t, ok, "/d opens as %T", file)

	return dir
}

// readAllNames reads dir to its end, batch entries at a time.
func readAllNames(t *testing.T, dir *dirFile, batch int) []string {
	t.Helper()

	var names []string

	for {
		entries, err := dir.Readdir(batch)
		if errors.Is(err, io.EOF) {
			return names
		}

		require.NoError(t, err)
		require.LessOrEqual(t, len(entries), batch)

		for _, entry := range entries {
			names = append(names, entry.Name())
		}
	}
}

// entryNames returns the names of a listing without ".", which MLSD starts with.
func entryNames(entries []*ftp.Entry) []string {
	names := []string{}

	for _, entry := range entries {
		if entry.Name != "." {
			names = append(names, entry.Name)
		}
	}

	return names
}

// --- An FTP server on the Fs, and its clients ---

// The one user of the test FTP servers.
const (
	ftpUser = "user"
	ftpPass = "pass"
)

// ftpTimeout bounds every client operation; a guard against a hang, not a delay.
const ftpTimeout = 30 * time.Second

var errBadLogin = errors.New("bad credentials")

// ftpDriver is the smallest MainDriver: one user, whose file system is the s3fs. It counts the
// sessions that ended, so that a test can wait until a server is done with a client it cut.
type ftpDriver struct {
	fs    afero.Fs
	ended atomic.Int32
}

func (*ftpDriver) GetSettings() (*ftpserver.Settings, error) {
	return &ftpserver.Settings{
		ListenAddr:          "127.0.0.1:0",
		DefaultTransferType: ftpserver.TransferTypeBinary,
		LoginFailureDelay:   -1,
	}, nil
}

func (*ftpDriver) ClientConnected(ftpserver.ClientContext) (string, error) { return "s3fs test", nil }

// ClientDisconnected counts the session. ftpserver calls it once the session's transfer, if
// any, has ended and its file is closed.
func (d *ftpDriver) ClientDisconnected(ftpserver.ClientContext) { d.ended.Add(1) }

func (d *ftpDriver) AuthUser(_ ftpserver.ClientContext, user, pass string) (ftpserver.ClientDriver, error) {
	if user != ftpUser || pass != ftpPass {
		return nil, errBadLogin
	}

	return d.fs, nil
}

func (*ftpDriver) GetTLSConfig() (*tls.Config, error) { return nil, errors.New("no TLS") }

// newFTPServer serves fsys on a loopback port until the test ends and returns its address.
func newFTPServer(t *testing.T, fsys afero.Fs) string {
	t.Helper()

	addr, _ := startFTPServer(t, fsys)

	return addr
}

// startFTPServer is newFTPServer that also returns the server's driver.
func startFTPServer(t *testing.T, fsys afero.Fs) (string, *ftpDriver) {
	t.Helper()

	driver := &ftpDriver{fs: fsys}
	server := ftpserver.NewFtpServer(driver)
	require.NoError(t, server.Listen())

	served := make(chan error, 1)

	go func() { served <- server.Serve() }()

	t.Cleanup(func() {
		require.NoError(t, server.Stop())
		require.NoError(t, <-served)
	})

	return server.Addr(), driver
}

// ftpLogin connects jlaffaye/ftp to addr, with more options if any, and logs in.
func ftpLogin(t *testing.T, addr string, opts ...ftp.DialOption) *ftp.ServerConn {
	t.Helper()

	conn, err := ftp.Dial(addr, append([]ftp.DialOption{ftp.DialWithTimeout(ftpTimeout)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Quit() })

	require.NoError(t, conn.Login(ftpUser, ftpPass))

	return conn
}

// retrieve downloads name from offset on and returns its bytes.
func retrieve(t *testing.T, conn *ftp.ServerConn, name string, offset uint64) []byte {
	t.Helper()

	resp, err := conn.RetrFrom(name, offset)
	require.NoError(t, err)

	data, err := io.ReadAll(resp)
	require.NoError(t, err)
	require.NoError(t, resp.Close())

	return data
}

// requireRefused checks that err is a 550 reply whose text contains text.
func requireRefused(t *testing.T, err error, text string) {
	t.Helper()

	var protoErr *textproto.Error
	require.ErrorAs(t, err, &protoErr)
	assert.Equal(t, ftpserver.StatusActionNotTaken, protoErr.Code, protoErr.Msg)
	assert.Contains(t, protoErr.Msg, text)
}

// waitFor checks cond every 10 ms until it holds, failing the test after ftpTimeout. It is for
// what S3 shows of a running upload, which nothing announces.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()

	deadline := time.Now().Add(ftpTimeout)
	tick := time.NewTicker(10 * time.Millisecond)

	defer tick.Stop()

	for !cond() {
		require.True(t, time.Now().Before(deadline), "waiting for %s", what)
		<-tick.C
	}
}

// --- Resumed uploads: raw sessions, two nodes, outside clients, the gateway's uploads ---

// errTest is the cause of the transfer errors the tests report.
var errTest = errors.New("connection reset")

// pastPart is how far past a part boundary a cut must be for the server to have written the
// bytes after the boundary, which sends the part: the server reads the data connection in
// chunks of 256 KiB.
const pastPart = 600 << 10

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

// startStor starts STOR name from offset (REST first when it is not 0), on a data connection
// opened before.
func (s *rawSession) startStor(name string, offset int64) {
	s.t.Helper()

	if offset != 0 {
		s.command("REST "+strconv.FormatInt(offset, 10), ftpserver.StatusFileActionPending)
	}

	s.command("STOR "+name, ftpserver.StatusFileStatusOK)
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

// newestUploadID returns the ID of the newest incomplete upload of key, nil without one.
func newestUploadID(t *testing.T, gw *s3test.Gateway, bucket, key string) *string {
	t.Helper()

	uploads, err := gw.Client.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{
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

	return newest
}

// partsSent counts the parts S3 holds of the newest incomplete upload of key, 0 without one.
func partsSent(t *testing.T, gw *s3test.Gateway, bucket, key string) int {
	t.Helper()

	newest := newestUploadID(t, gw, bucket, key)
	if newest == nil {
		return 0
	}

	parts, err := gw.Client.ListParts(context.Background(), &s3.ListPartsInput{
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

// twoNodes is one bucket served by two FTP servers with file systems of their own, as two
// processes would serve it: an upload cut on one is resumed on the other.
type twoNodes struct {
	gw      *s3test.Gateway
	bucket  string
	a, b    string // the servers' addresses
	fsA     *Fs
	driverA *ftpDriver
}

// newTwoNodes starts a gateway, a bucket and two servers on it with opts.
func newTwoNodes(t *testing.T, opts Options) *twoNodes {
	t.Helper()

	gw := s3test.Start(t)
	bucket := gw.NewBucket(t)
	fsA := New(newTestClient(t, gw.Endpoint, s3test.SecretKey), bucket, opts)
	fsB := New(newTestClient(t, gw.Endpoint, s3test.SecretKey), bucket, opts)

	a, driverA := startFTPServer(t, fsA)

	return &twoNodes{gw: gw, bucket: bucket, a: a, b: newFTPServer(t, fsB), fsA: fsA, driverA: driverA}
}

// cutUpload sends the first cut bytes of data as STOR name to addr, waits until S3 holds
// parts of the upload, then cuts the data connection: with a reset (the server calls
// TransferError), or with its end, which FTP cannot tell from the end of the file (the
// server stores the bytes it got as the file).
func (n *twoNodes) cutUpload(t *testing.T, name string, data []byte, cut, parts int, reset bool) {
	t.Helper()

	session := rawLogin(t, n.a)
	conn := session.dataConn()
	session.startStor(name, 0)

	_, err := conn.Write(data[:cut])
	require.NoError(t, err)

	key := strings.TrimPrefix(name, "/")
	waitFor(t, fmt.Sprintf("%d parts of %s", parts, name), func() bool {
		return partsSent(t, n.gw, n.bucket, key) >= parts
	})

	if reset {
		require.NoError(t, conn.SetLinger(0))
	}

	require.NoError(t, conn.Close())

	code, msg := session.reply()
	if reset {
		assert.Contains(t, []int{ftpserver.StatusTransferAborted, 451}, code, msg)
	} else {
		assert.Equal(t, ftpserver.StatusClosingDataConn, code, msg)
	}

	session.command("QUIT", ftpserver.StatusClosingControlConn)
}

// requireStored checks, by downloading it through the server at addr, that name holds data,
// and that no incomplete upload is left in the bucket.
func (n *twoNodes) requireStored(t *testing.T, addr, name string, data []byte) {
	t.Helper()

	conn := ftpLogin(t, addr)
	assert.Equal(t, sha256.Sum256(data), sha256.Sum256(retrieve(t, conn, name, 0)), name)
	assert.Zero(t, n.gw.PendingUploads(t, n.bucket), name)
}

// resumer resumes the upload of local as name on the server at addr, as a client does after
// a broken upload, and returns what the client told of its dialogue.
type resumer func(t *testing.T, addr, name, local string, data []byte) string

// resumeWithCurl runs curl -C -, which asks SIZE and sends the rest with APPE.
func resumeWithCurl(t *testing.T, addr, name, local string, _ []byte) string {
	t.Helper()

	return runTool(t, clientTool(t, "curl"), "-v", "-sS", "-C", "-", "-T", local,
		"ftp://"+ftpUser+":"+ftpPass+"@"+addr+name)
}

// resumeWithLftp runs lftp's put -c, which asks SIZE and sends the rest with REST and STOR.
func resumeWithLftp(t *testing.T, addr, name, local string, _ []byte) string {
	t.Helper()

	return runTool(t, clientTool(t, "lftp"), "-d", "-c",
		"set ftp:ssl-allow no; set net:max-retries 1; set net:timeout 20; set xfer:clobber on; "+
			"open -u "+ftpUser+","+ftpPass+" ftp://"+addr+"; put -c "+local+" -o "+name)
}

// resumeWithMirror runs lftp's mirror -R --continue on a directory holding the file: it lists
// the remote directory and sends the rest of a shorter file with REST and STOR.
func resumeWithMirror(t *testing.T, addr, name, _ string, data []byte) string {
	t.Helper()

	// Older than the partial object, as a file being uploaded is: mirror --continue continues
	// a target file only when it is not older than the source.
	local := writeTemp(t, path.Base(name), data)
	past := time.Now().Add(-time.Hour)
	require.NoError(t, os.Chtimes(local, past, past))

	dir := filepath.Dir(local)

	return runTool(t, clientTool(t, "lftp"), "-d", "-c",
		"set ftp:ssl-allow no; set net:max-retries 1; set net:timeout 20; "+
			"open -u "+ftpUser+","+ftpPass+" ftp://"+addr+"; mirror -R --continue --no-perms -v "+dir+" "+path.Dir(name))
}

// resumeWithGo asks SIZE with jlaffaye/ftp and sends the rest with REST and STOR.
func resumeWithGo(t *testing.T, addr, name, _ string, data []byte) string {
	t.Helper()

	conn := ftpLogin(t, addr)

	size, err := conn.FileSize(name)
	if err != nil {
		size = 0
	}

	require.NoError(t, conn.StorFrom(name, bytes.NewReader(data[size:]), uint64(size)))

	return fmt.Sprintf("REST %d", size)
}

// objectETag returns the ETag of the object key of bucket, without its quotes.
func objectETag(t *testing.T, gw *s3test.Gateway, bucket, key string) string {
	t.Helper()

	out, err := gw.Client.HeadObject(context.Background(),
		&s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	require.NoError(t, err)

	return strings.Trim(aws.ToString(out.ETag), `"`)
}

// uploadPart sends body as part number of the upload id of key.
func uploadPart(t *testing.T, gw *s3test.Gateway, bucket, key string, id *string, number int32, body []byte) {
	t.Helper()

	_, err := gw.Client.UploadPart(context.Background(), &s3.UploadPartInput{
		Bucket: aws.String(bucket), Key: aws.String(key), UploadId: id,
		PartNumber: aws.Int32(number), Body: bytes.NewReader(body),
	})
	require.NoError(t, err)
}

// gwClient returns a client of gw made by NewClient with its root credentials.
func gwClient(t *testing.T, gw *s3test.Gateway) *s3.Client {
	t.Helper()

	return newTestClient(t, gw.Endpoint, s3test.SecretKey)
}

package s3fs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ftpkit/ftpserver"
	"github.com/ftpkit/ftpserver/s3fs/s3test"
)

// resumeSize is the size of the files the resume tests upload: two parts of minPart and a
// short last one.
const resumeSize = 2*minPart + 1<<20 + 1234

// pastPart is how far past a part boundary a cut must be for the server to have written the
// bytes after the boundary, which sends the part: the server reads the data connection in
// chunks of 256 KiB.
const pastPart = 600 << 10

// twoNodes is one bucket served by two FTP servers with file systems of their own, as two
// processes would serve it: an upload cut on one is resumed on the other.
type twoNodes struct {
	gw     *s3test.Gateway
	bucket string
	a, b   string // the servers' addresses
	fsA    *Fs
}

// newTwoNodes starts a gateway, a bucket and two servers on it with opts.
func newTwoNodes(t *testing.T, opts Options) *twoNodes {
	t.Helper()

	gw := s3test.Start(t)
	bucket := gw.NewBucket(t)
	fsA := New(newTestClient(t, gw.Endpoint, s3test.SecretKey), bucket, opts)
	fsB := New(newTestClient(t, gw.Endpoint, s3test.SecretKey), bucket, opts)

	return &twoNodes{gw: gw, bucket: bucket, a: newFTPServer(t, fsA), b: newFTPServer(t, fsB), fsA: fsA}
}

// cutUpload sends the first cut bytes of data as STOR name to addr, waits until S3 holds
// parts of the upload, then cuts the data connection: with a reset (the server calls
// TransferError), or with its end, which FTP cannot tell from the end of the file (the
// server stores the bytes it got as the file).
func (n *twoNodes) cutUpload(t *testing.T, name string, data []byte, cut, parts int, reset bool) {
	t.Helper()

	session := rawLogin(t, n.a)
	conn := session.dataConn()
	session.command("STOR "+name, ftpserver.StatusFileStatusOK)

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

func TestResumeOnAnotherServer(t *testing.T) {
	t.Parallel()

	nodes := newTwoNodes(t, Options{PartSize: minPart})
	data := testData(resumeSize, 20)
	sum := sha256.Sum256(data)
	local := writeTemp(t, "upload.bin", data)

	tests := []struct {
		name   string
		cut    int  // bytes sent before the cut
		parts  int  // parts to wait for before cutting
		reset  bool // a reset, else the end of the data connection
		resume resumer
		want   string // what the resuming client sent, "" for a whole new upload
	}{
		// A reset: the parts sent are kept, the bytes after the last one are lost.
		{"reset in the first part, curl", 3 << 20, 0, true, resumeWithCurl, ""},
		{"reset on a part boundary, lftp", 2 * minPart, 1, true, resumeWithLftp, "REST 5242880"},
		{"reset in the last part, curl", 2*minPart + pastPart, 2, true, resumeWithCurl, "APPE "},
		{"reset in the last part, lftp", 2*minPart + pastPart, 2, true, resumeWithLftp, "REST 10485760"},
		// The end of the data connection: the bytes sent are stored as the file, which the
		// resume extends (by copying it into a new upload, or reading it when under 5 MiB).
		{"end in the first part, curl", 3 << 20, 0, false, resumeWithCurl, "APPE "},
		{"end in the first part, lftp", 3 << 20, 0, false, resumeWithLftp, "REST 3145728"},
		{"end in the second part, curl", minPart + 4321, 0, false, resumeWithCurl, "APPE "},
		{"end in the second part, lftp", minPart + 4321, 0, false, resumeWithLftp, "REST 5247201"},
	}

	for i, tt := range tests {
		name := fmt.Sprintf("/file-%d.bin", i)
		key := name[1:]

		nodes.cutUpload(t, name, data, tt.cut, tt.parts, tt.reset)
		assert.Equal(t, !tt.reset, objectExists(t, nodes.gw, nodes.bucket, key),
			"%s: an object exists only after the end of a data connection", tt.name)

		conn := ftpLogin(t, nodes.a)
		if tt.reset {
			_, err := conn.Retr(name)
			requireRefused(t, err, "no such file or directory")
		}

		dialogue := tt.resume(t, nodes.b, name, local, data)
		if tt.want == "" {
			assert.NotContains(t, dialogue, "APPE", tt.name)
			assert.NotContains(t, dialogue, "REST", tt.name)
		} else {
			assert.Contains(t, dialogue, tt.want, tt.name)
		}

		assert.Equal(t, sum, sha256.Sum256(retrieve(t, conn, name, 0)), tt.name)
		assert.Zero(t, partsSent(t, nodes.gw, nodes.bucket, key), "%s: no upload is left", tt.name)
	}

	assert.Zero(t, nodes.gw.PendingUploads(t, nodes.bucket))
}

// TestResumeAfterKill kills curl in the middle of an upload, then resumes it with curl -C -
// on the other server.
func TestResumeAfterKill(t *testing.T) {
	t.Parallel()

	curl := clientTool(t, "curl")
	nodes := newTwoNodes(t, Options{PartSize: minPart})
	data := testData(resumeSize, 21)
	local := writeTemp(t, "upload.bin", data)

	ctx, cancel := context.WithTimeout(context.Background(), ftpTimeout)
	defer cancel()

	// Slowed down so that it is still sending when killed.
	cmd := exec.CommandContext(ctx, curl, "-sS", "--limit-rate", "2M", "-T", local,
		"ftp://"+ftpUser+":"+ftpPass+"@"+nodes.a+"/killed.bin")
	require.NoError(t, cmd.Start())

	waitFor(t, "a part of the upload", func() bool { return partsSent(t, nodes.gw, nodes.bucket, "killed.bin") >= 1 })
	require.NoError(t, cmd.Process.Kill())

	_ = cmd.Wait() // killed

	// The server sees the upload end, or break: either way what it kept is the file's start.
	waitFor(t, "the end of the upload on the server", func() bool {
		info, err := nodes.fsA.Stat("/killed.bin")

		return err == nil && info.Size() > 0
	})

	dialogue := resumeWithCurl(t, nodes.b, "/killed.bin", local, data)
	assert.Contains(t, dialogue, "APPE ")

	conn := ftpLogin(t, nodes.b)
	assert.Equal(t, sha256.Sum256(data), sha256.Sum256(retrieve(t, conn, "/killed.bin", 0)))
	assert.Zero(t, nodes.gw.PendingUploads(t, nodes.bucket))
}

func TestAppendToObject(t *testing.T) {
	t.Parallel()

	f, gw, bucket := newTestFs(t, Options{PartSize: minPart})
	f.copyPartSize = minPart // a copy of several parts, the last one longer
	conn := ftpLogin(t, newFTPServer(t, f))

	tests := []struct {
		name          string
		object, added int
		parts         int // of the object stored, 0 for a single PUT
	}{
		{"small object, small append", 1 << 20, 1000, 0},
		{"small object, large append", 1 << 20, minPart + 5, 2},
		{"empty object", 0, 1000, 0},
		{"one-part object", minPart, 1000, 2},
		{"object of two copied parts", 2*minPart + 1<<20, 2 << 20, 3},
	}

	for i, tt := range tests {
		name := fmt.Sprintf("/append-%d.bin", i)
		head, tail := testData(tt.object, uint64(30+i)), testData(tt.added, uint64(40+i))

		require.NoError(t, conn.Stor(name, bytes.NewReader(head)), tt.name)
		require.NoError(t, conn.Append(name, bytes.NewReader(tail)), tt.name)

		want := append(slices.Clone(head), tail...)
		assert.Equal(t, sha256.Sum256(want), sha256.Sum256(retrieve(t, conn, name, 0)), tt.name)

		size, err := conn.FileSize(name)
		require.NoError(t, err)
		assert.Equal(t, int64(len(want)), size, tt.name)

		out, err := gw.Client.HeadObject(context.Background(),
			&s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(name[1:])})
		require.NoError(t, err)

		etag := strings.Trim(aws.ToString(out.ETag), `"`)
		if tt.parts == 0 {
			assert.NotContains(t, etag, "-", "%s: a single PUT", tt.name)
		} else {
			assert.True(t, strings.HasSuffix(etag, fmt.Sprintf("-%d", tt.parts)), "%s: ETag %s", tt.name, etag)
		}
	}

	assert.Zero(t, gw.PendingUploads(t, bucket))
}

// TestObjectAndIncompleteUpload checks what a client sees of a name with both an object and an
// incomplete upload: SIZE tells the upload's resumable size, LIST and RETR the object, and DELE
// removes both.
func TestObjectAndIncompleteUpload(t *testing.T) {
	t.Parallel()

	f, gw, bucket := newTestFs(t, Options{PartSize: minPart})
	addr := newFTPServer(t, f)
	conn := ftpLogin(t, addr)

	old := testData(1<<20, 50)
	require.NoError(t, conn.Stor("/both.bin", bytes.NewReader(old)))

	// A new upload of the file breaks after two parts.
	upload, err := f.Create("/both.bin")
	require.NoError(t, err)

	_, err = upload.Write(testData(2*minPart+10, 51))
	require.NoError(t, err)

	reporter, ok := upload.(interface{ TransferError(err error) })
	require.True(t, ok)
	reporter.TransferError(errTest)
	require.ErrorIs(t, upload.Close(), ErrUploadAborted)

	size, err := conn.FileSize("/both.bin")
	require.NoError(t, err)
	assert.Equal(t, int64(2*minPart), size, "SIZE: the upload's resumable size")

	entries, err := conn.List("/")
	require.NoError(t, err)
	require.Equal(t, []string{"both.bin"}, entryNames(entries))

	for _, entry := range entries {
		if entry.Name == "both.bin" {
			assert.Equal(t, uint64(len(old)), entry.Size, "LIST: the object")
		}
	}

	assert.Equal(t, old, retrieve(t, conn, "/both.bin", 0), "RETR: the object")

	// REST elsewhere than the resumable size is refused, and the upload stays.
	err = conn.StorFrom("/both.bin", strings.NewReader("x"), uint64(len(old)))
	requireRefused(t, err, "the incomplete upload holds 10485760 bytes, not 1048576")
	assert.Equal(t, 1, gw.PendingUploads(t, bucket))
	assert.Equal(t, old, retrieve(t, conn, "/both.bin", 0))

	require.NoError(t, conn.Delete("/both.bin"))

	_, err = conn.FileSize("/both.bin")
	requireRefused(t, err, "no such file or directory")
	assert.Zero(t, gw.PendingUploads(t, bucket))
	assert.Empty(t, gw.Keys(t, bucket))
}

// TestStorAbortsIncompleteUpload checks that STOR without REST starts the file anew: the
// incomplete upload of the name is aborted, so that no resume continues it with another file.
func TestStorAbortsIncompleteUpload(t *testing.T) {
	t.Parallel()

	f, gw, bucket := newTestFs(t, Options{PartSize: minPart})
	conn := ftpLogin(t, newFTPServer(t, f))

	upload, err := f.Create("/again.bin")
	require.NoError(t, err)

	_, err = upload.Write(testData(minPart+1, 60))
	require.NoError(t, err)

	reporter, ok := upload.(interface{ TransferError(err error) })
	require.True(t, ok)
	reporter.TransferError(errTest)
	require.ErrorIs(t, upload.Close(), ErrUploadAborted)
	require.Equal(t, 1, gw.PendingUploads(t, bucket))

	require.NoError(t, conn.Stor("/again.bin", strings.NewReader("short")))
	assert.Zero(t, gw.PendingUploads(t, bucket))
	assert.Equal(t, []byte("short"), retrieve(t, conn, "/again.bin", 0))
}

func TestSweepIncompleteUploads(t *testing.T) {
	t.Parallel()

	const maxAge = time.Second

	f, gw, bucket := newTestFs(t, Options{PartSize: minPart, IncompleteUploadMaxAge: maxAge})

	create := func(key string) {
		t.Helper()

		_, err := gw.Client.CreateMultipartUpload(context.Background(),
			&s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		require.NoError(t, err)
	}

	create("old-1")
	create("dir/old-2")

	// S3 records the start of an upload to the second: wait until both are surely older than
	// maxAge, a lower bound only.
	time.Sleep(maxAge + 1100*time.Millisecond)

	create("young")

	_, err := f.Stat("/old-1")
	require.ErrorIs(t, err, fs.ErrNotExist, "an expired upload cannot be resumed")

	info, err := f.Stat("/young")
	require.NoError(t, err)
	assert.Zero(t, info.Size())

	aborted, err := f.SweepIncompleteUploads(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2, aborted)
	assert.Equal(t, 1, gw.PendingUploads(t, bucket), "the young upload stays")

	disabled := New(newTestClient(t, gw.Endpoint, s3test.SecretKey), bucket, Options{})
	aborted, err = disabled.SweepIncompleteUploads(context.Background())
	require.NoError(t, err)
	assert.Zero(t, aborted)
}

// TestResumeTwice breaks an upload, breaks its resume on the other server, and resumes it again
// on the first.
func TestResumeTwice(t *testing.T) {
	t.Parallel()

	nodes := newTwoNodes(t, Options{PartSize: minPart})
	data := testData(resumeSize, 70)

	nodes.cutUpload(t, "/twice.bin", data, minPart+pastPart, 1, true)

	// The second attempt, on the other server, breaks too.
	session := rawLogin(t, nodes.b)
	conn := session.dataConn()
	session.command("REST 5242880", ftpserver.StatusFileActionPending)
	session.command("STOR /twice.bin", ftpserver.StatusFileStatusOK)

	_, err := conn.Write(data[minPart : 2*minPart+pastPart])
	require.NoError(t, err)
	waitFor(t, "the second part", func() bool { return partsSent(t, nodes.gw, nodes.bucket, "twice.bin") >= 2 })
	require.NoError(t, conn.SetLinger(0))
	require.NoError(t, conn.Close())
	session.reply()

	resumeWithGo(t, nodes.a, "/twice.bin", "", data)

	client := ftpLogin(t, nodes.b)
	assert.Equal(t, sha256.Sum256(data), sha256.Sum256(retrieve(t, client, "/twice.bin", 0)))
	assert.Zero(t, nodes.gw.PendingUploads(t, nodes.bucket))
}

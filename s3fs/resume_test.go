package s3fs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// resumeSize is the size of the files the resume tests upload: two parts of minPart and a
// short last one.
const resumeSize = 2*minPart + 1<<20 + 1234

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
		// mirror decides from the listing, which shows completed objects only: it sends the
		// whole file again.
		{"reset in the last part, lftp mirror", 2*minPart + pastPart, 2, true, resumeWithMirror, ""},
		// The end of the data connection: the bytes sent are stored as the file, which the
		// resume extends (by copying it into a new upload, or reading it when under 5 MiB).
		{"end in the first part, curl", 3 << 20, 0, false, resumeWithCurl, "APPE "},
		{"end in the first part, lftp", 3 << 20, 0, false, resumeWithLftp, "REST 3145728"},
		{"end in the second part, curl", minPart + 4321, 0, false, resumeWithCurl, "APPE "},
		{"end in the second part, lftp", minPart + 4321, 0, false, resumeWithLftp, "REST 5247201"},
		{"end in the second part, lftp mirror", minPart + 4321, 0, false, resumeWithMirror, "REST 5247201"},
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
			assert.NotRegexp(t, `REST \d`, dialogue, tt.name)
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
	// It is done with it once the session ended; before, it may be completing the upload, and
	// a SIZE on the other server that falls between the two could find neither the upload nor
	// the object.
	waitFor(t, "the end of the session on the server", func() bool { return nodes.driverA.ended.Load() == 1 })

	info, err := nodes.fsA.Stat("/killed.bin")
	require.NoError(t, err)
	assert.Positive(t, info.Size())

	dialogue := resumeWithCurl(t, nodes.b, "/killed.bin", local, data)
	assert.Contains(t, dialogue, "APPE ")

	nodes.requireStored(t, nodes.b, "/killed.bin", data)
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

		etag := objectETag(t, gw, bucket, name[1:])
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

	// S3 records the start of an upload to the second, so an upload started just now may look
	// up to a second old: maxAge leaves the young upload two more seconds for a loaded machine.
	const maxAge = 3 * time.Second

	f, gw, bucket := newTestFs(t, Options{PartSize: minPart, IncompleteUploadMaxAge: maxAge})

	gw.StartUpload(t, bucket, "old-1")
	gw.StartUpload(t, bucket, "dir/old-2")

	// Wait until both are surely older than maxAge, a lower bound only.
	time.Sleep(maxAge + 1100*time.Millisecond)

	gw.StartUpload(t, bucket, "young")

	_, err := f.Stat("/old-1")
	require.ErrorIs(t, err, fs.ErrNotExist, "an expired upload cannot be resumed")

	info, err := f.Stat("/young")
	require.NoError(t, err)
	assert.Zero(t, info.Size())

	aborted, err := f.SweepIncompleteUploads(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2, aborted)
	assert.Equal(t, 1, gw.PendingUploads(t, bucket), "the young upload stays")

	disabled := New(gwClient(t, gw), bucket, Options{})
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
	session.startStor("/twice.bin", minPart)

	_, err := conn.Write(data[minPart : 2*minPart+pastPart])
	require.NoError(t, err)
	waitFor(t, "the second part", func() bool { return partsSent(t, nodes.gw, nodes.bucket, "twice.bin") >= 2 })
	require.NoError(t, conn.SetLinger(0))
	require.NoError(t, conn.Close())
	session.reply()

	resumeWithGo(t, nodes.a, "/twice.bin", "", data)

	nodes.requireStored(t, nodes.b, "/twice.bin", data)
}

// TestResumeNewestUploadAfterGap resumes a file with two incomplete uploads, as two broken
// attempts leave: the newest counts, up to the gap its lost part left (a part sent after it is
// sent again), and completing it aborts the older one.
func TestResumeNewestUploadAfterGap(t *testing.T) {
	t.Parallel()

	f, gw, bucket := newTestFs(t, Options{PartSize: minPart})
	conn := ftpLogin(t, newFTPServer(t, f))
	older := testData(3*minPart, 80)
	data := testData(2*minPart+1<<20, 81)

	gw.StartUpload(t, bucket, "gap.bin", older[:minPart], older[minPart:2*minPart])

	// S3 records the start of an upload to the second: a lower bound, so that the second is
	// the newer.
	time.Sleep(1100 * time.Millisecond)

	// Parts 1 and 3 of the file: part 2 was lost when its server died; part 3 is stale.
	gw.StartUpload(t, bucket, "gap.bin", data[:minPart])
	newest := newestUploadID(t, gw, bucket, "gap.bin")
	uploadPart(t, gw, bucket, "gap.bin", newest, 3, older[2*minPart:])

	size, err := conn.FileSize("/gap.bin")
	require.NoError(t, err)
	require.Equal(t, int64(minPart), size, "SIZE: the leading part of the newest upload")

	require.NoError(t, conn.Append("/gap.bin", bytes.NewReader(data[size:])))
	assert.Equal(t, sha256.Sum256(data), sha256.Sum256(retrieve(t, conn, "/gap.bin", 0)))
	assert.Zero(t, gw.PendingUploads(t, bucket), "the older upload is aborted")
}

// TestResumeAfterServerDies resumes through a second Fs an upload whose Fs stopped without a
// call, as when its process is killed: neither TransferError nor Close comes.
func TestResumeAfterServerDies(t *testing.T) {
	t.Parallel()

	nodes := newTwoNodes(t, Options{PartSize: minPart})
	data := testData(resumeSize, 90)

	dying, err := nodes.fsA.Create("/died.bin")
	require.NoError(t, err)

	_, err = dying.Write(data[:2*minPart+1])
	require.NoError(t, err)
	waitFor(t, "two parts", func() bool { return partsSent(t, nodes.gw, nodes.bucket, "died.bin") == 2 })

	other := New(gwClient(t, nodes.gw), nodes.bucket, Options{PartSize: minPart})

	info, err := other.Stat("/died.bin")
	require.NoError(t, err)
	require.Equal(t, int64(2*minPart), info.Size())

	file, err := other.OpenFile("/died.bin", os.O_WRONLY|os.O_APPEND, 0o644)
	require.NoError(t, err)

	_, err = file.Write(data[info.Size():])
	require.NoError(t, err)
	require.NoError(t, file.Close())

	nodes.requireStored(t, nodes.b, "/died.bin", data)
}

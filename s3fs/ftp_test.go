package s3fs

import (
	"bytes"
	"crypto/sha256"
	"io"
	"io/fs"
	"strings"
	"testing"

	"github.com/jlaffaye/ftp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ftpkit/ftpserver"
	"github.com/ftpkit/ftpserver/s3fs/s3test"
)

func TestFTPEndToEnd(t *testing.T) {
	t.Parallel()

	f, gw, bucket := newTestFs(t, Options{PartSize: minPart})
	conn := ftpLogin(t, newFTPServer(t, f))

	data := testData(20<<20, 10) // four parts
	sum := sha256.Sum256(data)

	require.NoError(t, conn.MakeDir("/data"))
	require.NoError(t, conn.ChangeDir("/data"))
	require.NoError(t, conn.Stor("big.bin", bytes.NewReader(data)))
	assert.Zero(t, gw.PendingUploads(t, bucket))

	size, err := conn.FileSize("/data/big.bin")
	require.NoError(t, err)
	assert.Equal(t, int64(len(data)), size)

	entries, err := conn.List("/data")
	require.NoError(t, err)
	assert.Equal(t, []string{"big.bin"}, entryNames(entries))

	for _, entry := range entries {
		if entry.Name == "big.bin" {
			assert.Equal(t, ftp.EntryTypeFile, entry.Type)
			assert.Equal(t, uint64(len(data)), entry.Size)
		}
	}

	// A download broken off after 7 MiB and some, then resumed with REST.
	resp, err := conn.Retr("big.bin")
	require.NoError(t, err)

	head := make([]byte, 7<<20+4321)
	_, err = io.ReadFull(resp, head)
	require.NoError(t, err)
	_ = resp.Close() // 426 or 226, depending on how much the server had sent

	tail := retrieve(t, conn, "big.bin", uint64(len(head)))
	assert.Equal(t, sum, sha256.Sum256(append(head, tail...)), "the resumed download completes the file")
	assert.Equal(t, sum, sha256.Sum256(retrieve(t, conn, "big.bin", 0)))

	require.NoError(t, conn.Rename("big.bin", "/moved.bin"))
	assert.Equal(t, sum, sha256.Sum256(retrieve(t, conn, "/moved.bin", 0)))

	_, err = conn.Retr("big.bin")
	requireRefused(t, err, "no such file or directory")

	// An upload resumes only where the file ends: elsewhere 550 says where, and the file is
	// left as it was.
	err = conn.StorFrom("/moved.bin", strings.NewReader("tail"), 100)
	requireRefused(t, err, "the upload cannot resume there: the file holds 20971520 bytes, not 100")

	err = conn.StorFrom("/new.bin", strings.NewReader("tail"), 100)
	requireRefused(t, err, "the file holds 0 bytes, not 100")

	_, err = f.Stat("/new.bin")
	require.ErrorIs(t, err, fs.ErrNotExist, "a refused resumed upload stores nothing")

	size, err = conn.FileSize("/moved.bin")
	require.NoError(t, err)
	assert.Equal(t, int64(len(data)), size)

	// RMD of a directory that is not empty: 550 with the reason.
	require.NoError(t, conn.Stor("/data/small", strings.NewReader("x")))
	requireRefused(t, conn.RemoveDir("/data"), "directory not empty")

	require.NoError(t, conn.Delete("/data/small"))
	require.NoError(t, conn.RemoveDir("/data"))
	require.NoError(t, conn.Delete("/moved.bin"))

	entries, err = conn.List("/")
	require.NoError(t, err)
	assert.Empty(t, entryNames(entries))
	assert.Empty(t, gw.Keys(t, bucket))
}

func TestFTPInterruptedUpload(t *testing.T) {
	t.Parallel()

	f, gw, bucket := newTestFs(t, Options{PartSize: minPart})
	session := rawLogin(t, newFTPServer(t, f))
	data := session.dataConn()

	session.command("STOR /interrupted.bin", ftpserver.StatusFileStatusOK)

	// More than two parts; the reset comes once the multipart upload exists.
	_, err := data.Write(testData(24<<20, 11))
	require.NoError(t, err)
	waitFor(t, "a multipart upload in progress", func() bool { return gw.PendingUploads(t, bucket) == 1 })

	require.NoError(t, data.SetLinger(0)) // a reset, not the end of the upload
	require.NoError(t, data.Close())

	code, msg := session.reply()
	assert.Contains(t, []int{ftpserver.StatusTransferAborted, 451}, code, msg) // 451: local error in processing

	// The reply follows the end of the parts in flight: no object is stored, and the upload is
	// kept for a resume, which may start at the end of any part sent.
	_, err = f.Open("/interrupted.bin")
	require.ErrorIs(t, err, fs.ErrNotExist)
	assert.Empty(t, gw.Keys(t, bucket))
	assert.Equal(t, 1, gw.PendingUploads(t, bucket))

	info, err := f.Stat("/interrupted.bin")
	require.NoError(t, err)
	assert.Zero(t, info.Size()%minPart, "the resumable size %d is a number of parts", info.Size())
	assert.Less(t, info.Size(), int64(24<<20))

	session.command("QUIT", ftpserver.StatusClosingControlConn)
}

func TestFTPTwoServersOneBucket(t *testing.T) {
	t.Parallel()

	gw := s3test.Start(t)
	bucket := gw.NewBucket(t)

	// Two instances, as two processes would run them: clients, file systems and servers of
	// their own, sharing only the bucket.
	first := New(newTestClient(t, gw.Endpoint, s3test.SecretKey), bucket, Options{PartSize: minPart})
	second := New(newTestClient(t, gw.Endpoint, s3test.SecretKey), bucket, Options{PartSize: minPart})
	connA := ftpLogin(t, newFTPServer(t, first))
	connB := ftpLogin(t, newFTPServer(t, second))

	data := testData(6<<20, 12)
	sum := sha256.Sum256(data)

	require.NoError(t, connA.MakeDir("/shared"))
	require.NoError(t, connA.Stor("/shared/from-a.bin", bytes.NewReader(data)))

	entries, err := connB.List("/shared")
	require.NoError(t, err)
	assert.Equal(t, []string{"from-a.bin"}, entryNames(entries))
	assert.Equal(t, sum, sha256.Sum256(retrieve(t, connB, "/shared/from-a.bin", 0)))

	require.NoError(t, connB.Stor("/shared/from-b.txt", strings.NewReader("hello from b")))
	assert.Equal(t, []byte("hello from b"), retrieve(t, connA, "/shared/from-b.txt", 0))

	require.NoError(t, connB.Rename("/shared/from-a.bin", "/shared/renamed.bin"))
	assert.Equal(t, sum, sha256.Sum256(retrieve(t, connA, "/shared/renamed.bin", 0)))

	require.NoError(t, connA.Delete("/shared/renamed.bin"))
	require.NoError(t, connA.Delete("/shared/from-b.txt"))

	entries, err = connB.List("/shared")
	require.NoError(t, err)
	assert.Empty(t, entryNames(entries))
}

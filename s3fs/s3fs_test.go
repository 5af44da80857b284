package s3fs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ftpkit/ftpserver"
	"github.com/ftpkit/ftpserver/s3fs/s3test"
)

func TestWriteReadSeek(t *testing.T) {
	t.Parallel()

	f, _, _ := newTestFs(t, Options{})
	data := testData(100_000, 1)

	before := time.Now()
	putFile(t, f, "/file.bin", data)

	info, err := f.Stat("/file.bin")
	require.NoError(t, err)
	assert.Equal(t, "file.bin", info.Name())
	assert.Equal(t, int64(len(data)), info.Size())
	assert.False(t, info.IsDir())
	assert.Equal(t, os.FileMode(0o644), info.Mode())
	// S3 gives times to the second: the upload's time is at most a second before it began, and
	// the second after now is room for a time rounded up; how long the upload took does not
	// matter.
	assert.WithinRange(t, info.ModTime(), before.Add(-time.Second), time.Now().Add(time.Second))

	assert.Equal(t, data, getFile(t, f, "/file.bin"))

	file, err := f.Open("/file.bin")
	require.NoError(t, err)

	defer file.Close()

	// Seek before the first Read: the GET starts at the offset (REST before RETR).
	pos, err := file.Seek(40_000, io.SeekStart)
	require.NoError(t, err)
	assert.Equal(t, int64(40_000), pos)

	buf := make([]byte, 1000)
	_, err = io.ReadFull(file, buf)
	require.NoError(t, err)
	assert.Equal(t, data[40_000:41_000], buf)

	// Backwards and relative to the end: a new GET each time.
	_, err = file.Seek(-10, io.SeekEnd)
	require.NoError(t, err)

	rest, err := io.ReadAll(file)
	require.NoError(t, err)
	assert.Equal(t, data[len(data)-10:], rest)

	_, err = file.Seek(5, io.SeekStart)
	require.NoError(t, err)

	_, err = io.ReadFull(file, buf[:10])
	require.NoError(t, err)
	assert.Equal(t, data[5:15], buf[:10])

	// ReadAt leaves the position alone.
	readerAt, ok := file.(io.ReaderAt)
	require.True(t, ok)

	n, err := readerAt.ReadAt(buf, 99_500)
	require.ErrorIs(t, err, io.EOF, "a ReadAt past the end returns what there is and io.EOF")
	assert.Equal(t, 500, n)
	assert.Equal(t, data[99_500:], buf[:n])

	_, err = io.ReadFull(file, buf[:10])
	require.NoError(t, err)
	assert.Equal(t, data[15:25], buf[:10], "Read goes on where it was")

	// At or past the end, Read returns io.EOF without asking S3 for an empty range.
	_, err = file.Seek(int64(len(data)), io.SeekStart)
	require.NoError(t, err)

	_, err = file.Read(buf)
	require.ErrorIs(t, err, io.EOF)

	_, err = file.Seek(-1, io.SeekStart)
	require.Error(t, err)

	// A file open for reading cannot be written.
	_, err = file.WriteString("x")
	require.Error(t, err)
}

func TestEmptyFile(t *testing.T) {
	t.Parallel()

	f, _, _ := newTestFs(t, Options{})

	putFile(t, f, "/empty", nil)

	info, err := f.Stat("/empty")
	require.NoError(t, err)
	assert.Zero(t, info.Size())
	assert.Empty(t, getFile(t, f, "/empty"))
}

func TestMultipartUpload(t *testing.T) {
	t.Parallel()

	f, gw, bucket := newTestFs(t, Options{PartSize: minPart, Concurrency: 3})
	data := testData(3*minPart+12345, 2) // four parts, the last one short

	file, err := f.Create("/big.bin")
	require.NoError(t, err)

	// Odd-sized writes, as a network connection delivers them.
	for rest := data; len(rest) > 0; {
		n := min(len(rest), 100_003)
		written, writeErr := file.Write(rest[:n])
		require.NoError(t, writeErr)
		require.Equal(t, n, written)

		rest = rest[n:]
	}

	_, err = f.Open("/big.bin")
	require.ErrorIs(t, err, fs.ErrNotExist, "nothing can be read before Close")
	assert.Empty(t, gw.Keys(t, bucket))

	require.NoError(t, file.Close())
	require.ErrorIs(t, file.Close(), os.ErrClosed)

	assert.Equal(t, sha256.Sum256(data), sha256.Sum256(getFile(t, f, "/big.bin")))

	head, err := gw.Client.HeadObject(context.Background(),
		&s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("big.bin")})
	require.NoError(t, err)
	assert.True(t, strings.HasSuffix(strings.Trim(aws.ToString(head.ETag), `"`), "-4"),
		"the ETag of a multipart object ends with its number of parts: %s", aws.ToString(head.ETag))
}

func TestUploadAbortKeepsParts(t *testing.T) {
	t.Parallel()

	f, gw, bucket := newTestFs(t, Options{PartSize: minPart})

	tests := []struct {
		name      string
		size      int
		resumable int64 // -1: nothing left to resume
	}{
		{"single part", 1000, -1},
		{"one full part", minPart, -1},            // a full part is sent only once a byte after it comes
		{"multipart", 2*minPart + 1, 2 * minPart}, // the byte after the second part is lost
	}

	for _, tt := range tests {
		file, err := f.Create("/" + tt.name)
		require.NoError(t, err)

		_, err = file.Write(testData(tt.size, 3))
		require.NoError(t, err)

		reporter, ok := file.(interface{ TransferError(err error) })
		require.True(t, ok, "the file implements ftpserver.FileTransferError")
		reporter.TransferError(errors.New("connection reset"))

		require.ErrorIs(t, file.Close(), ErrUploadAborted, tt.name)

		_, err = f.Open("/" + tt.name)
		require.ErrorIs(t, err, fs.ErrNotExist, tt.name)

		info, err := f.Stat("/" + tt.name)
		if tt.resumable < 0 {
			require.ErrorIs(t, err, fs.ErrNotExist, tt.name)

			continue
		}

		require.NoError(t, err, tt.name)
		assert.Equal(t, tt.resumable, info.Size(), "%s: the resumable size", tt.name)
	}

	assert.Empty(t, gw.Keys(t, bucket))
	assert.Equal(t, 1, gw.PendingUploads(t, bucket), "the multipart upload is kept for a resume")
}

// sampledReader yields size pseudo-random bytes and, every 2 MiB, collects garbage and records
// the live heap, to see what an upload holds while it runs.
type sampledReader struct {
	left     int
	chunk    []byte
	sinceGC  int
	maxAlloc uint64
}

func (r *sampledReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}

	if r.sinceGC >= 2<<20 {
		r.sinceGC = 0
		r.maxAlloc = max(r.maxAlloc, liveHeap())
	}

	n := copy(p[:min(len(p), r.left)], r.chunk)
	r.left -= n
	r.sinceGC += n

	return n, nil
}

// liveHeap collects garbage and returns the bytes of the heap still reachable.
func liveHeap() uint64 {
	var stats runtime.MemStats

	runtime.GC()
	runtime.ReadMemStats(&stats)

	return stats.HeapAlloc
}

// TestUploadMemoryBounded streams 64 MiB into an upload and checks that the live heap never
// grows by more than about (Concurrency + 2) parts. It does not run in parallel: other tests'
// data would count.
func TestUploadMemoryBounded(t *testing.T) {
	const (
		size        = 64 << 20
		concurrency = 2
	)

	f, _, _ := newTestFs(t, Options{PartSize: minPart, Concurrency: concurrency})
	source := &sampledReader{left: size, chunk: testData(1<<20, 4)}
	before := liveHeap()

	file, err := f.Create("/stream.bin")
	require.NoError(t, err)

	written, err := io.CopyBuffer(file, source, make([]byte, 256<<10))
	require.NoError(t, err)
	require.Equal(t, int64(size), written)
	require.NoError(t, file.Close())

	info, err := f.Stat("/stream.bin")
	require.NoError(t, err)
	assert.Equal(t, int64(size), info.Size())

	// (Concurrency + 2) parts, and 4 MiB for the SDK and the test's own buffers.
	growth := float64(source.maxAlloc) - float64(before)
	bound := float64((concurrency+2)*minPart + 4<<20)
	t.Logf("live heap growth during a %d MiB upload: %.1f MiB (bound %.0f MiB)", size>>20, growth/(1<<20), bound/(1<<20))
	assert.Less(t, growth, bound)
}

func TestUploadTooLarge(t *testing.T) {
	t.Parallel()

	f, gw, bucket := newTestFs(t, Options{PartSize: minPart})
	file, err := f.Create("/huge")
	require.NoError(t, err)

	w, ok := file.(*writeFile)
	require.True(t, ok)

	w.maxSize = 1000 // as if 10,000 parts were written

	_, err = file.Write(make([]byte, 1001))
	require.ErrorIs(t, err, ftpserver.ErrStorageExceeded)
	require.ErrorIs(t, file.Close(), ErrUploadAborted)
	assert.Empty(t, gw.Keys(t, bucket))
}

func TestOpenFileFlags(t *testing.T) {
	t.Parallel()

	f, _, _ := newTestFs(t, Options{})

	putFile(t, f, "/exists", []byte("content"))
	putFile(t, f, "/empty", nil)
	require.NoError(t, f.Mkdir("/dir", 0o755))

	tests := []struct {
		name string
		file string
		flag int
		want error // nil: opens
	}{
		{"exclusive on existing", "/exists", os.O_WRONLY | os.O_CREATE | os.O_EXCL, fs.ErrExist},
		{"exclusive on new", "/new1", os.O_WRONLY | os.O_CREATE | os.O_EXCL, nil},
		{"append to existing", "/exists", os.O_WRONLY | os.O_APPEND, nil},
		{"append to empty", "/empty", os.O_WRONLY | os.O_APPEND, nil},
		{"append creating", "/new2", os.O_WRONLY | os.O_CREATE | os.O_APPEND, nil},
		{"overwrite without truncate", "/exists", os.O_WRONLY, nil}, // refused at the first Write
		{"truncate existing", "/exists", os.O_WRONLY | os.O_TRUNC, nil},
		{"no create on missing", "/missing", os.O_WRONLY | os.O_TRUNC, fs.ErrNotExist},
		{"missing parent", "/nodir/file", os.O_WRONLY | os.O_CREATE, fs.ErrNotExist},
		{"parent is a file", "/exists/file", os.O_WRONLY | os.O_CREATE, errNotDirectory},
		{"over a directory", "/dir", os.O_WRONLY | os.O_CREATE | os.O_TRUNC, errIsDirectory},
		{"root", "/", os.O_WRONLY | os.O_CREATE, errIsDirectory},
		{"read missing", "/missing", os.O_RDONLY, fs.ErrNotExist},
	}

	for _, tt := range tests {
		file, err := f.OpenFile(tt.file, tt.flag, 0o644)
		if tt.want != nil {
			require.ErrorIs(t, err, tt.want, tt.name)

			var pathErr *fs.PathError
			require.ErrorAs(t, err, &pathErr, tt.name)

			continue
		}

		require.NoError(t, err, tt.name)

		// Abandon what was opened: nothing must be stored.
		if reporter, ok := file.(interface{ TransferError(err error) }); ok {
			reporter.TransferError(errors.New("test"))
		}

		_ = file.Close()
	}

	assert.Equal(t, []byte("content"), getFile(t, f, "/exists"), "refused opens left the file alone")

	_, err := f.Stat("/new1")
	require.ErrorIs(t, err, fs.ErrNotExist)
}

func TestWriteFilePositioning(t *testing.T) {
	t.Parallel()

	f, gw, bucket := newTestFs(t, Options{})

	file, err := f.Create("/f")
	require.NoError(t, err)

	require.NoError(t, file.Truncate(0), "ftpserver truncates a new upload to 0")

	_, err = file.WriteString("hello")
	require.NoError(t, err)

	pos, err := file.Seek(0, io.SeekCurrent)
	require.NoError(t, err)
	assert.Equal(t, int64(5), pos)

	info, err := file.Stat()
	require.NoError(t, err)
	assert.Equal(t, int64(5), info.Size())

	_, err = file.Read(make([]byte, 1))
	require.Error(t, err)

	require.NoError(t, file.Sync())
	require.NoError(t, file.Close())

	// What an upload cannot do abandons it: closing it stores nothing. ftpserver truncates to the
	// REST offset before a resumed STOR, and closes the file when that fails.
	for name, refused := range map[string]func(afero.File) error{
		"truncate": func(file afero.File) error { return file.Truncate(100) },
		"seek":     func(file afero.File) error { _, err := file.Seek(0, io.SeekStart); return err },
		"write at": func(file afero.File) error { _, err := file.WriteAt([]byte("x"), 0); return err },
	} {
		file, err := f.OpenFile("/"+name, os.O_WRONLY|os.O_CREATE, 0o644)
		require.NoError(t, err)

		_, err = file.WriteString("data")
		require.NoError(t, err)
		require.ErrorIs(t, refused(file), ErrNotSupported, name)
		require.ErrorIs(t, file.Close(), ErrUploadAborted, name)
	}

	assert.Equal(t, []string{"f"}, gw.Keys(t, bucket))
}

func TestReaddirPagination(t *testing.T) {
	t.Parallel()

	const (
		files = 1200
		dirs  = 30
	)

	f, gw, bucket := newTestFs(t, Options{MaxKeys: 97})

	// Objects are put directly, many at once: what is tested is the listing.
	keys := make(chan string)

	var (
		wg       sync.WaitGroup
		putErrMu sync.Mutex
		putErr   error
	)

	for range 16 {
		wg.Go(func() {
			for key := range keys {
				_, err := gw.Client.PutObject(context.Background(), &s3.PutObjectInput{
					Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(key),
				})
				if err != nil {
					putErrMu.Lock()
					putErr = err
					putErrMu.Unlock()
				}
			}
		})
	}

	var want []string

	for i := range files {
		name := fmt.Sprintf("file-%04d.txt", i)
		want = append(want, name)
		keys <- "dir/" + name
	}

	for i := range dirs {
		name := fmt.Sprintf("sub-%02d", i)
		want = append(want, name)
		keys <- "dir/" + name + "/inner.txt"
	}

	close(keys)
	wg.Wait()
	require.NoError(t, putErr)
	sort.Strings(want)

	dir, err := f.Open("/dir")
	require.NoError(t, err)

	defer dir.Close()

	// ftpserver asks for 1,024 entries at a time: batches span pages of 97.
	var (
		got     []string
		batches int
	)

	for {
		entries, readErr := dir.Readdir(1024)
		if errors.Is(readErr, io.EOF) {
			require.Empty(t, entries)

			break
		}

		require.NoError(t, readErr)

		batches++

		for _, entry := range entries {
			got = append(got, entry.Name())

			if strings.HasPrefix(entry.Name(), "sub-") {
				assert.True(t, entry.IsDir(), entry.Name())
			} else {
				assert.False(t, entry.IsDir(), entry.Name())
				assert.Equal(t, int64(len("dir/"+entry.Name())), entry.Size())
			}
		}
	}

	assert.Equal(t, 2, batches)
	assert.Equal(t, want, got, "every entry once, in order")

	// Readdirnames and Readdir(-1) list everything too.
	all, err := afero.ReadDir(f, "/dir")
	require.NoError(t, err)
	assert.Len(t, all, files+dirs)

	names, err := afero.ReadDir(f, "/")
	require.NoError(t, err)
	require.Len(t, names, 1)
	assert.Equal(t, "dir", names[0].Name())
	assert.True(t, names[0].IsDir())

	root, err := f.Open("/")
	require.NoError(t, err)

	first, err := root.Readdirnames(1)
	require.NoError(t, err)
	assert.Equal(t, []string{"dir"}, first)

	_, err = root.Readdirnames(1)
	require.ErrorIs(t, err, io.EOF)
	require.NoError(t, root.Close())
}

func TestStat(t *testing.T) {
	t.Parallel()

	f, gw, bucket := newTestFs(t, Options{})

	info, err := f.Stat("/")
	require.NoError(t, err)
	assert.True(t, info.IsDir(), "the root always exists, even in an empty bucket")
	assert.Equal(t, os.ModeDir|0o755, info.Mode())

	// A directory without a marker, as other S3 clients make them.
	_, err = gw.Client.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String("implicit/deeper/file"), Body: strings.NewReader("x"),
	})
	require.NoError(t, err)

	for _, name := range []string{"/implicit", "implicit/", "/implicit/deeper", "/implicit/../implicit"} {
		dirInfo, statErr := f.Stat(name)
		require.NoError(t, statErr, name)
		assert.True(t, dirInfo.IsDir(), name)
	}

	info, err = f.Stat("/implicit/deeper/file")
	require.NoError(t, err)
	assert.Equal(t, int64(1), info.Size())

	_, err = f.Stat("/implic")
	require.ErrorIs(t, err, fs.ErrNotExist, "a prefix of a name is not a directory")

	_, err = f.Stat("/missing")
	require.ErrorIs(t, err, fs.ErrNotExist)

	var pathErr *fs.PathError
	require.ErrorAs(t, err, &pathErr)
	assert.Equal(t, "stat", pathErr.Op)
}

// TestStatDuringCompletion stats a name while another client completes its upload, between
// Stat's two requests: the HEAD is answered before the object exists, the listing of uploads
// is sent after the upload is gone. Stat must still find the object, or a resume on another
// server sees no file and sends it all again.
func TestStatDuringCompletion(t *testing.T) {
	t.Parallel()

	gw := s3test.Start(t)
	bucket := gw.NewBucket(t)
	held := newHeldClient("racing.bin")
	f := newFsWithClient(gw, bucket, held)
	ctx := context.Background()

	created, err := gw.Client.CreateMultipartUpload(ctx,
		&s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("racing.bin")})
	require.NoError(t, err)

	data := testData(1000, 3)
	part, err := gw.Client.UploadPart(ctx, &s3.UploadPartInput{
		Bucket: aws.String(bucket), Key: aws.String("racing.bin"), UploadId: created.UploadId,
		PartNumber: aws.Int32(1), Body: bytes.NewReader(data),
	})
	require.NoError(t, err)

	type statResult struct {
		info os.FileInfo
		err  error
	}

	stat := make(chan statResult, 1)

	go func() {
		info, statErr := f.Stat("/racing.bin")
		stat <- statResult{info, statErr}
	}()

	select {
	case <-held.headDone:
	case <-time.After(ftpTimeout):
		close(held.release)
		require.FailNow(t, "Stat sent no HEAD")
	}

	_, err = gw.Client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(bucket), Key: aws.String("racing.bin"), UploadId: created.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{
			Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: part.ETag}},
		},
	})
	close(held.release)
	require.NoError(t, err)

	got := <-stat
	require.NoError(t, got.err)
	assert.Equal(t, int64(len(data)), got.info.Size())
	assert.False(t, got.info.IsDir())
}

func TestMkdirRemove(t *testing.T) {
	t.Parallel()

	f, gw, bucket := newTestFs(t, Options{})

	require.NoError(t, f.Mkdir("/a", 0o755))
	require.ErrorIs(t, f.Mkdir("/a", 0o755), fs.ErrExist)
	require.ErrorIs(t, f.Mkdir("/", 0o755), fs.ErrExist)
	require.ErrorIs(t, f.Mkdir("/missing/b", 0o755), fs.ErrNotExist)

	info, err := f.Stat("/a")
	require.NoError(t, err)
	assert.True(t, info.IsDir())

	entries, err := afero.ReadDir(f, "/a")
	require.NoError(t, err)
	assert.Empty(t, entries, "the marker is not an entry")

	putFile(t, f, "/a/file", []byte("x"))
	require.ErrorIs(t, f.Mkdir("/a/file", 0o755), fs.ErrExist)
	require.ErrorIs(t, f.Mkdir("/a/file/sub", 0o755), errNotDirectory)

	err = f.Remove("/a")
	require.ErrorIs(t, err, ErrDirectoryNotEmpty)

	require.NoError(t, f.Remove("/a/file"))

	_, err = f.Stat("/a")
	require.NoError(t, err, "removing the last file keeps the directory")
	require.NoError(t, f.Remove("/a"))

	_, err = f.Stat("/a")
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.ErrorIs(t, f.Remove("/a"), fs.ErrNotExist)
	require.ErrorIs(t, f.Remove("/"), fs.ErrPermission)

	require.NoError(t, f.MkdirAll("/x/y/z", 0o755))
	require.NoError(t, f.MkdirAll("/x/y/z", 0o755))
	putFile(t, f, "/x/y/z/f1", []byte("1"))
	putFile(t, f, "/x/f2", []byte("2"))
	require.ErrorIs(t, f.MkdirAll("/x/f2/w", 0o755), errNotDirectory)

	require.NoError(t, f.RemoveAll("/x"))
	require.NoError(t, f.RemoveAll("/x"), "a missing name is no error")
	require.ErrorIs(t, f.RemoveAll("/"), fs.ErrPermission)
	assert.Empty(t, gw.Keys(t, bucket))
}

func TestRemoveLastFileOfImplicitDir(t *testing.T) {
	t.Parallel()

	f, gw, bucket := newTestFs(t, Options{})

	_, err := gw.Client.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String("made/elsewhere"), Body: strings.NewReader("x"),
	})
	require.NoError(t, err)

	require.NoError(t, f.Remove("/made/elsewhere"))

	info, err := f.Stat("/made")
	require.NoError(t, err, "the directory of a client's working directory does not vanish")
	assert.True(t, info.IsDir())
}

func TestRename(t *testing.T) {
	t.Parallel()

	f, gw, bucket := newTestFs(t, Options{})
	data := testData(10_000, 5)

	putFile(t, f, "/a.txt", data)
	require.NoError(t, f.Mkdir("/dir", 0o755))

	require.NoError(t, f.Rename("/a.txt", "/dir/b.txt"))
	assert.Equal(t, data, getFile(t, f, "/dir/b.txt"))

	_, err := f.Stat("/a.txt")
	require.ErrorIs(t, err, fs.ErrNotExist)

	// Onto an existing file: replaced, as os.Rename does.
	putFile(t, f, "/other", []byte("old"))
	require.NoError(t, f.Rename("/dir/b.txt", "/other"))
	assert.Equal(t, data, getFile(t, f, "/other"))

	err = f.Rename("/other", "/dir")
	require.ErrorIs(t, err, fs.ErrExist, "a file does not replace a directory")

	var linkErr *os.LinkError
	require.ErrorAs(t, err, &linkErr)

	require.ErrorIs(t, f.Rename("/missing", "/x"), fs.ErrNotExist)
	require.ErrorIs(t, f.Rename("/other", "/nodir/x"), fs.ErrNotExist)
	require.Error(t, f.Rename("/", "/x"))
	require.NoError(t, f.Rename("/other", "/other"))

	// A directory with files and a subdirectory.
	putFile(t, f, "/dir/one", []byte("1"))
	require.NoError(t, f.Mkdir("/dir/sub", 0o755))
	putFile(t, f, "/dir/sub/two", []byte("2"))

	require.ErrorIs(t, f.Rename("/dir", "/dir/sub/moved"), errRenameInto)
	require.ErrorIs(t, f.Rename("/dir", "/other"), fs.ErrExist)
	require.NoError(t, f.Rename("/dir", "/renamed"))

	keys := gw.Keys(t, bucket)
	sort.Strings(keys)
	assert.Equal(t, []string{"other", "renamed/", "renamed/one", "renamed/sub/", "renamed/sub/two"}, keys)
	assert.Equal(t, []byte("2"), getFile(t, f, "/renamed/sub/two"))
}

func TestRenameDirLimit(t *testing.T) {
	t.Parallel()

	f, gw, bucket := newTestFs(t, Options{MaxDirRenameObjects: 2})

	require.NoError(t, f.Mkdir("/dir", 0o755))
	putFile(t, f, "/dir/1", []byte("1"))
	require.NoError(t, f.Rename("/dir", "/small"), "a marker and one file: two objects")

	putFile(t, f, "/small/2", []byte("2"))
	require.ErrorIs(t, f.Rename("/small", "/big"), ErrNotSupported)
	require.ErrorIs(t, f.Rename("/small", "/big"), fs.ErrPermission)

	keys := gw.Keys(t, bucket)
	sort.Strings(keys)
	assert.Equal(t, []string{"small/", "small/1", "small/2"}, keys, "a refused rename changes nothing")

	refusing := New(gw.Client, bucket, Options{MaxDirRenameObjects: -1})
	require.ErrorIs(t, refusing.Rename("/small", "/other"), ErrNotSupported)
}

func TestRenameMultipartCopy(t *testing.T) {
	t.Parallel()

	f, _, _ := newTestFs(t, Options{PartSize: minPart})

	// As if the object were over 5 GiB: copied in parts of 5 MiB.
	f.copyThreshold = minPart
	f.copyPartSize = minPart

	data := testData(2*minPart+100, 6)
	putFile(t, f, "/big", data)

	require.NoError(t, f.Rename("/big", "/moved"))
	assert.Equal(t, sha256.Sum256(data), sha256.Sum256(getFile(t, f, "/moved")))
}

func TestPrefix(t *testing.T) {
	t.Parallel()

	gw := s3test.Start(t)
	bucket := gw.NewBucket(t)
	alice := New(gw.Client, bucket, Options{Prefix: "users/alice"})
	bob := New(gw.Client, bucket, Options{Prefix: "/users/bob/"})

	putFile(t, alice, "/notes.txt", []byte("alice"))
	putFile(t, bob, "/notes.txt", []byte("bob"))

	assert.Equal(t, []byte("alice"), getFile(t, alice, "/notes.txt"))
	assert.Equal(t, []byte("bob"), getFile(t, bob, "/notes.txt"))

	entries, err := afero.ReadDir(alice, "/")
	require.NoError(t, err)
	require.Len(t, entries, 1)

	keys := gw.Keys(t, bucket)
	sort.Strings(keys)
	assert.Equal(t, []string{"users/alice/notes.txt", "users/bob/notes.txt"}, keys)

	_, err = alice.Stat("/../bob/notes.txt")
	require.ErrorIs(t, err, fs.ErrNotExist, "no name gets above the prefix")
}

func TestUnsupported(t *testing.T) {
	t.Parallel()

	f, gw, bucket := newTestFs(t, Options{})
	putFile(t, f, "/f", []byte("x"))

	now := time.Now()

	for name, err := range map[string]error{
		"chtimes": f.Chtimes("/f", now, now),
		"chown":   f.Chown("/f", 1, 1),
		"chmod":   f.Chmod("/f", 0o600),
	} {
		require.ErrorIs(t, err, ErrNotSupported, name)
		require.ErrorIs(t, err, fs.ErrPermission, name)
	}

	lenient := New(gw.Client, bucket, Options{IgnoreChmod: true})
	require.NoError(t, lenient.Chmod("/f", 0o600))
	require.ErrorIs(t, lenient.Chmod("/missing", 0o600), fs.ErrNotExist)

	assert.Equal(t, "s3fs", f.Name())
}

func TestErrorMapping(t *testing.T) {
	t.Parallel()

	gw := s3test.Start(t)
	bucket := gw.NewBucket(t)
	ctx := context.Background()

	wrongSecret := New(newTestClient(t, gw.Endpoint, "not-the-secret"), bucket, Options{})
	_, err := wrongSecret.Stat("/x")
	require.ErrorIs(t, err, fs.ErrPermission, "a refused signature is a permission error")
	require.ErrorIs(t, wrongSecret.CheckBucket(ctx), fs.ErrPermission)

	_, err = wrongSecret.Create("/x")
	require.ErrorIs(t, err, fs.ErrPermission)

	noBucket := New(gw.Client, "no-such-bucket", Options{})
	require.ErrorIs(t, noBucket.CheckBucket(ctx), fs.ErrNotExist)

	_, err = noBucket.Open("/x")
	require.ErrorIs(t, err, fs.ErrNotExist)

	require.NoError(t, New(gw.Client, bucket, Options{}).CheckBucket(ctx))

	// The file was replaced between two reads: the second GET (If-Match) fails.
	f := New(gw.Client, bucket, Options{})
	putFile(t, f, "/changing", testData(1000, 7))

	file, err := f.Open("/changing")
	require.NoError(t, err)

	defer file.Close()

	_, err = file.Read(make([]byte, 10))
	require.NoError(t, err)

	putFile(t, f, "/changing", testData(1000, 8))

	_, err = file.Seek(500, io.SeekStart)
	require.NoError(t, err)

	_, err = file.Read(make([]byte, 10))
	require.ErrorIs(t, err, ErrObjectChanged)
}

func TestHandleKinds(t *testing.T) {
	t.Parallel()

	f, _, _ := newTestFs(t, Options{})
	require.NoError(t, f.Mkdir("/dir", 0o755))
	putFile(t, f, "/dir/file", []byte("abc"))

	dir, err := f.Open("/dir")
	require.NoError(t, err)
	assert.Equal(t, "/dir", dir.Name())

	info, err := dir.Stat()
	require.NoError(t, err)
	assert.True(t, info.IsDir())
	assert.Equal(t, "dir", info.Name())

	_, err = dir.Read(make([]byte, 1))
	require.ErrorIs(t, err, errNotReadable)

	_, err = dir.ReadAt(make([]byte, 1), 0)
	require.ErrorIs(t, err, errNotReadable)

	_, err = dir.WriteString("x")
	require.ErrorIs(t, err, errNotWritable)

	_, err = dir.WriteAt([]byte("x"), 0)
	require.ErrorIs(t, err, ErrNotSupported)

	_, err = dir.Seek(0, io.SeekStart)
	require.ErrorIs(t, err, ErrNotSupported)
	require.ErrorIs(t, dir.Truncate(0), ErrNotSupported)
	require.NoError(t, dir.Close())
	require.ErrorIs(t, dir.Close(), os.ErrClosed)

	_, err = dir.Readdir(1)
	require.ErrorIs(t, err, os.ErrClosed)

	file, err := f.Open("dir/file")
	require.NoError(t, err)

	info, err = file.Stat()
	require.NoError(t, err)
	assert.Equal(t, int64(3), info.Size())
	assert.Nil(t, info.Sys())

	_, err = file.Readdir(1)
	require.ErrorIs(t, err, errNotDirectory)

	_, err = file.Readdirnames(1)
	require.ErrorIs(t, err, errNotDirectory)

	_, err = file.Seek(0, 42)
	require.ErrorIs(t, err, errBadWhence)

	_, err = file.ReadAt(make([]byte, 1), -1)
	require.ErrorIs(t, err, errNegativeSeek)

	n, err := file.ReadAt(make([]byte, 1), 3)
	require.ErrorIs(t, err, io.EOF)
	assert.Zero(t, n)

	require.NoError(t, file.Close())
	require.ErrorIs(t, file.Close(), os.ErrClosed)

	_, err = file.Read(make([]byte, 1))
	require.ErrorIs(t, err, os.ErrClosed)
}

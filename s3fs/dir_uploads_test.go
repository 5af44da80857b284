package s3fs

import (
	"context"
	"crypto/sha256"
	"io/fs"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ftpkit/ftpserver/s3fs/s3test"
)

// TestListIncompleteUploads lists a directory of objects, prefixes and incomplete uploads, with
// pages of 2 on both listings, and checks that the uploads without an object show, in key
// order, with their resumable size, only when Options.ListIncompleteUploads is on.
func TestListIncompleteUploads(t *testing.T) {
	t.Parallel()

	f, gw, bucket := newTestFs(t, Options{PartSize: minPart, MaxKeys: 2})
	on := f.Sub("/")
	on.opts.ListIncompleteUploads = true

	put := func(key string) {
		body := key // a marker ("d/") is empty
		if strings.HasSuffix(key, "/") {
			body = ""
		}

		_, err := gw.Client.PutObject(context.Background(), &s3.PutObjectInput{
			Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body),
		})
		require.NoError(t, err)
	}

	for _, key := range []string{"d/", "d/b", "d/d", "d/f/x", "d/h", "d/k", "d/m", "other"} {
		put(key)
	}

	part := testData(minPart, 100)
	gw.StartUpload(t, bucket, "d/a", part)      // before every object
	gw.StartUpload(t, bucket, "d/c")            // no part yet: size 0
	gw.StartUpload(t, bucket, "d/d", part)      // an object shows instead
	gw.StartUpload(t, bucket, "d/e", part)      // just before a prefix
	gw.StartUpload(t, bucket, "d/g", part)      // an older one
	gw.StartUpload(t, bucket, "d/g", part)      // two of one name: one entry
	gw.StartUpload(t, bucket, "d/z", part)      // after every object
	gw.StartUpload(t, bucket, "d/f/deep", part) // not in the directory
	gw.StartUpload(t, bucket, "top", part)      // not in the directory

	objects := []string{"b", "d", "f", "h", "k", "m"}
	withUploads := []string{"a", "b", "c", "d", "e", "f", "g", "h", "k", "m", "z"}
	sizes := map[string]int64{"a": minPart, "c": 0, "d": 3, "e": minPart, "g": minPart, "z": minPart}

	for _, batch := range []int{1, 2, 3, 100} {
		assert.Equal(t, objects, readAllNames(t, openDir(t, f), batch), "off, batches of %d", batch)
		assert.Equal(t, withUploads, readAllNames(t, openDir(t, on), batch), "on, batches of %d", batch)
	}

	_, err := on.OpenDownload("/d/a")
	require.ErrorIs(t, err, ErrUploadIncomplete, "read what the listing shows")
	assert.Contains(t, err.Error(), "5242880 bytes so far")

	_, err = on.Open("/d/a")
	require.ErrorIs(t, err, ErrUploadIncomplete, "Open as OpenDownload")

	_, err = f.OpenDownload("/d/a")
	require.ErrorIs(t, err, fs.ErrNotExist, "off: as before")

	_, err = f.Open("/d/a")
	require.ErrorIs(t, err, fs.ErrNotExist, "off: as before")

	dir := openDir(t, on)
	entries, err := dir.Readdir(0)
	require.NoError(t, err)
	require.NoError(t, dir.Close())

	for _, entry := range entries {
		want, ok := sizes[entry.Name()]
		if !ok {
			continue
		}

		assert.Equal(t, want, entry.Size(), entry.Name())
		assert.False(t, entry.IsDir(), entry.Name())

		if entry.Name() != "d" {
			info, err := on.Stat("/d/" + entry.Name())
			require.NoError(t, err)
			assert.Equal(t, info.Size(), entry.Size(), "%s: the size Stat (SIZE) gives", entry.Name())
			assert.Equal(t, info.ModTime(), entry.ModTime(), "%s: when the upload started", entry.Name())
		}
	}
}

// TestMirrorContinueResumesUpload breaks an upload after its first part on one server, then
// runs lftp's mirror -R --continue against the other server, which lists incomplete uploads:
// lftp sees the partial file in the listing and sends the rest from its resumable size.
func TestMirrorContinueResumesUpload(t *testing.T) {
	t.Parallel()

	nodes := newTwoNodes(t, Options{PartSize: minPart, ListIncompleteUploads: true})
	data := testData(2*minPart+1<<20, 110)

	_, err := nodes.gw.Client.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(nodes.bucket), Key: aws.String("dir/"), Body: strings.NewReader(""),
	})
	require.NoError(t, err)

	nodes.cutUpload(t, "/dir/big.bin", data, minPart+pastPart, 1, true)
	require.False(t, objectExists(t, nodes.gw, nodes.bucket, "dir/big.bin"))

	dialogue := resumeWithMirror(t, nodes.b, "/dir/big.bin", "", data)
	assert.Contains(t, dialogue, "REST 5242880", "lftp continues from the resumable size")
	assert.NotContains(t, dialogue, "REST 0")

	conn := ftpLogin(t, nodes.a)
	assert.Equal(t, sha256.Sum256(data), sha256.Sum256(retrieve(t, conn, "/dir/big.bin", 0)))
	assert.Zero(t, partsSent(t, nodes.gw, nodes.bucket, "dir/big.bin"), "no upload of the file is left")
}

// TestListIncompleteUploadsRequests counts the requests of listing a directory: one more with
// the option, and two more for each name shown from its upload (those of its Stat).
func TestListIncompleteUploadsRequests(t *testing.T) {
	t.Parallel()

	gw := s3test.Start(t)
	bucket := gw.NewBucket(t)
	counter := &methodCounter{counts: map[string]int{}}
	opts := gwClient(t, gw).Options()
	opts.HTTPClient = counter
	off := New(s3.New(opts), bucket, Options{PartSize: minPart})
	on := off.Sub("/")
	on.opts.ListIncompleteUploads = true

	require.NoError(t, off.Mkdir("/d", 0o755))
	putFile(t, off, "/d/a", []byte("a"))
	putFile(t, off, "/d/b", []byte("b"))

	// Open and Readdir together: Open's HEAD of the name and its first page of objects, which
	// the listing starts from.
	list := func(f *Fs) map[string]int {
		counter.take()
		dir := openDir(t, f)

		_, err := dir.Readdir(0)
		require.NoError(t, err)
		require.NoError(t, dir.Close())

		return counter.take()
	}

	assert.Equal(t, map[string]int{http.MethodHead: 1, http.MethodGet: 1}, list(off), "off: the objects' listing")
	assert.Equal(t, map[string]int{http.MethodHead: 1, http.MethodGet: 2}, list(on), "on: and the uploads' listing")

	gw.StartUpload(t, bucket, "d/c", testData(minPart, 120))
	assert.Equal(t, map[string]int{http.MethodHead: 1, http.MethodGet: 1}, list(off))
	assert.Equal(t, map[string]int{http.MethodHead: 1, http.MethodGet: 4}, list(on), "on: and the Stat of c")
}

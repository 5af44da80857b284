package s3fs

import (
	"crypto/sha256"
	"io"
	"io/fs"
	"net/http"
	"testing"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/require"
)

func TestOpenDownload(t *testing.T) {
	t.Parallel()

	f, _, _ := newTestFs(t, Options{})

	data := testData(300_000, 7)
	require.NoError(t, f.Mkdir("/dir", 0o755))
	putFile(t, f, "/dir/file.bin", data)
	putFile(t, f, "/dir/empty", nil)

	// From the start: the GET of the open gives the whole file, and its size before any Read.
	file, err := f.OpenDownload("/dir/file.bin")
	require.NoError(t, err)

	info, err := file.Stat()
	require.NoError(t, err)
	require.Equal(t, int64(len(data)), info.Size())
	require.Equal(t, "file.bin", info.Name())
	require.False(t, info.IsDir())

	got, err := io.ReadAll(file)
	require.NoError(t, err)
	require.Equal(t, sha256.Sum256(data), sha256.Sum256(got))
	require.NoError(t, file.Close())

	// REST before the first Read: the GET of the open is dropped for one at the offset, and
	// ReadAt reads a range of its own meanwhile.
	file, err = f.OpenDownload("dir/file.bin")
	require.NoError(t, err)

	part := make([]byte, 1000)
	_, err = file.ReadAt(part, 5000)
	require.NoError(t, err)
	require.Equal(t, data[5000:6000], part)

	_, err = file.Seek(123_456, io.SeekStart)
	require.NoError(t, err)

	got, err = io.ReadAll(file)
	require.NoError(t, err)
	require.Equal(t, sha256.Sum256(data[123_456:]), sha256.Sum256(got))
	require.NoError(t, file.Close())

	// An empty object, then names that are no object: a directory, the root, nothing.
	file, err = f.OpenDownload("/dir/empty")
	require.NoError(t, err)

	got, err = io.ReadAll(file)
	require.NoError(t, err)
	require.Empty(t, got)
	require.NoError(t, file.Close())

	for _, dir := range []string{"/dir", "/"} {
		file, err = f.OpenDownload(dir)
		require.NoError(t, err, dir)

		info, err = file.Stat()
		require.NoError(t, err)
		require.True(t, info.IsDir(), dir)
		require.NoError(t, file.Close())
	}

	_, err = f.OpenDownload("/dir/missing")
	require.ErrorIs(t, err, fs.ErrNotExist)
}

func TestOpenDownloadOneRequest(t *testing.T) {
	t.Parallel()

	f, counter := newCountedFs(t)

	data := testData(10_000, 3)
	putFile(t, f, "/file.bin", data)
	counter.take()

	read := func(open func(string) (afero.File, error)) map[string]int {
		file, err := open("/file.bin")
		require.NoError(t, err)

		got, err := io.ReadAll(file)
		require.NoError(t, err)
		require.Equal(t, data, got)
		require.NoError(t, file.Close())

		return counter.take()
	}

	require.Equal(t, map[string]int{http.MethodGet: 1}, read(f.OpenDownload), "OpenDownload: one GET")
	require.Equal(t, map[string]int{http.MethodHead: 1, http.MethodGet: 1}, read(f.Open), "Open: a HEAD, then a GET")
}

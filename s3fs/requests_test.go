package s3fs

import (
	"bytes"
	"crypto/sha256"
	"net/http"
	"net/textproto"
	"os"
	"testing"

	"github.com/jlaffaye/ftp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ftpkit/ftpserver"
)

// TestSmallUploadRequests pins the requests a new small file costs S3: the checks that it is no
// directory, that its parent is one and which incomplete uploads the name has (HEAD of the
// parent's marker, two listings, sent together), then the PUT. Through the Fs and through STOR.
func TestSmallUploadRequests(t *testing.T) {
	t.Parallel()

	f, counter := newCountedFs(t)
	require.NoError(t, f.Mkdir("/dir", 0o755))

	conn := ftpLogin(t, newFTPServer(t, f))
	data := testData(4096, 7)

	cases := []struct {
		name string
		want map[string]int
		stor bool
	}{
		{"/dir/opened.bin", map[string]int{http.MethodHead: 1, http.MethodGet: 2, http.MethodPut: 1}, false},
		{"/dir/stored.bin", map[string]int{http.MethodHead: 1, http.MethodGet: 2, http.MethodPut: 1}, true},
		{"/top.bin", map[string]int{http.MethodGet: 2, http.MethodPut: 1}, true},
	}

	for _, tc := range cases {
		counter.take()

		if tc.stor {
			require.NoError(t, conn.Stor(tc.name, bytes.NewReader(data)))
		} else {
			file, err := f.OpenFile(tc.name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
			require.NoError(t, err)

			_, err = file.Write(data)
			require.NoError(t, err)
			require.NoError(t, file.Close())
		}

		assert.Equal(t, tc.want, counter.take(), tc.name)
		assert.Equal(t, sha256.Sum256(data), sha256.Sum256(getFile(t, f, tc.name)), tc.name)
	}
}

// TestListRequests pins the requests of LIST: the Stat of the directory (its incomplete
// uploads and a HEAD at once, then a one-key listing) and its Open, whose first page says the
// directory exists. A missing directory is refused, a file lists as itself.
func TestListRequests(t *testing.T) {
	t.Parallel()

	f, counter := newCountedFs(t)
	require.NoError(t, f.Mkdir("/dir", 0o755))

	for _, name := range []string{"/dir/a", "/dir/b", "/dir/c"} {
		putFile(t, f, name, []byte(name))
	}

	conn := ftpLogin(t, newFTPServer(t, f), ftp.DialWithDisabledMLSD(true)) // LIST, not MLSD
	counter.take()

	entries, err := conn.List("/dir")
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b", "c"}, entryNames(entries))
	assert.Equal(t, map[string]int{http.MethodHead: 2, http.MethodGet: 3}, counter.take())

	// ftpserver answers LIST of a missing path with 450, as ftpserverlib does.
	_, err = conn.List("/missing")

	var protoErr *textproto.Error
	require.ErrorAs(t, err, &protoErr)
	assert.Equal(t, ftpserver.StatusFileActionNotTaken, protoErr.Code)
	assert.Equal(t, "Could not list: no such file or directory", protoErr.Msg)

	entries, err = conn.List("/dir/b")
	require.NoError(t, err)
	assert.Equal(t, []string{"b"}, entryNames(entries))
}

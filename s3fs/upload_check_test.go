package s3fs

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ftpkit/ftpserver"
)

var errMarked = errors.New("marked content")

// checkedFs is an Fs with ftpserver.ClientDriverExtensionUploadCheck: it refuses uploads that
// contain "MARKER", and records the name each check read from and whether the target then
// already held the new bytes.
type checkedFs struct {
	*Fs

	received []string
	early    []string // targets that showed the upload's bytes before the check ended
}

func (c *checkedFs) CheckUpload(_ ftpserver.ClientContext, name string, received ftpserver.ReceivedUpload) error {
	content, err := readAll(c.Fs, received.Name)
	if err != nil {
		return err
	}

	c.received = append(c.received, received.Name)

	if current, err := readAll(c.Fs, name); err == nil && bytes.Equal(current, content) {
		c.early = append(c.early, name)
	}

	if bytes.Contains(content, []byte("MARKER")) {
		return errMarked
	}

	return nil
}

// readAll reads name of fsys whole.
func readAll(fsys *Fs, name string) ([]byte, error) {
	file, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer file.Close()

	return io.ReadAll(file)
}

// TestFTPUploadCheck: with ClientDriverExtensionUploadCheck, an upload to S3 is written under a
// temporary key, checked, and copied to its name only once accepted; a refused one never
// appears, the earlier object stays, and no temporary object or multipart upload is left.
func TestFTPUploadCheck(t *testing.T) {
	t.Parallel()

	fsys, gw, bucket := newTestFs(t, Options{})
	checked := &checkedFs{Fs: fsys}
	conn := ftpLogin(t, newFTPServer(t, checked))

	clean := bytes.Repeat([]byte("clean data "), 100_000)
	require.NoError(t, conn.Stor("/f.bin", bytes.NewReader(clean)))
	assert.Equal(t, sha256.Sum256(clean), sha256.Sum256(retrieve(t, conn, "/f.bin", 0)))

	marked := append(bytes.Repeat([]byte("x"), 300_000), "MARKER"...)
	err := conn.Stor("/f.bin", bytes.NewReader(marked))
	requireRefused(t, err, "Upload refused: "+errMarked.Error())
	assert.Equal(t, sha256.Sum256(clean), sha256.Sum256(retrieve(t, conn, "/f.bin", 0)), "the earlier object stays")

	err = conn.Stor("/new.bin", bytes.NewReader(marked))
	requireRefused(t, err, "Upload refused: "+errMarked.Error())

	_, err = fsys.Stat("/new.bin")
	require.ErrorIs(t, err, fs.ErrNotExist)

	require.Len(t, checked.received, 3)

	for _, name := range checked.received {
		assert.True(t, strings.HasPrefix(name, "/"+ftpserver.AtomicUploadPrefix), name)
	}

	assert.Empty(t, checked.early, "no upload showed under its name before its check")
	assert.Equal(t, []string{"f.bin"}, gw.Keys(t, bucket))
	assert.Zero(t, gw.PendingUploads(t, bucket))
}

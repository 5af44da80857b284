package ftpserver

import (
	"strings"
	"testing"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// uploadTempName finds the temporary file of the upload running in dir.
func uploadTempName(t *testing.T, fs afero.Fs, dir string) string {
	t.Helper()

	entries, err := afero.ReadDir(fs, dir)
	require.NoError(t, err)

	for _, entry := range entries {
		if strings.HasPrefix(entry.Name(), AtomicUploadPrefix) {
			return entry.Name()
		}
	}

	require.FailNow(t, "no temporary upload file in "+dir)

	return ""
}

// requireNoTempListed runs every listing of dir on rc, and STAT over the control connection,
// and requires them to show other names but no temporary upload file.
func requireNoTempListed(t *testing.T, rc *rawClient, dir, visible string) {
	t.Helper()

	for _, command := range []string{"LIST", "LIST -a", "NLST", "NLST -a", "MLSD"} {
		lines := rc.listing(command + " " + dir)
		joined := strings.Join(lines, "\n")
		assert.Contains(t, joined, visible, command)
		assert.NotContains(t, joined, AtomicUploadPrefix, command)
	}

	stat := rc.expect("STAT "+dir, StatusDirectoryStatus)
	assert.Contains(t, stat, visible)
	assert.NotContains(t, stat, AtomicUploadPrefix)
}

// requireTempAbsent requires every command naming the temporary file p to be answered as for
// a file that does not exist, and p to be left as it was.
func requireTempAbsent(t *testing.T, rc *rawClient, fs afero.Fs, p string) {
	t.Helper()

	before, err := afero.ReadFile(fs, p)
	require.NoError(t, err)

	for _, command := range []string{
		"RETR", "SIZE", "MDTM", "DELE", "RNFR", "MLST", "STAT", "LIST", "NLST", "MLSD", "CWD",
		"STOR", "APPE", "MKD", "RMD", "SITE CHMOD 600", "MFMT 20200101000000",
	} {
		assert.Equal(t, "Invalid path: no such file or directory", rc.expect(command+" "+p, StatusActionNotTaken),
			command)
	}

	// Also as the target of a rename, and through a relative name.
	rc.expect("RNFR /visible.txt", StatusFileActionPending)
	rc.expect("RNTO "+p, StatusActionNotTaken)
	rc.expect("CWD /", StatusFileOK)
	rc.expect("SIZE ."+p, StatusActionNotTaken)

	after, err := afero.ReadFile(fs, p)
	require.NoError(t, err)
	assert.Equal(t, sha256Hex(before), sha256Hex(after), "%s was changed", p)
}

// TestUploadTempsHidden checks that no client sees the temporary file of an atomic upload,
// neither one left behind by a crash nor one being written by another session: listings skip
// it and commands naming it get 550 as for a missing file.
func TestUploadTempsHidden(t *testing.T) {
	for _, fsys := range atomicFileSystems {
		t.Run(fsys.name, func(t *testing.T) {
			s := newAtomicServer(t, fsys.dir)
			fs := s.driver.fs

			require.NoError(t, fs.MkdirAll("/d", 0o755))
			require.NoError(t, writeFile(fs, "/visible.txt", []byte("visible")))
			require.NoError(t, writeFile(fs, "/d/x.txt", []byte("x")))

			stale := "/d/" + AtomicUploadPrefix + "0123456789abcdef"
			require.NoError(t, writeFile(fs, stale, []byte("partial data of a crashed upload")))

			uploader, other := s.rawLoggedIn(t), s.rawLoggedIn(t)
			other.expect("TYPE I", StatusOK)

			// An upload in progress: 150 is sent once its temporary file is open.
			data := uploader.pasv()
			uploader.expect("STOR /visible.txt", StatusFileStatusOK)

			content := testContent(200_000)
			_, err := data.Write(content[:100_000])
			require.NoError(t, err)

			running := "/" + uploadTempName(t, fs, "/")

			requireNoTempListed(t, other, "/", "visible.txt")
			requireNoTempListed(t, other, "/d", "x.txt")
			requireTempAbsent(t, other, fs, stale)
			requireTempAbsent(t, other, fs, running)

			_, err = data.Write(content[100_000:])
			require.NoError(t, err)
			require.NoError(t, data.Close())

			code, msg := uploader.read()
			require.Equal(t, StatusClosingDataConn, code, msg)

			got, code := other.retrRaw("/visible.txt")
			assert.Equal(t, StatusClosingDataConn, code)
			assert.Equal(t, sha256Hex(content), sha256Hex(got))
		})
	}
}

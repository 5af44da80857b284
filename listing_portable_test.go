package ftpserver

import (
	"testing"

	"github.com/jlaffaye/ftp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPortableListing lists a file that carries no system stat data, as every file does on
// Windows (listing_other.go) and as an in-memory file system's do everywhere: MLSD and MLST
// leave out unique, UNIX.owner and UNIX.group and keep the other facts, and LIST is the same
// line as on Unix. jlaffaye/ftp reads the MLSD entry as any client would.
func TestPortableListing(t *testing.T) {
	t.Parallel()

	s := newTestServer(t)
	require.NoError(t, writeFile(s.driver.fs, "/f.txt", []byte("hello")))

	rc := s.rawLoggedIn(t)
	rc.expect("OPTS MLST "+allMLSTFacts.String(), StatusOK)

	lines := rc.listing("MLSD")
	require.Len(t, lines, 2, "the directory and the file")

	for _, line := range lines {
		facts, name := mlsxFacts(t, line)
		assert.Regexp(t, `^0[0-7]{3}$`, facts["unix.mode"], name)

		for _, fact := range []string{"unique", "unix.owner", "unix.group"} {
			assert.NotContains(t, facts, fact, "%s: a fact that needs stat data", name)
		}
	}

	facts, name := mlsxFacts(t, lines[1])
	assert.Equal(t, "f.txt", name)
	assert.Equal(t, "file", facts["type"])
	assert.Equal(t, "5", facts["size"])

	list := rc.listing("LIST")
	require.Len(t, list, 1)
	assert.Regexp(t, `^-[rwx-]{9} 1 ftp ftp +5 \w{3} [ \d]\d [ \d]\d:?\d\d f\.txt$`, list[0])

	entries, err := s.dial(t).List("/")
	require.NoError(t, err)
	require.Len(t, entries, 2, "the directory and the file")
	assert.Equal(t, "f.txt", entries[1].Name)
	assert.Equal(t, ftp.EntryTypeFile, entries[1].Type)
	assert.Equal(t, uint64(5), entries[1].Size)
}

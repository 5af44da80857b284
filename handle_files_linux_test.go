//go:build linux

package ftpserver

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRETRDirectoryClosed refuses RETR of a directory on disk, which opens before it is
// refused, and keeps no descriptor of it open.
func TestRETRDirectoryClosed(t *testing.T) {
	const attempts = 50

	s := newTestServer(t, withOsFs(t))
	require.NoError(t, s.driver.fs.Mkdir("/dir", 0o755))

	rc := s.rawLoggedIn(t)
	rc.expect("NOOP", StatusOK)

	before := openDescriptors(t)

	for range attempts {
		assert.Equal(t, "Could not access file: is a directory", rc.expect("RETR /dir", StatusActionNotTaken))
	}

	assert.Less(t, openDescriptors(t)-before, attempts/2, "a descriptor left open by each refusal")
}

// openDescriptors counts the descriptors this process has open.
func openDescriptors(t *testing.T) int {
	t.Helper()

	entries, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)

	return len(entries)
}

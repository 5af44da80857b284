package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ftpkit/ftpserver"
)

// TestMaxHashSizeFlag: -max-hash-size becomes Settings.MaxHashSize, 0 lifting the limit, and a
// checksum longer than it is refused with 550 while a range within it is answered.
func TestMaxHashSizeFlag(t *testing.T) {
	t.Parallel()

	for _, tt := range []struct {
		args []string
		want int64
	}{
		{nil, ftpserver.DefaultMaxHashSize},
		{[]string{"-max-hash-size", "0"}, -1},
		{[]string{"-max-hash-size", "1000"}, 1000},
	} {
		settings, err := newTestDriver(t, tt.args...).GetSettings()
		require.NoError(t, err)
		assert.Equal(t, tt.want, settings.MaxHashSize, "%v", tt.args)
	}

	root := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(root, "f.txt"), make([]byte, 11), 0o600))

	srv := startRun(t, "-root", root, "-max-hash-size", "10")
	r := dialRaw(t, srv.addr)
	r.expect("USER test", 331)
	r.expect("PASS test", 230)

	assert.Equal(t, "Cannot hash /f.txt: 11 bytes to read, more than this server's limit of 10",
		r.expect("HASH f.txt", 550))
	r.expect("XSHA256 f.txt", 550)
	r.expect("XSHA256 f.txt 1", 250)
}

package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRunCPUProfile is not parallel: Go has one CPU profiler per process.
func TestRunCPUProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu.pprof")

	srv := startRun(t, "-cpuprofile", path)
	conn := login(t, srv.addr)
	data := randomBytes(t, 100_000)
	require.NoError(t, conn.Stor("/upload.bin", bytes.NewReader(data)))
	require.NoError(t, conn.Quit())
	require.NoError(t, srv.stop(t))

	// A CPU profile is a gzipped protocol buffer whose string table names its sample types.
	f, err := os.Open(path)
	require.NoError(t, err)

	defer func() { _ = f.Close() }()

	zr, err := gzip.NewReader(f)
	require.NoError(t, err, "the profile is gzipped")

	raw, err := io.ReadAll(zr)
	require.NoError(t, err)
	require.Contains(t, string(raw), "nanoseconds", "the profile's sample type is CPU time")
}

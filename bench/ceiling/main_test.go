package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ftpkit/ftpserver/bench/internal/cli"
)

func TestMeasure(t *testing.T) {
	t.Parallel()

	source := filepath.Join(t.TempDir(), "source.bin")
	require.NoError(t, os.WriteFile(source, make([]byte, 4*bufferSize), 0o600))

	for _, mode := range []string{modeTCP, modeSendfile, modeFile, modeTLS, modeTLSFile} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()

			dir := t.TempDir()
			// Not a multiple of the buffer size, so the last write is a short one.
			opts := &options{mode: mode, size: 3*bufferSize + 123, dir: dir, file: source}

			mbps, err := measure(opts)
			require.NoError(t, err)
			require.Positive(t, mbps)

			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			require.Empty(t, entries, "the received file is removed")
		})
	}
}

func TestParseFlags(t *testing.T) {
	t.Parallel()

	opts, err := parseFlags([]string{"-mode", "file", "-size", "10", "-dir", "/x"}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, &options{mode: modeFile, size: 10, dir: "/x"}, opts)

	_, err = measure(&options{mode: modeSendfile, size: 10, file: filepath.Join(t.TempDir(), "missing")})
	require.ErrorIs(t, err, os.ErrNotExist)

	for _, args := range [][]string{
		{"-mode", "udp"},
		{"-size", "0"},
		{"-mode", "file"},
		{"-mode", "tls-file"},
		{"-mode", "sendfile"},
		{"extra"},
		{"-nosuchflag"},
	} {
		_, err := parseFlags(args, io.Discard)
		require.ErrorIs(t, err, cli.ErrUsage, "%q", args)
	}
}

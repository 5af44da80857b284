package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// writeSmallFiles writes count files of size random bytes as root/small/001.bin and so on.
func writeSmallFiles(t *testing.T, root string, count, size int) {
	t.Helper()

	require.NoError(t, os.Mkdir(filepath.Join(root, "small"), 0o700))

	for i := 1; i <= count; i++ {
		content := make([]byte, size)
		_, err := rand.Read(content)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(root, "small", fmt.Sprintf("%03d.bin", i)), content, 0o600))
	}
}

// runFigure runs opts, checks that its figure is a positive number, and returns what it wrote on
// stderr.
func runFigure(t *testing.T, opts *options) string {
	t.Helper()

	var stderr bytes.Buffer

	value, err := run(opts, &stderr)
	require.NoError(t, err, "%s over %d connections", opts.scenario, opts.conns)

	figure, err := strconv.ParseFloat(value, 64)
	require.NoError(t, err)
	require.Positive(t, figure)

	return stderr.String()
}

func TestConns(t *testing.T) {
	t.Parallel()

	addr, drv := startServerDriver(t)
	root := drv.root

	const big = 2*bufferSize + 5

	content := make([]byte, big)
	_, err := rand.Read(content)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(root, "big.bin"), content, 0o600))
	writeSmallFiles(t, root, 11, 4096)
	require.NoError(t, os.Mkdir(filepath.Join(root, "up"), 0o700))

	for _, secure := range []bool{false, true} {
		base := options{addr: addr, user: "u", pass: "p", tls: secure, count: 1}

		// Each of 3 connections downloads the whole file; ftpload checks every size.
		opts := base
		opts.scenario, opts.path, opts.size, opts.conns = scenarioRETR, "big.bin", big, 3
		stderr := runFigure(t, &opts)
		require.Contains(t, stderr, "ftpload: 3 connections, each: min ")

		// 11 files over 4 connections: 3, 3, 3 and 2 files.
		opts = base
		opts.scenario, opts.path, opts.size, opts.count, opts.conns = scenarioSmall, "small/%03d.bin", 4096, 11, 4
		runFigure(t, &opts)

		// A size the files do not have fails on whichever connection sees it first.
		opts.size = 4095
		_, err = run(&opts, &bytes.Buffer{})
		require.ErrorIs(t, err, errCount)

		// Each connection uploads a file of its own.
		opts = base
		opts.scenario, opts.path, opts.size, opts.conns = scenarioSTOR, "up/big%d.bin", big, 3
		runFigure(t, &opts)
		requireSameFiles(t, filepath.Join(root, "up"), "big%d.bin", 3, big)

		// 7 uploads over 3 connections.
		opts = base
		opts.scenario, opts.path, opts.size, opts.count, opts.conns = scenarioSmallSTOR, "up/s%02d.bin", 4096, 7, 3
		runFigure(t, &opts)
		requireSameFiles(t, filepath.Join(root, "up"), "s%02d.bin", 7, 4096)
		require.NoFileExists(t, filepath.Join(root, "up", "s08.bin"))
	}
}

// requireSameFiles checks that dir holds count files named by pattern (from 1), each of size
// bytes and all with the same content, as ftpload uploads one block to every file.
func requireSameFiles(t *testing.T, dir, pattern string, count int, size int64) {
	t.Helper()

	var first [sha256.Size]byte

	for i := 1; i <= count; i++ {
		data, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf(pattern, i)))
		require.NoError(t, err)
		require.Len(t, data, int(size))

		sum := sha256.Sum256(data)
		if i == 1 {
			first = sum
		}

		require.Equal(t, first, sum, "file %d", i)
	}
}

func TestIdle(t *testing.T) {
	t.Parallel()

	addr, drv := startServerDriver(t)
	writeSmallFiles(t, drv.root, 6, 100)

	const idle = 40

	var atPause int32

	opts := options{
		addr: addr, user: "u", pass: "p", scenario: scenarioSmall, path: "small/%03d.bin",
		size: 100, count: 6, conns: 2, idle: idle,
		pause: func() error {
			atPause = drv.logins.Load()

			return nil
		},
	}
	runFigure(t, &opts)
	require.Equal(t, int32(idle), atPause, "the idle sessions are logged in before the work")
	require.Equal(t, int32(idle+2), drv.logins.Load())

	// The idle sessions are checked at the end: a server that cannot hold them all fails the run.
	var out bytes.Buffer

	require.NoError(t, waitForLine(&out, bytes.NewReader([]byte("go\n"))))
	require.Equal(t, "idle\n", out.String())
}

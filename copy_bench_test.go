package ftpserver

import (
	"io"
	"net"
	"os"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// BenchmarkUploadCopy compares the two ways an upload can reach a file: splice (io.Copy into
// an *os.File from a TCP connection) and a plain read/write loop through a large buffer. Set
// FTPKIT_BENCH_DIR to measure another file system than the temporary directory's (e.g.
// /dev/shm for tmpfs).
func BenchmarkUploadCopy(b *testing.B) {
	for _, tc := range []struct {
		name string
		buf  int
	}{{"splice", 0}, {"buffer_256KiB", 256 << 10}, {"buffer_1MiB", 1 << 20}, {"filled_1MiB", -(1 << 20)}} {
		b.Run(tc.name, func(b *testing.B) { benchmarkUploadCopy(b, tc.buf) })
	}
}

func benchmarkUploadCopy(b *testing.B, bufSize int) {
	b.Helper()

	const size = 256 << 20

	dir := os.Getenv("FTPKIT_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)

	defer listener.Close()

	payload := testContent(1 << 20)

	b.SetBytes(size)

	for b.Loop() {
		var wg sync.WaitGroup

		wg.Go(func() {
			conn, err := net.Dial("tcp", listener.Addr().String())
			if err != nil {
				return
			}

			defer conn.Close()

			for range size / len(payload) {
				if _, err := conn.Write(payload); err != nil {
					return
				}
			}
		})

		conn, err := listener.Accept()
		require.NoError(b, err)

		file, err := os.CreateTemp(dir, "upload-*")
		require.NoError(b, err)

		var n int64

		switch {
		case bufSize == 0:
			n, err = io.Copy(file, conn)
		case bufSize < 0:
			n, err = copyFilled(file, conn, make([]byte, -bufSize))
		default:
			n, err = io.CopyBuffer(struct{ io.Writer }{file}, struct{ io.Reader }{conn}, make([]byte, bufSize))
		}

		require.NoError(b, err)
		require.EqualValues(b, size, n)
		require.NoError(b, conn.Close())
		require.NoError(b, file.Close())
		require.NoError(b, os.Remove(file.Name())) //nolint:gosec // the benchmark's own temporary file
		wg.Wait()
	}
}

// copyFilled copies src to dst the way copyData does, through buf filled before each write.
func copyFilled(dst io.Writer, src io.Reader, buf []byte) (int64, error) {
	var total int64

	for {
		n, err := copyChunk(dst, src, buf)
		total += n

		if err != nil || n < int64(len(buf)) {
			return total, err
		}
	}
}

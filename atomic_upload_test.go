package ftpserver

import (
	"bytes"
	"net"
	"testing"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAtomicUploadReplaces(t *testing.T) {
	for _, fsys := range atomicFileSystems {
		t.Run(fsys.name, func(t *testing.T) {
			s := newAtomicServer(t, fsys.dir)

			fs := s.driver.fs
			require.NoError(t, fs.MkdirAll("/dir", 0o755))
			require.NoError(t, writeFile(fs, "/dir/f.bin", []byte("old content, longer than the new one")))

			conn := s.dial(t)
			data := testContent(300_000)
			require.NoError(t, conn.Stor("/dir/f.bin", bytes.NewReader(data)))
			requireContent(t, fs, "/dir/f.bin", data)

			// A new file too.
			require.NoError(t, conn.Stor("/dir/new.bin", bytes.NewReader(data[:10])))
			requireContent(t, fs, "/dir/new.bin", data[:10])

			// APPE and STOR after REST extend the file in place.
			require.NoError(t, conn.Append("/dir/new.bin", bytes.NewReader(data[10:20])))
			requireContent(t, fs, "/dir/new.bin", data[:20])
			require.NoError(t, conn.StorFrom("/dir/new.bin", bytes.NewReader(data[15:30]), 15))
			requireContent(t, fs, "/dir/new.bin", data[:30])

			requireNoUploadTemp(t, fs, "/dir")
		})
	}
}

func TestAtomicUploadOntoDirectory(t *testing.T) {
	for _, fsys := range atomicFileSystems {
		t.Run(fsys.name, func(t *testing.T) {
			s := newAtomicServer(t, fsys.dir)

			require.NoError(t, s.driver.fs.MkdirAll("/dir", 0o755))

			rc := s.rawLoggedIn(t)
			rc.pasv()
			rc.expect("STOR /dir", StatusActionNotTaken)
			requireNoUploadTemp(t, s.driver.fs, "/")
		})
	}
}

func TestAtomicUploadInterrupted(t *testing.T) {
	for _, fsys := range atomicFileSystems {
		t.Run(fsys.name, func(t *testing.T) {
			s := newAtomicServer(t, fsys.dir)

			fs := s.driver.fs
			old := testContent(5000)
			require.NoError(t, writeFile(fs, "/f.bin", old))

			rc := s.rawLoggedIn(t)
			data := rc.pasv()
			rc.expect("STOR /f.bin", StatusFileStatusOK)

			_, err := data.Write(bytes.Repeat([]byte("new"), 200_000))
			require.NoError(t, err)
			resetConn(t, data)

			code, msg := rc.read()
			assert.Equal(t, StatusTransferAborted, code, msg)

			requireContent(t, fs, "/f.bin", old)
			requireNoUploadTemp(t, fs, "/")

			// The session goes on: the next upload replaces the file.
			code, _ = rc.storeRaw("/f.bin", []byte("whole"))
			require.Equal(t, StatusClosingDataConn, code)
			requireContent(t, fs, "/f.bin", []byte("whole"))
			requireNoUploadTemp(t, fs, "/")
		})
	}
}

func TestAtomicUploadConcurrent(t *testing.T) {
	for _, fsys := range atomicFileSystems {
		t.Run(fsys.name, func(t *testing.T) {
			s := newAtomicServer(t, fsys.dir)

			const size = 1 << 20

			first := bytes.Repeat([]byte{'a'}, size)
			second := bytes.Repeat([]byte{'b'}, size)
			clients := []*rawClient{s.rawLoggedIn(t), s.rawLoggedIn(t)}
			conns := make([]net.Conn, len(clients))

			for i, rc := range clients {
				conns[i] = rc.pasv()
				rc.expect("STOR /same.bin", StatusFileStatusOK)
			}

			// Both uploads are open at once and their halves interleave: written in place, the
			// file would end up a mix of both.
			for half := range 2 {
				for i, content := range [][]byte{first, second} {
					_, err := conns[i].Write(content[half*size/2 : (half+1)*size/2])
					require.NoError(t, err)
				}
			}

			for i, rc := range clients {
				require.NoError(t, conns[i].Close())

				code, msg := rc.read()
				require.Equal(t, StatusClosingDataConn, code, msg)
			}

			got, err := afero.ReadFile(s.driver.fs, "/same.bin")
			require.NoError(t, err)
			assert.True(t, bytes.Equal(got, first) || bytes.Equal(got, second),
				"the file is not one whole upload: %d bytes, %d a, %d b", len(got),
				bytes.Count(got, []byte{'a'}), bytes.Count(got, []byte{'b'}))
			requireNoUploadTemp(t, s.driver.fs, "/")
		})
	}
}

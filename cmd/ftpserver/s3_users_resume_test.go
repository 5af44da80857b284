package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ftpkit/ftpserver/s3fs"
)

// TestRunUsersOnS3ResumeAfterReset breaks a user's upload with a reset once its first part is in
// S3: the home's file system must pass the break on to s3fs, which keeps the part instead of
// completing the object with what arrived. SIZE then gives the part's end, RETR finds nothing,
// and APPE of the rest makes the whole file. Over a path prefix that hides s3fs's files, the
// reset would end as a complete object of the bytes received.
func TestRunUsersOnS3ResumeAfterReset(t *testing.T) {
	gw, bucket, users := newS3Home(t)
	srv := startRun(t, "-s3-endpoint", gw.Endpoint, "-s3-bucket", bucket, "-users", users)

	const partSize = s3fs.DefaultPartSize // the bundled server's

	data := randomBytes(t, partSize+partSize/2)
	watcher := loginAs(t, srv.addr, "alice", "pw")

	control := loginText(t, srv.addr, "alice", "pw")
	code, msg := textCmd(t, control, "EPSV")
	require.Equal(t, 229, code, msg)

	var port int

	_, err := fmt.Sscanf(msg[bytes.IndexByte([]byte(msg), '('):], "(|||%d|)", &port)
	require.NoError(t, err, msg)

	host, _, err := net.SplitHostPort(srv.addr)
	require.NoError(t, err)

	dataConn, err := net.DialTimeout("tcp", net.JoinHostPort(host, fmt.Sprint(port)), startTimeout)
	require.NoError(t, err)

	code, msg = textCmd(t, control, "STOR /big.bin")
	require.Equal(t, 150, code, msg)

	_, err = dataConn.Write(data)
	require.NoError(t, err)

	// The first part is sent once a byte after it has come; SIZE shows it when it is in S3.
	deadline := time.Now().Add(30 * time.Second)

	for {
		size, sizeErr := watcher.FileSize("/big.bin")
		if sizeErr == nil && size == partSize {
			break
		}

		require.True(t, time.Now().Before(deadline), "the first part never reached S3 (SIZE %d, %v)", size, sizeErr)
		time.Sleep(50 * time.Millisecond)
	}

	tcp, ok := dataConn.(*net.TCPConn)
	require.True(t, ok)
	require.NoError(t, tcp.SetLinger(0))
	require.NoError(t, tcp.Close())

	code, msg, err = control.ReadResponse(0)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, code, 400, "the reset upload must fail: %d %s", code, msg)

	size, err := watcher.FileSize("/big.bin")
	require.NoError(t, err)
	require.Equal(t, int64(partSize), size, "SIZE after the reset: the part kept, not an object of what arrived")

	_, err = retrieve(watcher, "/big.bin")
	require.Error(t, err, "no object before the upload completes")

	require.NoError(t, watcher.Append("/big.bin", bytes.NewReader(data[size:])))
	assert.Equal(t, sha256.Sum256(data), download(t, watcher, "/big.bin"))
	assert.Contains(t, gw.Keys(t, bucket), "alice/big.bin")
	assert.Zero(t, gw.PendingUploads(t, bucket))
}

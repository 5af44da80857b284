package main

import (
	"net/textproto"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRunS3ListIncomplete checks -s3-list-incomplete through a -users home: a file with only an
// incomplete upload shows in LIST at its resumable size, and RETR of it says that its upload
// can be resumed; without the flag LIST shows objects only. It sets the AWS environment
// variables, so it cannot run in parallel.
func TestRunS3ListIncomplete(t *testing.T) {
	const partSize = 5 << 20

	gw, bucket, users := newS3Home(t)
	gw.StartUpload(t, bucket, "alice/broken.bin", randomBytes(t, partSize))

	for _, on := range []bool{false, true} {
		args := []string{"-s3-endpoint", gw.Endpoint, "-s3-bucket", bucket, "-users", users}
		if on {
			args = append(args, "-s3-list-incomplete")
		}

		srv := startRun(t, args...)
		conn := loginAs(t, srv.addr, "alice", "pw")

		entries, err := conn.List("/")
		require.NoError(t, err)

		var names []string

		for _, entry := range entries {
			if entry.Name == "." { // MLSD's own entry
				continue
			}

			names = append(names, entry.Name)

			if entry.Name == "broken.bin" {
				assert.Equal(t, uint64(partSize), entry.Size, "the resumable size")
			}
		}

		if !on {
			assert.Empty(t, names, "without -s3-list-incomplete: objects only")
			require.NoError(t, srv.stop(t))

			continue
		}

		assert.Equal(t, []string{"broken.bin"}, names)

		_, err = retrieve(conn, "/broken.bin")

		var protoErr *textproto.Error
		require.ErrorAs(t, err, &protoErr)
		assert.Equal(t, 550, protoErr.Code)
		assert.Contains(t, protoErr.Msg, "the upload of this file is incomplete; resume it")
		assert.Contains(t, protoErr.Msg, "5242880 bytes so far")
		require.NoError(t, srv.stop(t))
	}

	assert.Equal(t, 1, gw.PendingUploads(t, bucket), "listing and RETR leave the upload")
}

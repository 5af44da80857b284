package main

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBundledServerExtensions(t *testing.T) {
	t.Parallel()

	root := t.TempDir()
	content := []byte("ftpkit bundled server\n")
	require.NoError(t, os.WriteFile(filepath.Join(root, "f.txt"), content, 0o600))

	srv := startRun(t, "-root", root, "-hosts", "ftp.example.com,files.example.com")
	r := dialRaw(t, srv.addr)

	feat := r.expect("FEAT", 211)
	for _, want := range []string{"HASH SHA-256*", "MODE Z", "COMB", "AVBL", "HOST", "MLST"} {
		assert.Contains(t, feat, want)
	}

	r.expect("HOST unknown.example.com", 504)
	r.expect("HOST FTP.example.com", 220)
	r.expect("USER test", 331)
	r.expect("PASS test", 230)

	sha := sha256.Sum256(content)
	want := fmt.Sprintf("SHA-256 0-%d %s f.txt", len(content)-1, hex.EncodeToString(sha[:]))
	assert.Equal(t, want, r.expect("HASH f.txt", 213))

	r.expect("OPTS HASH SHA-512", 200)
	sum512 := sha512.Sum512(content[7:])
	assert.Contains(t, r.expect("XSHA512 f.txt 7", 250), hex.EncodeToString(sum512[:]))
	assert.Equal(t, fmt.Sprintf("%08x", crc32.ChecksumIEEE(content)), r.expect("XCRC f.txt", 250))

	space, err := strconv.ParseInt(r.expect("AVBL", 213), 10, 64)
	require.NoError(t, err)
	assert.Positive(t, space)

	r.expect("MODE Z", 200)
	r.expect("MODE S", 200)
}

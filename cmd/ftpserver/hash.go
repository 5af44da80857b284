package main

import (
	"crypto/md5"  //nolint:gosec // MD5 is one of the digests clients ask HASH for, not a security choice
	"crypto/sha1" //nolint:gosec // as MD5
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"

	"github.com/ftpkit/ftpserver"
)

var errUnknownAlgorithm = errors.New("unknown hash algorithm")

// ComputeHash answers HASH and the X* checksum commands: it reads the file's range through the
// hash, a buffer at a time.
func (c *clientDriver) ComputeHash(name string, algo ftpserver.HASHAlgo, start, end int64) (string, error) {
	h, err := newHash(algo)
	if err != nil {
		return "", err
	}

	file, err := c.Open(name)
	if err != nil {
		return "", fmt.Errorf("hash: %w", err)
	}

	defer file.Close()

	if _, err := file.Seek(start, io.SeekStart); err != nil {
		return "", fmt.Errorf("hash: %w", err)
	}

	if _, err := io.CopyN(h, file, end-start); err != nil {
		return "", fmt.Errorf("hash: %w", err)
	}

	return hex.EncodeToString(h.Sum(nil)), nil
}

// newHash returns the hash of algo.
func newHash(algo ftpserver.HASHAlgo) (hash.Hash, error) {
	switch algo {
	case ftpserver.HASHAlgoCRC32:
		return crc32.NewIEEE(), nil
	case ftpserver.HASHAlgoMD5:
		return md5.New(), nil //nolint:gosec // see the import
	case ftpserver.HASHAlgoSHA1:
		return sha1.New(), nil //nolint:gosec // see the import
	case ftpserver.HASHAlgoSHA256:
		return sha256.New(), nil
	case ftpserver.HASHAlgoSHA512:
		return sha512.New(), nil
	default:
		return nil, fmt.Errorf("%w: %d", errUnknownAlgorithm, algo)
	}
}

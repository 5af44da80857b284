package main

import (
	"encoding/hex"
	"fmt"
	"io"

	"github.com/ftpkit/ftpserver"
)

// ComputeHash answers HASH and the X* checksum commands: it reads the file's range through the
// hash, a buffer at a time.
func (c *clientDriver) ComputeHash(name string, algo ftpserver.HASHAlgo, start, end int64) (string, error) {
	h, err := ftpserver.NewHash(algo)
	if err != nil {
		return "", fmt.Errorf("hash: %w", err)
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

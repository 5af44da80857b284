package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
)

// errSeek reports a seek to a negative position or with an unknown whence.
var errSeek = errors.New("invalid seek")

// pattern is size bytes made of one block repeated: an upload's body from memory, seekable and
// readable at any offset, so that the SDK neither copies nor buffers it (its uploader cuts a
// seekable body into sections, and its checksums rewind it).
type pattern struct {
	block []byte
	size  int64
	pos   int64
}

var (
	_ io.ReadSeeker = (*pattern)(nil)
	_ io.ReaderAt   = (*pattern)(nil)
)

// newPattern returns size bytes of a random block of bufferSize bytes (or of size, if smaller).
func newPattern(size int64) (*pattern, error) {
	block := make([]byte, max(1, min(size, bufferSize)))
	if _, err := rand.Read(block); err != nil {
		return nil, fmt.Errorf("random bytes: %w", err)
	}

	return newPatternOf(block, size)
}

// newPatternOf returns size bytes of block repeated.
func newPatternOf(block []byte, size int64) (*pattern, error) {
	if len(block) == 0 && size > 0 {
		return nil, errors.New("an empty block cannot fill a body")
	}

	return &pattern{block: block, size: size}, nil
}

// ReadAt reads the bytes at off, with io.EOF when the pattern ends first.
func (p *pattern) ReadAt(dst []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errSeek
	}

	n := 0

	for n < len(dst) && off < p.size {
		in := off % int64(len(p.block))
		copied := copy(dst[n:min(len(dst), n+int(p.size-off))], p.block[in:])
		n += copied
		off += int64(copied)
	}

	if n < len(dst) {
		return n, io.EOF
	}

	return n, nil
}

// Read reads from the current position.
func (p *pattern) Read(dst []byte) (int, error) {
	n, err := p.ReadAt(dst, p.pos)
	p.pos += int64(n)

	if errors.Is(err, io.EOF) && n > 0 {
		err = nil
	}

	return n, err
}

// Seek sets the position of the next Read.
func (p *pattern) Seek(offset int64, whence int) (int64, error) {
	pos := offset

	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		pos += p.pos
	case io.SeekEnd:
		pos += p.size
	default:
		return 0, errSeek
	}

	if pos < 0 {
		return 0, errSeek
	}

	p.pos = pos

	return pos, nil
}

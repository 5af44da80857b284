package main

import (
	"github.com/spf13/afero"

	"github.com/ftpkit/ftpserver"
)

// The optional interfaces of afero for symbolic links, as bits of a set.
const (
	linkLstat    = 1 << iota // afero.Lstater: DELE and RNFR act on a link, not on what it names
	linkSymlink              // afero.Linker
	linkReadlink             // afero.LinkReader
)

// linkSet returns the link interfaces fs implements.
func linkSet(fs afero.Fs) int {
	set := 0

	if _, ok := fs.(afero.Lstater); ok {
		set |= linkLstat
	}

	if _, ok := fs.(afero.Linker); ok {
		set |= linkSymlink
	}

	if _, ok := fs.(afero.LinkReader); ok {
		set |= linkReadlink
	}

	return set
}

// withLinks returns c as the ClientDriver the library sees: c, plus each link interface that
// both c.Fs and storage (the back-end under any afero layer c.Fs adds) implement. The library
// finds optional behaviour by type assertion, so c alone, embedding only afero.Fs, would hide
// them; and an afero layer (BasePathFs, ReadOnlyFs) claims them all whatever it wraps, so
// storage says which the files really have.
func (c *clientDriver) withLinks(storage afero.Fs) ftpserver.ClientDriver {
	lstater, _ := c.Fs.(afero.Lstater)
	linker, _ := c.Fs.(afero.Linker)
	reader, _ := c.Fs.(afero.LinkReader)

	switch linkSet(c.Fs) & linkSet(storage) {
	case linkLstat:
		return struct {
			*clientDriver
			afero.Lstater
		}{c, lstater}
	case linkSymlink:
		return struct {
			*clientDriver
			afero.Linker
		}{c, linker}
	case linkReadlink:
		return struct {
			*clientDriver
			afero.LinkReader
		}{c, reader}
	case linkLstat | linkSymlink:
		return struct {
			*clientDriver
			afero.Lstater
			afero.Linker
		}{c, lstater, linker}
	case linkLstat | linkReadlink:
		return struct {
			*clientDriver
			afero.Lstater
			afero.LinkReader
		}{c, lstater, reader}
	case linkSymlink | linkReadlink:
		return struct {
			*clientDriver
			afero.Linker
			afero.LinkReader
		}{c, linker, reader}
	case linkLstat | linkSymlink | linkReadlink:
		return struct {
			*clientDriver
			afero.Lstater
			afero.Linker
			afero.LinkReader
		}{c, lstater, linker, reader}
	default:
		return c
	}
}

// base returns c itself, whichever link interfaces withLinks added around it.
func (c *clientDriver) base() *clientDriver {
	return c
}

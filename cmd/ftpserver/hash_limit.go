package main

import (
	"errors"
	"flag"
	"strconv"

	"github.com/ftpkit/ftpserver"
)

var errNegativeHashSize = errors.New("negative size (0 lifts the limit)")

// registerHashFlags adds -max-hash-size, the library's MaxHashSize: how many bytes one HASH or
// X* checksum may read. Its 0 lifts the limit, as the other limits' 0 does here.
func registerHashFlags(flags *flag.FlagSet, cfg *config) {
	cfg.maxHashSize = ftpserver.DefaultMaxHashSize

	flags.Func("max-hash-size", "hash at most `BYTES` in one HASH, XCRC, XMD5 or XSHA*, a longer file or range "+
		"refused with 550; 0: no limit (default 17179869184, 16 GiB)", func(v string) error {
		size, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return err //nolint:wrapcheck // the flag package names the flag and the value
		}

		if size < 0 {
			return errNegativeHashSize
		}

		cfg.maxHashSize = size

		return nil
	})
}

// maxHashSizeSetting is -max-hash-size as Settings.MaxHashSize takes it, where 0 means the
// default and a negative size no limit.
func (cfg *config) maxHashSizeSetting() int64 {
	if cfg.maxHashSize == 0 {
		return -1
	}

	return cfg.maxHashSize
}

package main

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-kit/log"

	"github.com/ftpkit/ftpserver"
)

// Defaults of the -upload-check flags.
const (
	defaultUploadCheckTimeout = 5 * time.Minute
	defaultUploadCheckMaxCopy = 1 << 30 // bytes
)

var errEmptyCommand = errors.New("no program named")

// trustOptions are the flags that decide which uploads are kept: -tls-require-close-notify and
// the -upload-check command.
type trustOptions struct {
	requireCloseNotify bool
	check              []string      // the program and its first arguments; nil: no check
	checkTimeout       time.Duration // 0: none
	checkMaxCopy       int64         // the largest upload copied to a local file for the check
	logger             log.Logger    // why a check could not run; nil: not logged
}

// registerTrustFlags adds -tls-require-close-notify, -upload-check, -upload-check-timeout and
// -upload-check-max-copy.
func registerTrustFlags(flags *flag.FlagSet, opts *trustOptions) {
	opts.checkTimeout = defaultUploadCheckTimeout
	opts.checkMaxCopy = defaultUploadCheckMaxCopy

	flags.BoolVar(&opts.requireCloseNotify, "tls-require-close-notify", true,
		"refuse (426) an upload over a protected data connection that ends without the client's TLS close_notify, "+
			"which may have been cut short; false for clients that never send it")
	flags.Func("upload-check", "run `COMMAND` on each upload before it appears: its words split at spaces, no shell, "+
		"the received file's path added as the last argument; a non-zero exit refuses the upload (550, with the "+
		"first line the command printed)", func(v string) error {
		opts.check = strings.Fields(v)
		if len(opts.check) == 0 {
			return errEmptyCommand
		}

		return nil
	})
	flags.DurationVar(&opts.checkTimeout, "upload-check-timeout", defaultUploadCheckTimeout,
		"stop an -upload-check command after `DURATION` and refuse its upload; 0: no limit")
	flags.Func("upload-check-max-copy", "largest upload, in `BYTES`, that -upload-check copies to a local temporary "+
		"file when the back-end has none (memory, -s3-bucket); a larger one is refused with 552 (default "+
		strconv.Itoa(defaultUploadCheckMaxCopy)+")", func(v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err == nil && n < 0 {
			err = errNegative
		}

		opts.checkMaxCopy = n

		return err
	})
}

// validate checks what the flag package cannot.
func (opts *trustOptions) validate() error {
	if opts.checkTimeout < 0 {
		return fmt.Errorf("-upload-check-timeout: %w", errNegative)
	}

	return nil
}

// apply sets the library's settings for the flags.
func (opts *trustOptions) apply(settings *ftpserver.Settings) {
	settings.TLSCloseNotify = ftpserver.CloseNotifyOptional
	if opts.requireCloseNotify {
		settings.TLSCloseNotify = ftpserver.CloseNotifyRequired
	}
}

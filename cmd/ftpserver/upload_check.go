package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
	"unicode"

	"github.com/go-kit/log/level"
	"github.com/spf13/afero"

	"github.com/ftpkit/ftpserver"
)

// maxCheckReply bounds the text of the command's output quoted in the reply.
const maxCheckReply = 200

// maxCheckOutput bounds what is kept of the command's output, of which only the first line is
// used.
const maxCheckOutput = 4 << 10

var (
	errCheckTimeout     = errors.New("upload check timed out")
	errCheckUnavailable = errors.New("upload check could not run")
	errCheckFailed      = errors.New("upload refused by the upload check")
	errTooLargeToCheck  = fmt.Errorf("%w: too large for the upload check", ftpserver.ErrStorageExceeded)
)

// checkedDriver is a user's ClientDriver with -upload-check: the check runs the command on each
// upload (ftpserver.ClientDriverExtensionUploadCheck). It embeds the clientDriver, whose
// extensions it keeps; of the link interfaces withLinks passes on, the library uses only
// afero.Lstater (SITE SYMLINK goes through clientDriver.Symlink), which checkedLstatDriver adds.
type checkedDriver struct {
	*clientDriver

	opts *trustOptions
}

// checkedLstatDriver is a checkedDriver whose files can tell links apart.
type checkedLstatDriver struct {
	*checkedDriver
	afero.Lstater
}

// checked returns linked, the ClientDriver of a session, with the -upload-check command when
// one is set.
func (d *driver) checked(linked ftpserver.ClientDriver) ftpserver.ClientDriver {
	if d.cfg.trust.check == nil {
		return linked
	}

	base, ok := linked.(interface{ base() *clientDriver })
	if !ok {
		return linked
	}

	checked := &checkedDriver{clientDriver: base.base(), opts: &d.cfg.trust}
	if lstater, ok := linked.(afero.Lstater); ok {
		return checkedLstatDriver{checkedDriver: checked, Lstater: lstater}
	}

	return checked
}

// CheckUpload implements ftpserver.ClientDriverExtensionUploadCheck: it runs the command with
// the received file's local path as its last argument. A file of the local file system is
// passed as it is, open, as /dev/fd/3 (except on Windows); any other (memory, S3) is copied to
// a temporary local file first, up to -upload-check-max-copy.
func (c *checkedDriver) CheckUpload(_ ftpserver.ClientContext, name string, received ftpserver.ReceivedUpload) error {
	file, err := received.Open()
	if err != nil {
		return c.unavailable(err)
	}
	defer file.Close()

	local, extra, cleanup, err := c.localCopy(file)
	if err != nil {
		return err
	}
	defer cleanup()

	return c.run(name, local, extra)
}

// localCopy returns a local path to file's bytes, the open files the command inherits for it,
// and what removes what it made.
func (c *checkedDriver) localCopy(file afero.File) (string, []*os.File, func(), error) {
	// Windows passes no open file but the standard ones to a child.
	if osFile, ok := unwrapBasePath(file).(*os.File); ok && runtime.GOOS != "windows" {
		return "/dev/fd/3", []*os.File{osFile}, func() {}, nil
	}

	spool, err := os.CreateTemp("", "ftpkit-check-")
	if err != nil {
		return "", nil, nil, c.unavailable(err)
	}

	cleanup := func() {
		_ = spool.Close()
		_ = os.Remove(spool.Name())
	}

	n, err := io.Copy(spool, io.LimitReader(file, c.opts.checkMaxCopy+1))

	switch {
	case err != nil:
		err = c.unavailable(err)
	case n > c.opts.checkMaxCopy:
		err = errTooLargeToCheck
	}

	if err != nil {
		cleanup()

		return "", nil, nil, err
	}

	return spool.Name(), nil, cleanup, nil
}

// unwrapBasePath reaches the file under afero's BasePathFs layers.
func unwrapBasePath(file afero.File) afero.File {
	for {
		wrapped, ok := file.(*afero.BasePathFile)
		if !ok {
			return file
		}

		file = wrapped.File
	}
}

// run runs the command on path; a non-zero exit refuses the upload of name.
func (c *checkedDriver) run(name, path string, extra []*os.File) error {
	ctx := context.Background()

	if c.opts.checkTimeout > 0 {
		var cancel context.CancelFunc

		ctx, cancel = context.WithTimeout(ctx, c.opts.checkTimeout)
		defer cancel()
	}

	args := append(append([]string{}, c.opts.check[1:]...), path)
	cmd := exec.CommandContext(ctx, c.opts.check[0], args...) //nolint:gosec // G204: the administrator's command
	cmd.ExtraFiles = extra
	cmd.Env = append(os.Environ(), "FTP_UPLOAD_PATH="+name)
	// Output of a child the command left running is not waited for beyond this.
	cmd.WaitDelay = time.Second

	var stdout, stderr boundedBuffer

	cmd.Stdout, cmd.Stderr = &stdout, &stderr

	err := cmd.Run()

	var exitErr *exec.ExitError

	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return errCheckTimeout
	case errors.As(err, &exitErr):
		if text := firstLine(stderr.String(), stdout.String()); text != "" {
			return errors.New(text) // the command's own words, as the reply's text
		}

		return fmt.Errorf("%w (exit status %d)", errCheckFailed, exitErr.ExitCode())
	default:
		return c.unavailable(err)
	}
}

// unavailable logs why the check could not run, and returns the refusal the client sees, which
// names no program or local path.
func (c *checkedDriver) unavailable(err error) error {
	if c.opts.logger != nil {
		_ = level.Error(c.opts.logger).Log("event", "upload_check_failed", "err", err)
	}

	return errCheckUnavailable
}

// firstLine returns the first non-blank line of the outputs, in order, bounded and with its
// control characters replaced, fit for a reply.
func firstLine(outputs ...string) string {
	for _, out := range outputs {
		for line := range strings.Lines(out) {
			line = strings.Map(func(r rune) rune {
				if unicode.IsControl(r) {
					return ' '
				}

				return r
			}, line)

			line = strings.TrimSpace(line)
			if line == "" {
				continue
			}

			if len(line) > maxCheckReply {
				line = strings.ToValidUTF8(line[:maxCheckReply], "") + "..."
			}

			return line
		}
	}

	return ""
}

// boundedBuffer keeps the first maxCheckOutput bytes written to it and drops the rest.
type boundedBuffer struct {
	bytes.Buffer
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	if room := maxCheckOutput - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(room, len(p))])
	}

	return len(p), nil
}

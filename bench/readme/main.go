// Command readme puts a benchmark report into a Markdown file between two marker lines, so that
// bench/readme.sh can regenerate the README's benchmark section and leave the prose around it as
// it is:
//
//	readme -file README.md -report report.md
//
// The file must hold the begin marker and, after it, the end marker, each once and each alone on
// its line. Everything between them is replaced by a note saying which command wrote it and the
// report; the markers and everything outside them are kept byte for byte. The file is written
// to a temporary file beside it and renamed over it, so that a failure leaves it as it was.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Default markers: HTML comments, which Markdown renderers do not show.
const (
	defaultBegin = "<!-- bench:start -->"
	defaultEnd   = "<!-- bench:end -->"
)

// generatedNote opens the block, so that a reader of the Markdown source knows not to edit it.
const generatedNote = "<!-- Written by bench/readme.sh from bench/compare.sh's report; edit those, not this. -->\n"

// Errors about the markers.
var (
	errNoMarker      = errors.New("marker not found")
	errManyMarkers   = errors.New("marker found more than once")
	errMarkersOrder  = errors.New("end marker before begin marker")
	errEmptyReport   = errors.New("the report is empty")
	errMarkerInsider = errors.New("the report holds a marker")
)

// options is the parsed command line.
type options struct {
	file, report string
	begin, end   string
}

func main() {
	opts, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		os.Exit(2)
	}

	if err := run(opts); err != nil {
		fmt.Fprintln(os.Stderr, "readme:", err)
		os.Exit(1)
	}
}

// parseFlags reads the command line, printing the error and the usage to stderr on an error.
func parseFlags(args []string, stderr io.Writer) (*options, error) {
	opts := &options{}
	flags := flag.NewFlagSet("readme", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.StringVar(&opts.file, "file", "README.md", "the Markdown `FILE` to update")
	flags.StringVar(&opts.report, "report", "", "the report `FILE` to put between the markers")
	flags.StringVar(&opts.begin, "begin", defaultBegin, "the `line` that opens the generated block")
	flags.StringVar(&opts.end, "end", defaultEnd, "the `line` that closes the generated block")

	if err := flags.Parse(args); err != nil {
		return nil, fmt.Errorf("parsing the command line: %w", err)
	}

	if opts.report == "" || flags.NArg() > 0 {
		fmt.Fprintln(stderr, "readme: -report is required, and no argument is")
		flags.Usage()

		return nil, errors.New("invalid command line")
	}

	return opts, nil
}

// run reads the file and the report, splices them and replaces the file.
func run(opts *options) error {
	doc, err := os.ReadFile(opts.file)
	if err != nil {
		return fmt.Errorf("reading the file: %w", err)
	}

	report, err := os.ReadFile(opts.report)
	if err != nil {
		return fmt.Errorf("reading the report: %w", err)
	}

	out, err := splice(doc, report, opts.begin, opts.end)
	if err != nil {
		return fmt.Errorf("%s: %w", opts.file, err)
	}

	return replaceFile(opts.file, out)
}

// splice returns doc with the lines between the begin and end marker lines replaced by the
// generated note and report, which gets a final newline if it lacks one and a blank line on
// either side, so that Markdown sees its tables as blocks of their own.
func splice(doc, report []byte, begin, end string) ([]byte, error) {
	report = bytes.TrimSpace(report)
	if len(report) == 0 {
		return nil, errEmptyReport
	}

	if bytes.Contains(report, []byte(begin)) || bytes.Contains(report, []byte(end)) {
		return nil, errMarkerInsider
	}

	beginAt, blockStart, err := markerLine(doc, begin)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", begin, err)
	}

	endAt, _, err := markerLine(doc, end)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", end, err)
	}

	if endAt < beginAt {
		return nil, errMarkersOrder
	}

	var out bytes.Buffer

	out.Grow(len(doc) + len(report))
	out.Write(doc[:blockStart])
	out.WriteString(generatedNote)
	out.WriteByte('\n')
	out.Write(report)
	out.WriteString("\n\n")
	out.Write(doc[endAt:])

	return out.Bytes(), nil
}

// markerLine returns where the one line of doc that is exactly marker (a trailing carriage
// return aside) starts, and where the line after it starts. The marker line must end with a
// newline: the block starts after the begin line's.
func markerLine(doc []byte, marker string) (start, next int, err error) {
	start, next = -1, -1

	for offset := 0; offset < len(doc); {
		i := bytes.IndexByte(doc[offset:], '\n')
		if i < 0 {
			// The last line, with no newline after it.
			break
		}

		line := bytes.TrimSuffix(doc[offset:offset+i], []byte("\r"))
		if string(line) == marker {
			if start >= 0 {
				return 0, 0, errManyMarkers
			}

			start, next = offset, offset+i+1
		}

		offset += i + 1
	}

	if start < 0 {
		return 0, 0, errNoMarker
	}

	return start, next, nil
}

// replaceFile writes data to a temporary file in path's directory, with path's permissions, and
// renames it over path.
func replaceFile(path string, data []byte) error {
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("reading the file's mode: %w", err)
	}

	tmp, err := os.CreateTemp(filepath.Dir(path), ".readme-*")
	if err != nil {
		return fmt.Errorf("creating a temporary file: %w", err)
	}

	defer func() { _ = os.Remove(tmp.Name()) }()

	_, err = tmp.Write(data)
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}

	if err != nil {
		return fmt.Errorf("writing the temporary file: %w", err)
	}

	if err := os.Chmod(tmp.Name(), info.Mode().Perm()); err != nil {
		return fmt.Errorf("setting the temporary file's mode: %w", err)
	}

	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("replacing the file: %w", err)
	}

	return nil
}

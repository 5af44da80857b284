package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

const (
	prose = "# Title\n\nProse before.\n\n"
	after = "\nProse after, kept.\n"
)

func TestRunReplacesTheBlock(t *testing.T) {
	t.Parallel()

	dir := t.TempDir()
	file := filepath.Join(dir, "README.md")
	report := filepath.Join(dir, "report.md")
	old := prose + defaultBegin + "\nold table\n| a | b |\n" + defaultEnd + "\n" + after
	require.NoError(t, os.WriteFile(file, []byte(old), 0o640))
	require.NoError(t, os.WriteFile(report, []byte("\n- Machine: 2 cores\n\n| x | y |\n| --- | --- |\n"), 0o600))

	require.NoError(t, run(&options{file: file, report: report, begin: defaultBegin, end: defaultEnd}))

	got, err := os.ReadFile(file)
	require.NoError(t, err)
	require.Equal(t, prose+defaultBegin+"\n"+generatedNote+"\n- Machine: 2 cores\n\n| x | y |\n| --- | --- |\n\n"+
		defaultEnd+"\n"+after, string(got))

	info, err := os.Stat(file)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o640), info.Mode().Perm(), "the file keeps its mode")

	// A second run with the same report changes nothing.
	require.NoError(t, run(&options{file: file, report: report, begin: defaultBegin, end: defaultEnd}))
	again, err := os.ReadFile(file)
	require.NoError(t, err)
	require.Equal(t, string(got), string(again))

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 2, "no temporary file is left")
}

func TestSpliceKeepsCRLFMarkers(t *testing.T) {
	t.Parallel()

	doc := "a\r\n" + defaultBegin + "\r\nold\r\n" + defaultEnd + "\r\nb\r\n"
	got, err := splice([]byte(doc), []byte("new"), defaultBegin, defaultEnd)
	require.NoError(t, err)
	require.Equal(t, "a\r\n"+defaultBegin+"\r\n"+generatedNote+"\nnew\n\n"+defaultEnd+"\r\nb\r\n", string(got))
}

func TestSpliceErrors(t *testing.T) {
	t.Parallel()

	begin, end := defaultBegin+"\n", defaultEnd+"\n"
	tests := []struct {
		name, doc, report string
		want              error
	}{
		{"no begin", prose + end, "r", errNoMarker},
		{"no end", prose + begin, "r", errNoMarker},
		{"begin twice", begin + begin + end, "r", errManyMarkers},
		{"end twice", begin + end + end, "r", errManyMarkers},
		{"end first", end + begin, "r", errMarkersOrder},
		// A marker inside a line, as prose that names it, is not a marker.
		{"marker in prose", "see " + defaultBegin + " and " + end, "r", errNoMarker},
		// The begin marker as the file's last line has no newline to start the block after.
		{"begin without newline", end + defaultBegin, "r", errNoMarker},
		{"empty report", begin + end, " \n\n", errEmptyReport},
		{"marker in report", begin + end, "x\n" + defaultEnd + "\n", errMarkerInsider},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			got, err := splice([]byte(tt.doc), []byte(tt.report), defaultBegin, defaultEnd)
			require.ErrorIs(t, err, tt.want)
			require.Nil(t, got)
		})
	}
}

func TestRunLeavesTheFileOnError(t *testing.T) {
	t.Parallel()

	dir := t.TempDir()
	file := filepath.Join(dir, "README.md")
	report := filepath.Join(dir, "report.md")
	require.NoError(t, os.WriteFile(file, []byte(prose), 0o600))
	require.NoError(t, os.WriteFile(report, []byte("table\n"), 0o600))

	require.ErrorIs(t, run(&options{file: file, report: report, begin: defaultBegin, end: defaultEnd}), errNoMarker)

	got, err := os.ReadFile(file)
	require.NoError(t, err)
	require.Equal(t, prose, string(got))

	require.Error(t, run(&options{file: file, report: filepath.Join(dir, "missing"), begin: "b", end: "e"}))
}

func TestParseFlags(t *testing.T) {
	t.Parallel()

	opts, err := parseFlags([]string{"-file", "F", "-report", "R"}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, &options{file: "F", report: "R", begin: defaultBegin, end: defaultEnd}, opts)

	_, err = parseFlags([]string{"-file", "F"}, io.Discard)
	require.Error(t, err, "-report is required")

	_, err = parseFlags([]string{"-report", "R", "extra"}, io.Discard)
	require.Error(t, err)

	_, err = parseFlags([]string{"-nope"}, io.Discard)
	require.Error(t, err)
}

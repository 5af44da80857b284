package ftpserver

import (
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"
)

var (
	// errBadPattern is a wildcard argument path.Match cannot parse: an unterminated '[' or a
	// trailing '\'. The client sees 501.
	errBadPattern = errors.New("malformed wildcard pattern")
	// errNoMatch answers a wildcard that matches nothing like a missing path: LIST and NLST
	// reply 450 "Could not list: no such file or directory", STAT 450 "Could not STAT: ...".
	errNoMatch = fmt.Errorf("no name matches the pattern: %w", os.ErrNotExist)
	// errTooManyMatches and errDirectoryTooLarge are the limits of Settings.MaxWildcardMatches
	// and Settings.MaxWildcardDirEntries; the client sees 550 "Cannot list <path>: ...".
	errTooManyMatches    = errors.New("the pattern matches too many names")
	errDirectoryTooLarge = errors.New("the directory is too large to expand a pattern in")
)

// refusedPattern tells whether err refuses a pattern itself, malformed or beyond the limits,
// rather than the directory it is expanded in.
func refusedPattern(err error) bool {
	return errors.Is(err, errBadPattern) || errors.Is(err, errTooManyMatches) || errors.Is(err, errDirectoryTooLarge)
}

// patternDir returns the directory part of a wildcard argument as the client wrote it, up to and
// including its last '/' ("" for a pattern in the working directory), for NLST to put before
// each match as a shell's glob does.
func patternDir(arg string) string {
	arg = strings.TrimRight(arg, "/")

	return arg[:strings.LastIndexByte(arg, '/')+1]
}

// hasWildcard tells whether a path element is a pattern of path.Match: it holds '*', '?' or
// '['. A backslash alone does not make a pattern, so a name like `a\b` is only ever taken
// literally; inside a pattern it escapes the next character, as path.Match says.
func hasWildcard(name string) bool {
	return strings.ContainsAny(name, "*?[")
}

// wildcardMatcher selects the entries of one directory whose names match a pattern, within the
// limits of the settings.
type wildcardMatcher struct {
	pattern    string
	showHidden bool // names starting with a dot match too
	maxMatches int
	maxEntries int

	read    int
	matches []os.FileInfo
}

// newWildcardMatcher checks pattern before any directory is read. As a shell does, a name
// starting with a dot is matched only when showHidden is set or the pattern starts with a dot.
func newWildcardMatcher(pattern string, showHidden bool, settings *Settings) (*wildcardMatcher, error) {
	if _, err := path.Match(pattern, ""); err != nil {
		return nil, errBadPattern
	}

	return &wildcardMatcher{
		pattern:    pattern,
		showHidden: showHidden || strings.HasPrefix(pattern, "."),
		maxMatches: settings.MaxWildcardMatches,
		maxEntries: settings.MaxWildcardDirEntries,
	}, nil
}

// add takes a batch of directory entries; it fails once a limit is passed. The batch is
// counted before it is matched, so a directory over the limit is refused as such whatever the
// pattern.
func (m *wildcardMatcher) add(batch []os.FileInfo) error {
	m.read += len(batch)
	if m.read > m.maxEntries {
		return fmt.Errorf("%w (more than %d entries)", errDirectoryTooLarge, m.maxEntries)
	}

	for _, info := range batch {
		name := info.Name()
		if !m.showHidden && strings.HasPrefix(name, ".") {
			continue
		}

		// The pattern was checked: Match cannot fail.
		if ok, _ := path.Match(m.pattern, name); !ok {
			continue
		}

		if len(m.matches) == m.maxMatches {
			return fmt.Errorf("%w (more than %d)", errTooManyMatches, m.maxMatches)
		}

		m.matches = append(m.matches, info)
	}

	return nil
}

// result returns the matches sorted by name, as glob(3) sorts them, or errNoMatch.
func (m *wildcardMatcher) result() ([]os.FileInfo, error) {
	if len(m.matches) == 0 {
		return nil, errNoMatch
	}

	slices.SortFunc(m.matches, func(a, b os.FileInfo) int { return strings.Compare(a.Name(), b.Name()) })

	return m.matches, nil
}

// expandWildcard lists the entries of p's directory whose names match p's last element, reading
// that one directory only: wildcards in earlier elements are ordinary characters, and nothing is
// expanded recursively, so the cost of a pattern is bounded by the limits of one directory.
func expandWildcard(ext *clientHooks, p string, showHidden bool, settings *Settings) ([]os.FileInfo, error) {
	m, err := newWildcardMatcher(path.Base(p), showHidden, settings)
	if err != nil {
		return nil, err
	}

	dir := path.Dir(p)

	info, err := ext.driver.Stat(dir)
	switch {
	case err != nil:
		return nil, err
	case !info.IsDir():
		return nil, errNotADirectory
	}

	if err := forEachBatch(ext, dir, m.add); err != nil {
		return nil, err
	}

	return m.result()
}

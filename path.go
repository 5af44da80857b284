package ftpserver

import (
	"errors"
	"path"
	"strings"
	"unicode/utf8"
)

// cleanPath resolves name against the directory cwd and returns a clean absolute path that
// never leaves "/": ".." at the root stays at the root, "//" and "." vanish, and a trailing
// slash is dropped. Every path a client sends goes through here before a driver sees it.
func cleanPath(cwd, name string) string {
	if !strings.HasPrefix(name, "/") {
		name = cwd + "/" + name
	}

	// path.Clean of a rooted path cannot climb above "/".
	return path.Clean("/" + name)
}

// absPath is cleanPath against the client's working directory, refusing names that no file
// system should be asked about: NUL bytes (C-based back-ends would cut the name there),
// bytes that are not UTF-8 unless Settings.InvalidUTF8Names lets them through, and results
// longer than Settings.MaxPathLength. A path through an atomic upload's temporary file is
// answered as absent (errUploadTemp), whoever asks.
func (c *clientHandler) absPath(name string) (string, error) {
	if c.settings.InvalidUTF8Names != InvalidUTF8PassThrough && !utf8.ValidString(name) {
		return "", errNameNotUTF8
	}

	// The result is checked for NUL, not only name: the working directory may come from a
	// driver's SetPath.
	p := cleanPath(c.Path(), name)

	switch {
	case strings.IndexByte(p, 0) >= 0:
		return "", errInvalidPath
	case len(p) > c.settings.MaxPathLength:
		return "", errPathTooLong
	case isUploadTemp(p):
		return "", errUploadTemp
	}

	return p, nil
}

// pathParam resolves a command's path argument, replying 501 for a malformed one and 553 for
// a name the settings refuse; ok is false when the reply was sent and the handler must stop.
func (c *clientHandler) pathParam(param string) (string, bool) {
	p, err := c.absPath(param)

	switch {
	case errors.Is(err, errInvalidPath):
		c.reply(StatusSyntaxErrorParameters, "Invalid path")

		return "", false
	case err != nil:
		c.replyError(StatusActionNotTakenNoFile, "Invalid path", err)

		return "", false
	}

	return p, true
}

// quotePath quotes a path for a 257 reply: RFC 959 appendix II doubles embedded quotes.
func quotePath(p string) string {
	return `"` + strings.ReplaceAll(p, `"`, `""`) + `"`
}

// relativePath returns target relative to base, both clean absolute paths: "" for base itself,
// the rest of the path for a path below base, and "../" for each level above.
func relativePath(base, target string) string {
	up := ""

	for {
		switch {
		case base == target:
			return strings.TrimSuffix(up, "/")
		case base == "/":
			return up + strings.TrimPrefix(target, "/")
		case strings.HasPrefix(target, base+"/"):
			return up + target[len(base)+1:]
		}

		up += "../"
		base = path.Dir(base)
	}
}

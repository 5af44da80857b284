package ftpserver

import (
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

// resolvePath is cleanPath of name against the working directory cwd, refusing names that no
// file system should be asked about: NUL bytes (C-based back-ends would cut the name there),
// bytes that are not UTF-8 unless Settings.InvalidUTF8Names lets them through, and results
// longer than Settings.MaxPathLength. A path through an atomic upload's temporary file is
// answered as absent (errUploadTemp), whoever asks.
func resolvePath(cwd, name string, settings *Settings) (string, error) {
	if settings.InvalidUTF8Names != InvalidUTF8PassThrough && !utf8.ValidString(name) {
		return "", errNameNotUTF8
	}

	// The result is checked for NUL, not only name: the working directory may come from a
	// driver's SetPath.
	p := cleanPath(cwd, name)

	switch {
	case strings.IndexByte(p, 0) >= 0:
		return "", errInvalidPath
	case len(p) > settings.MaxPathLength:
		return "", errPathTooLong
	case isUploadTemp(p):
		return "", errUploadTemp
	}

	return p, nil
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

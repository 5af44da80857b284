package ftpserver

import (
	"path"
	"strings"
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
// system should be asked about: NUL bytes (C-based back-ends would cut the name there).
func (c *clientHandler) absPath(name string) (string, error) {
	if strings.IndexByte(name, 0) >= 0 {
		return "", errInvalidPath
	}

	return cleanPath(c.Path(), name), nil
}

// pathParam resolves a command's path argument, replying 501 for an invalid one; ok is false
// when the reply was sent and the handler must stop.
func (c *clientHandler) pathParam(param string) (string, bool) {
	p, err := c.absPath(param)
	if err != nil {
		c.reply(StatusSyntaxErrorParameters, "Invalid path")

		return "", false
	}

	return p, true
}

// quotePath quotes a path for a 257 reply: RFC 959 appendix II doubles embedded quotes.
func quotePath(p string) string {
	return `"` + strings.ReplaceAll(p, `"`, `""`) + `"`
}

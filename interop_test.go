package ftpserver

import (
	"fmt"
	"maps"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The interoperability tests run real clients (curl, lftp, Python's ftplib) against the bundled
// server, built from cmd/ftpserver and started as a process with -root, exactly as a user runs
// it. Each skips with a message when its client is not installed; CI installs them all.

var interopModes = []interopMode{
	{"passive", false, false},
	{"active", true, false},
	{"passive-TLS", false, true},
	{"active-TLS", true, true},
}

func TestInteropPythonFtplib(t *testing.T) {
	requireTool(t, "python3")

	for _, mode := range interopModes {
		t.Run(mode.name, func(t *testing.T) {
			root, src, dst := t.TempDir(), makeTree(t), t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(root, "abort.bin"), testContent(32<<20), 0o600))

			flags := []string{}
			if mode.tls {
				// -tls-required requires TLS session reuse on data connections.
				flags = append(flags, "-tls-required")
			}

			addr := startBundledServer(t, root, flags...)[0]
			host, port, _ := strings.Cut(addr, ":")

			args := []string{"testdata/interop/ftplib_tree.py", host, port, src, dst, "--abort", "abort.bin"}
			if mode.active {
				args = append(args, "--active")
			}

			if mode.tls {
				args = append(args, "--tls", "--reuse-session")
			}

			assert.Equal(t, "ok\n", runClient(t, "python3", args...))
			assert.Equal(t, treeHashes(t, src), treeHashes(t, dst))
			require.NoError(t, os.Remove(filepath.Join(root, "abort.bin")))
			requireEmptyDir(t, root)
		})
	}
}

// TestInteropPythonFtplibWithoutSessionReuse runs ftplib's FTP_TLS as it is, which starts a
// new TLS session on each data connection (CPython issue 63699): -tls-required refuses its
// data connections, so nothing is stored, and -tls-session-reuse optional lets it work.
func TestInteropPythonFtplibWithoutSessionReuse(t *testing.T) {
	requireTool(t, "python3")

	for _, reuse := range []string{"required", "optional"} {
		t.Run(reuse, func(t *testing.T) {
			root, src, dst := t.TempDir(), makeTree(t), t.TempDir()

			addr := startBundledServer(t, root, "-tls-required", "-tls-session-reuse", reuse)[0]
			host, port, _ := strings.Cut(addr, ":")

			out, err := runClientResult(t, "python3", "testdata/interop/ftplib_tree.py", host, port, src, dst, "--tls")

			if reuse == "required" {
				require.Error(t, err, "a new TLS session on a data connection is refused:\n%s", out)
				assert.Empty(t, treeHashes(t, root), "no upload got through")

				return
			}

			require.NoError(t, err, out)
			assert.Equal(t, "ok\n", out)
			assert.Equal(t, treeHashes(t, src), treeHashes(t, dst))
			requireEmptyDir(t, root)
		})
	}
}

// TestInteropLftp mirrors a tree up and down with lftp in each mode, in stream mode and, in
// the rows named "-modeZ", in MODE Z, which the bundled server offers: there uploads, downloads
// and listings go through zlib streams both ways, in clear and inside TLS.
func TestInteropLftp(t *testing.T) {
	requireTool(t, "lftp")

	type lftpRun struct {
		interopMode

		modeZ bool
	}

	runs := make([]lftpRun, 0, len(interopModes)+2)
	for _, mode := range interopModes {
		runs = append(runs, lftpRun{interopMode: mode})
	}

	runs = append(runs,
		lftpRun{interopMode{"passive-modeZ", false, false}, true},
		lftpRun{interopMode{"passive-TLS-modeZ", false, true}, true})

	for _, run := range runs {
		t.Run(run.name, func(t *testing.T) {
			root, src, dst := t.TempDir(), makeTree(t), t.TempDir()

			flags := []string{}
			if run.tls {
				flags = append(flags, "-tls", "-tls-required")
			}

			addr := startBundledServer(t, root, flags...)[0]
			settings := []string{
				"set net:max-retries 1", "set net:timeout 15", "set cmd:fail-exit true",
				fmt.Sprintf("set ftp:passive-mode %t", !run.active),
				fmt.Sprintf("set ftp:ssl-allow %t", run.tls),
				fmt.Sprintf("set ftp:ssl-force %t", run.tls),
				fmt.Sprintf("set ftp:ssl-protect-data %t", run.tls),
				"set ssl:verify-certificate no",
			}
			if run.modeZ {
				settings = append(settings, "set ftp:use-mode-z true", "set ftp:mode-z-level 6", "debug 5")
			} else {
				settings = append(settings, "set ftp:use-mode-z false")
			}

			script := strings.Join(append(settings,
				"open -u test,test ftp://"+addr,
				"mirror -R "+src+" /tree",
				"cls -1 /tree/sub/deeper",
				"mirror /tree "+dst,
				"rm -r /tree",
			), "; ")

			out := runClient(t, "lftp", "-c", script)
			if run.modeZ {
				assert.Contains(t, out, "---> MODE Z", "lftp switched to MODE Z")
				assert.Contains(t, out, "200 Using deflate mode")
			}

			assert.Contains(t, out, "another.txt")
			assert.Contains(t, out, "big.bin")
			assert.Equal(t, treeHashes(t, src), treeHashes(t, dst))
			requireEmptyDir(t, root)
		})
	}
}

func TestInteropCurl(t *testing.T) {
	requireTool(t, "curl")

	version := runClient(t, "curl", "--version")

	for _, mode := range interopModes {
		t.Run(mode.name, func(t *testing.T) {
			if mode.active && mode.tls && strings.HasPrefix(version, "curl 7.88.") {
				// curl 7.88 fails an accepted data connection under TLS on a bogus address
				// lookup of its own listening socket (curl issue 10622, fixed in 8.0).
				t.Skip("curl 7.88 cannot do active FTPS (curl issue 10622)")
			}

			root, src, dst := t.TempDir(), makeTree(t), t.TempDir()

			flags := []string{}
			if mode.tls {
				// -tls-required requires TLS session reuse on data connections.
				flags = append(flags, "-tls-required")
			}

			addr := startBundledServer(t, root, flags...)[0]
			base := []string{"-sS", "--fail", "-u", "test:test", "--max-time", "30"}

			if mode.active {
				base = append(base, "--ftp-port", "127.0.0.1")
			}

			if mode.tls {
				base = append(base, "--ssl-reqd", "-k")
			}

			curlTree(t, base, "ftp://"+addr, src, dst)
			requireEmptyDir(t, root)
		})
	}
}

func TestInteropCurlImplicitTLS(t *testing.T) {
	requireTool(t, "curl")

	root, src, dst := t.TempDir(), makeTree(t), t.TempDir()
	addrs := startBundledServer(t, root, "-tls", "-tls-session-reuse", "required", "-implicit-listen", "127.0.0.1:0")
	require.Len(t, addrs, 2, "the explicit and the implicit listeners")

	base := []string{"-sS", "--fail", "-u", "test:test", "--max-time", "30", "-k"}
	curlTree(t, base, "ftps://"+addrs[1], src, dst)
	requireEmptyDir(t, root)
}

// curlTree uploads src through curl, lists it, downloads it into dst, compares, and deletes it.
func curlTree(t *testing.T, base []string, serverURL, src, dst string) {
	t.Helper()

	hashes := treeHashes(t, src)
	names := make([]string, 0, len(hashes))

	for name := range hashes {
		names = append(names, name)
	}

	sort.Strings(names)

	for _, name := range names {
		args := append(append([]string{}, base...), "--ftp-create-dirs", "-T", filepath.Join(src, name),
			serverURL+"/tree/"+escapeURLPath(name))
		runClient(t, "curl", args...)
	}

	listing := runClient(t, "curl", append(append([]string{}, base...), serverURL+"/tree/sub/deeper/")...)
	assert.Contains(t, listing, " big.bin")
	assert.Regexp(t, `^-rw`, listing, "LIST gives ls -l lines")

	top := map[string]bool{}
	for _, name := range names {
		first, _, _ := strings.Cut(name, "/")
		top[first] = true
	}

	nlst := runClient(t, "curl", append(append([]string{}, base...), "--list-only", serverURL+"/tree/")...)
	assert.ElementsMatch(t, slices.Collect(maps.Keys(top)),
		strings.Split(strings.TrimSpace(strings.ReplaceAll(nlst, "\r", "")), "\n"), "NLST names")

	for _, name := range names {
		out := filepath.Join(dst, filepath.FromSlash(name))
		runClient(t, "curl", append(append([]string{}, base...), "--create-dirs", "-o", out,
			serverURL+"/tree/"+escapeURLPath(name))...)
	}

	assert.Equal(t, hashes, treeHashes(t, dst))

	quotes := make([]string, 0, 2*len(names)+6)
	for _, name := range names {
		quotes = append(quotes, "-Q", "DELE /tree/"+name)
	}

	// Directories, deepest first, then the tree itself.
	dirs := map[string]bool{}

	for _, name := range names {
		for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
			dirs[dir] = true
		}
	}

	sortedDirs := slices.SortedFunc(maps.Keys(dirs), func(a, b string) int {
		return strings.Count(b, "/") - strings.Count(a, "/")
	})
	for _, dir := range sortedDirs {
		quotes = append(quotes, "-Q", "RMD /tree/"+dir)
	}

	quotes = append(quotes, "-Q", "RMD /tree")
	runClient(t, "curl", append(append(append([]string{}, base...), quotes...), "--list-only", serverURL+"/")...)
}

// escapeURLPath percent-encodes each segment of a slash-separated path for a URL.
func escapeURLPath(name string) string {
	segments := strings.Split(name, "/")
	for i, segment := range segments {
		segments[i] = url.PathEscape(segment)
	}

	return strings.Join(segments, "/")
}

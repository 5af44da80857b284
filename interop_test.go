package ftpserver

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The interoperability tests run real clients (curl, lftp, Python's ftplib) against the bundled
// server, built from cmd/ftpserver and started as a process with -root, exactly as a user runs
// it. Each skips with a message when its client is not installed; CI installs them all.

// clientTimeout bounds each client run, so a hang fails the test instead of the CI job.
const clientTimeout = 60 * time.Second

var bundled struct {
	once sync.Once
	path string
	err  error
}

// bundledServerBinary builds cmd/ftpserver once per test run.
func bundledServerBinary(t *testing.T) string {
	t.Helper()

	bundled.once.Do(func() {
		dir, err := os.MkdirTemp("", "ftpkit-interop-")
		if err != nil {
			bundled.err = err

			return
		}

		bundled.path = filepath.Join(dir, "ftpserver")

		out, err := exec.Command("go", "build", "-o", bundled.path, "./cmd/ftpserver").CombinedOutput() //nolint:gosec // fixed command

		if err != nil {
			bundled.err = fmt.Errorf("building cmd/ftpserver: %w: %s", err, out)
		}
	})

	require.NoError(t, bundled.err)

	return bundled.path
}

var listeningLine = regexp.MustCompile(`^listening on (\S+)`)

// startBundledServer runs the bundled server on root with extra flags and returns the address
// of each listener it announces. The process is ended with SIGTERM when the test ends.
func startBundledServer(t *testing.T, root string, extra ...string) []string {
	t.Helper()

	return startServerBinary(t, bundledServerBinary(t), root, extra...).addrs
}

// serverProcess is a running bundled server.
type serverProcess struct {
	addrs []string // one per listener, in the order announced
	pid   int
	stop  func() // SIGTERM, then a check that it exited 0; also run when the test ends
}

// startServerBinary runs binary, the bundled server, on root with extra flags.
func startServerBinary(t *testing.T, binary, root string, extra ...string) *serverProcess {
	t.Helper()

	args := append([]string{"-listen", "127.0.0.1:0", "-root", root, "-idle-timeout", "30"}, extra...)
	cmd := exec.Command(binary, args...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)

	var stderr lockedBuilder // read while the server logs its transfers

	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())

	exited := make(chan error, 1)

	var once sync.Once

	stop := func() {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)

			select {
			case err := <-exited:
				assert.NoError(t, err, "the bundled server exits 0 on SIGTERM; stderr: %s", stderr.String()) //nolint:testifylint // a cleanup goes on to stop the rest
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				t.Error("the bundled server did not stop on SIGTERM")
			}
		})
	}
	t.Cleanup(stop)

	lines := make(chan string)

	go func() {
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			lines <- scanner.Text()
		}

		close(lines)
		exited <- cmd.Wait()
	}()

	var addrs []string

	timeout := time.After(30 * time.Second)

	for {
		select {
		case line, ok := <-lines:
			require.True(t, ok, "the bundled server exited early; stderr: %s", stderr.String())

			if m := listeningLine.FindStringSubmatch(line); m != nil {
				addrs = append(addrs, m[1])
			}

			if strings.HasPrefix(line, "credentials:") {
				go func() {
					// Drain, so the process never blocks on its stdout.
					for line := range lines {
						_ = line
					}
				}()

				return &serverProcess{addrs: addrs, pid: cmd.Process.Pid, stop: stop}
			}
		case <-timeout:
			require.FailNow(t, "the bundled server did not start", stderr.String())
		}
	}
}

// requireTool skips the test when a client is missing.
func requireTool(t *testing.T, name string) {
	t.Helper()

	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s is not installed: interoperability test skipped (apt-get install -y curl lftp python3)", name)
	}
}

// runClient runs a client command within clientTimeout and fails the test with its output
// when it fails.
func runClient(t *testing.T, name string, args ...string) string {
	t.Helper()

	out, err := runClientResult(t, name, args...)
	require.NoError(t, err, "%s %s:\n%s", name, strings.Join(args, " "), out)

	return out
}

// runClientResult runs a client command within clientTimeout and returns its output and how
// it ended.
func runClientResult(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()

	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()

	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()

	return string(out), err
}

// makeTree writes a small tree of files of varied sizes and names, and returns its root.
func makeTree(t *testing.T) string {
	t.Helper()

	src := t.TempDir()
	files := map[string]int{
		"empty.txt":              0,
		"small.txt":              100,
		"with space.bin":         70_000,
		"sub/nested.bin":         1 << 20,
		"sub/deeper/big.bin":     3<<20 + 123,
		"sub/deeper/another.txt": 4096,
		// Names clients and servers get wrong (RFC 2640 and shell-like quoting).
		"-leading dash.txt":  10,
		`quote"d 'name'.txt`: 20,
		"#hash.txt":          30,
		"日本語/ファイル.txt":       40,
		"café.bin":           50,
	}

	writeSizedTree(t, src, files)

	return src
}

// writeSizedTree writes each file of files (slash path to size) under root, with content that
// differs from file to file.
func writeSizedTree(t *testing.T, root string, files map[string]int) {
	t.Helper()

	for name, size := range files {
		local := filepath.Join(root, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(local), 0o755))
		require.NoError(t, os.WriteFile(local, testContent(size + len(name))[:size], 0o600))
	}
}

// treeHashes maps each file of a tree to the SHA-256 of its content.
func treeHashes(t *testing.T, root string) map[string]string {
	t.Helper()

	hashes := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}

		data, err := os.ReadFile(path) //nolint:gosec // a temporary tree of the test's own
		if err != nil {
			return err
		}

		rel, _ := filepath.Rel(root, path)
		sum := sha256.Sum256(data)
		hashes[filepath.ToSlash(rel)] = hex.EncodeToString(sum[:])

		return nil
	})
	require.NoError(t, err)

	return hashes
}

// requireEmptyDir checks that the served directory holds nothing any more.
func requireEmptyDir(t *testing.T, dir string) {
	t.Helper()

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)

	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}

	assert.Empty(t, names, "the client deleted the tree")
}

type interopMode struct {
	name   string
	active bool
	tls    bool
}

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

func TestInteropLftp(t *testing.T) {
	requireTool(t, "lftp")

	for _, mode := range interopModes {
		t.Run(mode.name, func(t *testing.T) {
			root, src, dst := t.TempDir(), makeTree(t), t.TempDir()

			flags := []string{}
			if mode.tls {
				flags = append(flags, "-tls", "-tls-required")
			}

			addr := startBundledServer(t, root, flags...)[0]
			settings := []string{
				"set net:max-retries 1", "set net:timeout 15", "set cmd:fail-exit true",
				fmt.Sprintf("set ftp:passive-mode %t", !mode.active),
				fmt.Sprintf("set ftp:ssl-allow %t", mode.tls),
				fmt.Sprintf("set ftp:ssl-force %t", mode.tls),
				fmt.Sprintf("set ftp:ssl-protect-data %t", mode.tls),
				"set ssl:verify-certificate no",
				"set ftp:use-mode-z false", // MODE Z has its own test: keep these in stream mode
			}
			script := strings.Join(append(settings,
				"open -u test,test ftp://"+addr,
				"mirror -R "+src+" /tree",
				"cls -1 /tree/sub/deeper",
				"mirror /tree "+dst,
				"rm -r /tree",
			), "; ")

			out := runClient(t, "lftp", "-c", script)
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

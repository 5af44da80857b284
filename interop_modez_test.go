package ftpserver

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestInteropLftpModeZ mirrors a tree up and down with lftp in MODE Z, which the bundled server
// offers: uploads, downloads and listings go through zlib streams both ways, in clear and inside
// TLS.
func TestInteropLftpModeZ(t *testing.T) {
	requireTool(t, "lftp")

	for _, mode := range []interopMode{{"passive", false, false}, {"passive-TLS", false, true}} {
		t.Run(mode.name, func(t *testing.T) {
			root, src, dst := t.TempDir(), makeTree(t), t.TempDir()

			flags := []string{}
			if mode.tls {
				flags = append(flags, "-tls", "-tls-required")
			}

			addr := startBundledServer(t, root, flags...)[0]
			script := strings.Join([]string{
				"set net:max-retries 1", "set net:timeout 15", "set cmd:fail-exit true",
				"set ftp:passive-mode true", "set ftp:use-mode-z true", "set ftp:mode-z-level 6",
				fmt.Sprintf("set ftp:ssl-allow %t", mode.tls),
				fmt.Sprintf("set ftp:ssl-force %t", mode.tls),
				fmt.Sprintf("set ftp:ssl-protect-data %t", mode.tls),
				"set ssl:verify-certificate no",
				"debug 5",
				"open -u test,test ftp://" + addr,
				"mirror -R " + src + " /tree",
				"cls -1 /tree/sub/deeper",
				"mirror /tree " + dst,
				"rm -r /tree",
			}, "; ")

			out := runClient(t, "lftp", "-c", script)
			assert.Contains(t, out, "---> MODE Z", "lftp switched to MODE Z")
			assert.Contains(t, out, "200 Using deflate mode")
			assert.Contains(t, out, "another.txt")
			assert.Equal(t, treeHashes(t, src), treeHashes(t, dst))
			requireEmptyDir(t, root)
		})
	}
}

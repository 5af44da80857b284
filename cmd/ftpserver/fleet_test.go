package main

import (
	"os/exec"
	"testing"
	"time"

	"github.com/ftpkit/ftpserver/s3fs/s3test"
)

// fleetTimeout bounds the whole fleet demo: on an idle machine it takes well under a minute.
const fleetTimeout = 5 * time.Minute

// TestFleet runs docs/fleet-demo.sh, the fleet of docs/fleet.md on loopback: three bundled
// servers behind HAProxy with PROXY protocol v2, one versitygw bucket, one Redis for the bans.
// The script bans an address through one node and requires every node to refuse it, even on a
// connection opened before the ban; it uploads a 256 MiB random file, kills the node receiving
// it with SIGKILL in the middle and resumes the upload through another (curl -C -: SIZE, APPE);
// it downloads the file, kills the node serving it in the middle and resumes through the last
// one (REST, RETR), and compares sha256; and it reads each node's metrics.
// It needs haproxy, redis-server, versitygw, curl and python3 (.ci/run installs them).
func TestFleet(t *testing.T) {
	for _, tool := range []struct{ name, install string }{
		{"haproxy", "apt-get install -y haproxy"},
		{"redis-server", "apt-get install -y redis-server"},
		{"curl", "apt-get install -y curl"},
		{"python3", "apt-get install -y python3"},
	} {
		if _, err := exec.LookPath(tool.name); err != nil {
			t.Skipf("%s is not installed: fleet demo skipped (%s)", tool.name, tool.install)
		}
	}

	versitygw, found := s3test.Binary()
	if !found {
		t.Skip("versitygw is not installed: fleet demo skipped (" + s3test.Install + ")")
	}

	runDocsScript(t, "fleet-demo.sh", "fleet demo passed", fleetTimeout,
		"FTPSERVER_BIN="+buildServer(t), "VERSITYGW="+versitygw, "SIZE_MIB=256")
}

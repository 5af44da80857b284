package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testsslTimeout bounds one testssl run, a guard against a hang: a run takes about a minute
// on an idle two-core machine, and several when the machine is busy with other tests.
const testsslTimeout = 10 * time.Minute

// testsslFinding is one line of testssl's JSON report (--jsonfile-pretty).
type testsslFinding struct {
	ID       string `json:"id"`
	Severity string `json:"severity"`
	Finding  string `json:"finding"`
}

// testsslReport is testssl's JSON report of one host, in the sections this test asks for.
type testsslReport struct {
	ScanResult []struct {
		Protocols       []testsslFinding `json:"protocols"`
		Ciphers         []testsslFinding `json:"ciphers"`
		Vulnerabilities []testsslFinding `json:"vulnerabilities"`
	} `json:"scanResult"`
}

// runTestssl runs testssl against target with the extra arguments and returns the findings of
// its JSON report by section.
func runTestssl(ctx context.Context, t *testing.T, target string, extra ...string) map[string][]testsslFinding {
	t.Helper()

	report := filepath.Join(t.TempDir(), "testssl.json")
	// -U the vulnerabilities, -p the protocols, -s the cipher categories (CBC suites are
	// "AVERAGE", a LOW finding). Forward secrecy is TestTLSConfigOffersOnlyAEAD's.
	args := append([]string{"--warnings", "off", "--quiet", "--color", "0", "--ip", "one",
		"-U", "-p", "-s", "--jsonfile-pretty", report}, extra...)
	args = append(args, target)

	started := time.Now()
	out, err := exec.CommandContext(ctx, "testssl", args...).CombinedOutput()
	t.Logf("testssl %s: %s", target, time.Since(started).Round(time.Second))

	// testssl's exit status adds up the statuses of its checks; the report says what they found.
	require.NoError(t, ctx.Err(), "testssl did not finish:\n%s", out)

	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		require.NoError(t, err, "%s", out)
	}

	data, err := os.ReadFile(report)
	require.NoError(t, err, "testssl wrote no report:\n%s", out)

	var parsed testsslReport
	require.NoError(t, json.Unmarshal(data, &parsed))
	require.Len(t, parsed.ScanResult, 1, "one address scanned")

	scan := parsed.ScanResult[0]

	return map[string][]testsslFinding{
		"protocols": scan.Protocols, "ciphers": scan.Ciphers, "vulnerabilities": scan.Vulnerabilities,
	}
}

// TestTestsslFindsNothing runs Debian's testssl.sh against the bundled server's explicit
// (AUTH TLS) and implicit TLS listeners, in parallel: every finding of its vulnerability,
// protocol and cipher checks is OK or INFO, LUCKY13 included (with TLS 1.2's CBC suites it
// reported LUCKY13 and the "AVERAGE" ciphers LOW).
func TestTestsslFindsNothing(t *testing.T) {
	t.Parallel()

	if testing.Short() {
		t.Skip("testssl takes a minute or two: skipped with -short")
	}

	if _, err := exec.LookPath("testssl"); err != nil {
		t.Skip("testssl is not installed: test skipped (apt-get install -y testssl.sh)")
	}

	srv := startRun(t, "-tls", "-implicit-listen", "127.0.0.1:0")
	require.Len(t, srv.addrs, 2)

	for _, tt := range []struct {
		name   string
		target string
		extra  []string
	}{
		{"explicit", srv.addrs[0], []string{"--starttls", "ftp"}},
		{"implicit", srv.addrs[1], nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			ctx, cancel := context.WithTimeout(context.Background(), testsslTimeout)
			defer cancel()

			sections := runTestssl(ctx, t, tt.target, tt.extra...)

			for section, findings := range sections {
				assert.NotEmpty(t, findings, "testssl reported no %s", section)

				for _, f := range findings {
					assert.Contains(t, []string{"OK", "INFO"}, f.Severity, "%s %s: %s", section, f.ID, f.Finding)
				}
			}

			lucky13 := slices.IndexFunc(sections["vulnerabilities"], func(f testsslFinding) bool {
				return f.ID == "LUCKY13"
			})
			require.GreaterOrEqual(t, lucky13, 0, "testssl checked LUCKY13")
			assert.Equal(t, "not vulnerable", sections["vulnerabilities"][lucky13].Finding)
		})
	}
}

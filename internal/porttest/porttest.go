// Package porttest finds ports for tests that need fixed passive port ranges.
package porttest

import (
	"math/rand/v2"
	"net"
	"strconv"
	"testing"
)

// QuietRange returns the first of n consecutive free ports of 127.0.0.1 below the kernel's
// ephemeral range (32768 and up on Linux), so no client's source port takes one between this
// check and the server's Listen. It fails the test when none is found.
func QuietRange(tb testing.TB, n int) int {
	tb.Helper()

	for range 100 {
		start := 20000 + rand.IntN(12000-n) //nolint:gosec // a port choice, not a secret
		if free(start, n) {
			return start
		}
	}

	tb.Fatalf("no range of %d free ports", n)

	return 0
}

// free tells whether the n ports from start can all be listened on now.
func free(start, n int) bool {
	for port := start; port < start+n; port++ {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			return false
		}

		_ = l.Close()
	}

	return true
}

package main

import (
	"crypto/tls"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTLSConfigOffersOnlyAEAD checks the suites of TLS 1.2: each an ECDHE key exchange with
// AES-GCM or ChaCha20-Poly1305, none of Go's insecure list, and for both kinds of key.
func TestTLSConfigOffersOnlyAEAD(t *testing.T) {
	t.Parallel()

	config, certs, err := newTLSConfig("", "")
	require.NoError(t, err)
	assert.Nil(t, certs, "a self-signed certificate is not reloaded")
	assert.Equal(t, uint16(tls.VersionTLS12), config.MinVersion)
	require.NotEmpty(t, config.CipherSuites)

	secure := map[uint16]*tls.CipherSuite{}
	for _, suite := range tls.CipherSuites() {
		secure[suite.ID] = suite
	}

	keys := map[string]bool{}

	for _, id := range config.CipherSuites {
		suite := secure[id]
		require.NotNil(t, suite, "%s is among Go's insecure suites", tls.CipherSuiteName(id))
		assert.Contains(t, suite.SupportedVersions, uint16(tls.VersionTLS12))

		name := suite.Name
		assert.True(t, strings.HasPrefix(name, "TLS_ECDHE_"), "%s: no forward secrecy", name)
		assert.True(t, strings.Contains(name, "_GCM_") || strings.Contains(name, "_CHACHA20_POLY1305"),
			"%s is not AEAD", name)

		keys[strings.Split(name, "_")[2]] = true
	}

	assert.Equal(t, map[string]bool{"ECDSA": true, "RSA": true}, keys, "suites for ECDSA and RSA certificates")
}

// TestRunTLSRefusesCBC runs handshakes against the bundled server: a TLS 1.2 client that offers
// only CBC suites is refused, one that offers AES-GCM or ChaCha20-Poly1305 is served, and so is
// TLS 1.3.
func TestRunTLSRefusesCBC(t *testing.T) {
	t.Parallel()

	srv := startRun(t, "-tls")

	tls12 := func(suites ...uint16) *tls.Config {
		return &tls.Config{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12, CipherSuites: suites}
	}

	_, err := authTLS(t, srv.addr, tls12(tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256))
	require.ErrorContains(t, err, "handshake failure", "CBC suites only")

	for _, suite := range []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	} {
		conn, suiteErr := authTLS(t, srv.addr, tls12(suite))
		require.NoError(t, suiteErr, tls.CipherSuiteName(suite))
		assert.Equal(t, suite, conn.ConnectionState().CipherSuite)
	}

	conn, err := authTLS(t, srv.addr, &tls.Config{MinVersion: tls.VersionTLS13})
	require.NoError(t, err)
	assert.Equal(t, uint16(tls.VersionTLS13), conn.ConnectionState().Version)
}

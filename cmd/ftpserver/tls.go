package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"sync/atomic"
	"time"
)

// selfSignedValidity is how long the certificate made at start is valid.
const selfSignedValidity = 30 * 24 * time.Hour

// tls12CipherSuites are the TLS 1.2 suites the server offers: only AEAD ciphers (AES-GCM,
// ChaCha20-Poly1305) with an ephemeral key exchange (ECDHE), so that no CBC suite (LUCKY13) nor
// RSA key exchange (ROBOT, no forward secrecy) is offered. TLS 1.3 has only such suites, and
// Go does not let them be chosen.
var tls12CipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// newTLSConfig loads -cert and -key, or makes a self-signed certificate for this run when
// neither is given. With -cert, the returned certificateFile reads the pair again on reload,
// and new handshakes take the last pair read; it is nil for a self-signed certificate.
func newTLSConfig(certFile, keyFile string) (*tls.Config, *certificateFile, error) {
	config := &tls.Config{MinVersion: tls.VersionTLS12, CipherSuites: tls12CipherSuites}

	if certFile == "" {
		cert, err := selfSignedCertificate()
		if err != nil {
			return nil, nil, err
		}

		config.Certificates = []tls.Certificate{cert}

		return config, nil, nil
	}

	certs := &certificateFile{certFile: certFile, keyFile: keyFile}
	if err := certs.load(); err != nil {
		return nil, nil, err
	}

	config.GetCertificate = certs.getCertificate

	return config, certs, nil
}

// certificateFile is the certificate and key of -cert and -key, as last read.
type certificateFile struct {
	certFile, keyFile string
	current           atomic.Pointer[tls.Certificate]
}

// load reads the pair; on an error the pair read before stays in use.
func (c *certificateFile) load() error {
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("-cert/-key: %w", err)
	}

	c.current.Store(&cert)

	return nil
}

// getCertificate is the tls.Config's GetCertificate: the pair last read, for every handshake.
func (c *certificateFile) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.current.Load(), nil
}

// notAfter returns the end of validity of the certificate last read, for the log.
func (c *certificateFile) notAfter() time.Time {
	if leaf := c.current.Load().Leaf; leaf != nil {
		return leaf.NotAfter
	}

	return time.Time{}
}

// selfSignedCertificate makes an ECDSA P-256 certificate for localhost and the loopback
// addresses: enough for trying FTPS with a client told not to verify it.
func selfSignedCertificate() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generating a key: %w", err)
	}

	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generating a serial number: %w", err)
	}

	now := time.Now()
	template := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "ftpkit test server"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(selfSignedValidity),
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}

	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("creating the certificate: %w", err)
	}

	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

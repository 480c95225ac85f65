// Package pki reads PEM certificates and private keys the way every part
// of the charm needs them: text around the blocks (easyrsa writes an
// OpenSSL dump before each certificate) is skipped, keys may be PKCS#8,
// PKCS#1 or EC, and errors are fixed strings so that no key material can
// reach a status, a log line or an action result.
package pki

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
)

// Material is the PEM text TLS is served with: a certificate (with any
// intermediates after it), its private key and, when known, the CA that
// issued it (empty otherwise), as found in the tls-*-blob options, the
// certificate relations or the tls-*-path files.
type Material struct{ Cert, Key, CA []byte }

// ParseCertificates returns every CERTIFICATE block of b, in order (leaf
// first in a chain).
func ParseCertificates(b []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for block, rest := pem.Decode(b); block != nil; block, rest = pem.Decode(rest) {
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, errors.New("a certificate does not parse")
		}
		certs = append(certs, cert)
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM certificate found")
	}
	return certs, nil
}

// ParsePrivateKey returns the key of the first private key block.
func ParsePrivateKey(b []byte) (crypto.Signer, error) {
	for block, rest := pem.Decode(b); block != nil; block, rest = pem.Decode(rest) {
		if block.Type == "ENCRYPTED PRIVATE KEY" || block.Headers["Proc-Type"] != "" {
			return nil, errors.New("the key is encrypted; provide it unencrypted")
		}
		if !strings.HasSuffix(block.Type, "PRIVATE KEY") {
			continue
		}
		if key := parseKeyDER(block.Bytes); key != nil {
			return key, nil
		}
		return nil, errors.New("the key is not PKCS#8, PKCS#1 or EC")
	}
	return nil, errors.New("no PEM private key found")
}

func parseKeyDER(der []byte) crypto.Signer {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		s, _ := k.(crypto.Signer)
		return s
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k
	}
	return nil
}

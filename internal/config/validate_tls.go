package config

import (
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"path/filepath"
	"strings"
)

func (c Config) checkTLS(v *validator) {
	if c.TLSCertBlob != "" {
		v.certificatesBlob("tls-cert-blob", c.TLSCertBlob)
	}
	if c.TLSKeyBlob != "" {
		v.keyBlob("tls-key-blob", c.TLSKeyBlob)
	}
	if c.TLSCABlob != "" {
		v.certificatesBlob("tls-ca-blob", c.TLSCABlob)
	}
	v.pair("tls-cert-blob", c.TLSCertBlob, "tls-key-blob", c.TLSKeyBlob)
	if !blobPairMatches(c.TLSCertBlob, c.TLSKeyBlob) {
		v.add("tls-key-blob", "does not match the certificate in tls-cert-blob")
	}
	for _, p := range []struct{ name, value string }{
		{"tls-ca-path", c.TLSCAPath},
		{"tls-cert-path", c.TLSCertPath},
		{"tls-key-path", c.TLSKeyPath},
	} {
		if !filepath.IsAbs(p.value) {
			v.add(p.name, "must be an absolute file path")
		}
	}
}

// certificatesBlob checks a base64 PEM bundle holding certificates only.
func (v *validator) certificatesBlob(option, blob string) {
	pemBytes, err := decodeBase64(blob)
	if err != nil {
		v.add(option, "must be base64-encoded PEM (cannot decode base64)")
		return
	}
	if _, err := parseCertificates(pemBytes); err != nil {
		v.add(option, "must be base64-encoded PEM certificates (%v)", err)
	}
}

// keyBlob checks a base64 PEM private key; the error never quotes the key.
func (v *validator) keyBlob(option, blob string) {
	pemBytes, err := decodeBase64(blob)
	if err != nil {
		v.add(option, "must be a base64-encoded PEM private key (cannot decode base64)")
		return
	}
	if _, err := parsePrivateKey(pemBytes); err != nil {
		v.add(option, "must be a base64-encoded PEM private key in PKCS#8, PKCS#1 or EC form (%v)", err)
	}
}

// blobPairMatches reports false only when both blobs decode and the key
// is not the certificate's: other faults are reported by the checks above.
func blobPairMatches(certBlob, keyBlob string) bool {
	certPEM, err1 := decodeBase64(certBlob)
	keyPEM, err2 := decodeBase64(keyBlob)
	if certBlob == "" || keyBlob == "" || err1 != nil || err2 != nil {
		return true
	}
	certs, err1 := parseCertificates(certPEM)
	key, err2 := parsePrivateKey(keyPEM)
	if err1 != nil || err2 != nil {
		return true
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(certs[0].PublicKey)
}

// decodeBase64 decodes a config blob the way the reference did: whitespace
// (line-wrapped base64) is ignored, and padding is optional.
func decodeBase64(s string) ([]byte, error) {
	s = strings.Join(strings.Fields(s), "")
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		b, err = base64.RawStdEncoding.DecodeString(s)
	}
	return b, err
}

// parseCertificates returns every CERTIFICATE block; text between blocks
// (as easyrsa writes) is skipped by pem.Decode.
func parseCertificates(b []byte) ([]*x509.Certificate, error) {
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

// parsePrivateKey returns the first private key block's key. Its errors
// are fixed strings so that no key material can leak into a message.
func parsePrivateKey(b []byte) (crypto.Signer, error) {
	for block, rest := pem.Decode(b); block != nil; block, rest = pem.Decode(rest) {
		if block.Type == "ENCRYPTED PRIVATE KEY" {
			return nil, errors.New("the key is encrypted")
		}
		if strings.HasSuffix(block.Type, "PRIVATE KEY") {
			if key, ok := parseKeyDER(block.Bytes); ok {
				return key, nil
			}
			return nil, errors.New("the private key does not parse")
		}
	}
	return nil, errors.New("no PEM private key found")
}

func parseKeyDER(der []byte) (crypto.Signer, bool) {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		s, ok := k.(crypto.Signer)
		return s, ok
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, true
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, true
	}
	return nil, false
}

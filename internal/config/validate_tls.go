package config

import (
	"crypto"
	"encoding/base64"
	"path/filepath"
	"strings"

	"github.com/canonical/docker-registry-charm/internal/pki"
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
	if _, err := pki.ParseCertificates(pemBytes); err != nil {
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
	if _, err := pki.ParsePrivateKey(pemBytes); err != nil {
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
	certs, err1 := pki.ParseCertificates(certPEM)
	key, err2 := pki.ParsePrivateKey(keyPEM)
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

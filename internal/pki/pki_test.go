package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/canonical/docker-registry-charm/internal/pki/pkitest"
)

func TestParseCertificatesSkipsText(t *testing.T) {
	ca := pkitest.NewCA(t, "x")
	leaf := ca.Issue(t, pkitest.Leaf{CommonName: "y"})
	certs, err := ParseCertificates([]byte("Certificate:\n    Data:\n        Version: 3\n" + string(leaf.CertPEM) + string(ca.CertPEM)))
	if err != nil || len(certs) != 2 || !certs[0].Equal(leaf.Cert) || !certs[1].Equal(ca.Cert) {
		t.Fatalf("certs=%d err=%v", len(certs), err)
	}
	if _, err := ParseCertificates([]byte("no pem here")); err == nil {
		t.Error("text without PEM parsed")
	}
	bad := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("garbage")})
	if _, err := ParseCertificates(bad); err == nil || strings.Contains(err.Error(), "garbage") {
		t.Errorf("garbage certificate: %v", err)
	}
}

func TestParsePrivateKeyForms(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	ecDER, _ := x509.MarshalECPrivateKey(ecKey)
	for name, b := range map[string]*pem.Block{
		"PKCS#8": {Type: "PRIVATE KEY", Bytes: pkcs8},
		"PKCS#1": {Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)},
		"EC":     {Type: "EC PRIVATE KEY", Bytes: ecDER},
	} {
		if _, err := ParsePrivateKey(pem.EncodeToMemory(b)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	enc := pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte("x")})
	if _, err := ParsePrivateKey(enc); err == nil || !strings.Contains(err.Error(), "encrypted") {
		t.Errorf("encrypted key: %v", err)
	}
	junk := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("secret-bytes")})
	if _, err := ParsePrivateKey(junk); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("unparsable key: %v", err)
	}
}

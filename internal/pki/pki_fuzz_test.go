package pki

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"testing"

	"github.com/canonical/docker-registry-charm/internal/pki/pkitest"
)

// Errors are fixed strings so that no key material reaches a status, log
// or action result: the fuzz targets check that every error is one of
// these.
var fixedErrors = map[string]bool{
	"a certificate does not parse":                 true,
	"no PEM certificate found":                     true,
	"the key is encrypted; provide it unencrypted": true,
	"the key is not PKCS#8, PKCS#1 or EC":          true,
	"no PEM private key found":                     true,
}

// FuzzParseCertificates reads any text as a certificate chain, as it
// comes from a tls-certificates provider (easyrsa: an OpenSSL text dump,
// then the PEM; layer-easyrsa src/reactive/easyrsa.py) or a config blob.
// A chain that parses re-encodes from its DER and parses to the same
// certificates.
func FuzzParseCertificates(f *testing.F) {
	ca := pkitest.NewCA(f, "easyrsa CA")
	leaf := ca.Issue(f, pkitest.Leaf{CommonName: "10.0.0.5"})
	f.Add([]byte("Certificate:\n    Data:\n        Version: 3 (0x2)\n" + string(leaf.CertPEM) + string(ca.CertPEM)))
	f.Add(leaf.KeyPEM)
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("garbage")}))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		certs, err := ParseCertificates(b)
		if err != nil {
			if !fixedErrors[err.Error()] || certs != nil {
				t.Fatalf("error %q (certs %d)", err, len(certs))
			}
			return
		}
		var again []byte
		for _, c := range certs {
			again = append(again, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
		}
		back, err := ParseCertificates(again)
		if err != nil || len(back) != len(certs) {
			t.Fatalf("re-encoded chain: %d certs, %v", len(back), err)
		}
		for i := range certs {
			if !back[i].Equal(certs[i]) {
				t.Fatalf("certificate %d changed", i)
			}
		}
	})
}

// FuzzParsePrivateKey reads any text as a private key (easyrsa's
// <unit>.server.key, tls-key-blob). A key that parses marshals to PKCS#8
// and parses back to the same key.
func FuzzParsePrivateKey(f *testing.F) {
	ca := pkitest.NewCA(f, "easyrsa CA")
	leaf := ca.Issue(f, pkitest.Leaf{CommonName: "10.0.0.5"})
	f.Add(leaf.KeyPEM)
	f.Add([]byte("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nS0VZ\n-----END RSA PRIVATE KEY-----\n"))
	f.Add([]byte("-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n" + string(leaf.KeyPEM)))
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{0x30, 0x00}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		key, err := ParsePrivateKey(b)
		if err != nil {
			if !fixedErrors[err.Error()] || key != nil {
				t.Fatalf("error %q", err)
			}
			return
		}
		if key == nil || key.Public() == nil {
			t.Fatal("no error and no usable key")
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatalf("parsed key does not marshal: %v", err)
		}
		back, err := ParsePrivateKey(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
		if err != nil {
			t.Fatalf("re-encoded key: %v", err)
		}
		pub, ok := back.Public().(interface{ Equal(crypto.PublicKey) bool })
		if !ok || !pub.Equal(key.Public()) {
			t.Fatal("key changed in the round trip")
		}
	})
}

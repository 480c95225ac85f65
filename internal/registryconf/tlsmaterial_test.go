package registryconf

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/canonical/docker-registry-charm/internal/pki"
	"github.com/canonical/docker-registry-charm/internal/pki/pkitest"
	"github.com/canonical/docker-registry-charm/internal/testing/charmconfig"
)

func blob64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// testNow is the fixed "current time" of these tests.
var testNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

var certSerial int64

// testCA is a self-signed CA that issues server certificates.
type testCA struct {
	cert    *x509.Certificate
	key     crypto.Signer
	certPEM []byte
}

func newCA(t *testing.T) testCA {
	t.Helper()
	key := ecKey(t)
	tmpl := certTemplate("Test CA", testNow.Add(-24*time.Hour), testNow.Add(365*24*time.Hour))
	tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	tmpl.KeyUsage = x509.KeyUsageCertSign
	cert, certPEM := pkitest.Sign(t, tmpl, tmpl, key.Public(), key)
	return testCA{cert, key, certPEM}
}

type leafOpts struct {
	key       crypto.Signer
	notBefore time.Time
	notAfter  time.Time
	ips       []string
	dns       []string
	usage     []x509.ExtKeyUsage
}

// issue signs a server certificate for o.key; zero fields get sane values.
func (ca testCA) issue(t *testing.T, o leafOpts) []byte {
	t.Helper()
	if o.notBefore.IsZero() {
		o.notBefore, o.notAfter = testNow.Add(-time.Hour), testNow.Add(90*24*time.Hour)
	}
	if o.usage == nil {
		o.usage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	tmpl := certTemplate("10.0.0.5", o.notBefore, o.notAfter)
	tmpl.ExtKeyUsage, tmpl.DNSNames = o.usage, o.dns
	for _, ip := range o.ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(ip))
	}
	_, certPEM := pkitest.Sign(t, tmpl, ca.cert, o.key.Public(), ca.key)
	return certPEM
}

func certTemplate(cn string, notBefore, notAfter time.Time) *x509.Certificate {
	certSerial++
	return &x509.Certificate{
		SerialNumber: big.NewInt(certSerial),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
	}
}

func ecKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var rsaKeyCache *rsa.PrivateKey

func rsaKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	if rsaKeyCache == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		rsaKeyCache = k
	}
	return rsaKeyCache
}

func pkcs1PEM(k *rsa.PrivateKey) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
}

func pkcs8PEM(t *testing.T, k crypto.Signer) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func ecPEM(t *testing.T, k *ecdsa.PrivateKey) []byte {
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
}

// easyrsaText is the human-readable dump easyrsa writes before the PEM.
const easyrsaText = `Certificate:
    Data:
        Version: 3 (0x2)
        Serial Number:
            5e:1c:00:aa
    Signature Algorithm: sha256WithRSAEncryption
        Issuer: CN=Test CA
        Validity
            Not Before: Jan  1 00:00:00 2026 GMT
`

func TestCheckServingAccepts(t *testing.T) {
	ca := newCA(t)
	ec := ecKey(t)
	rsaK := rsaKey(t)
	tests := []struct {
		name  string
		m     pki.Material
		addrs []string
	}{
		{"EC key, no CA, no address", pki.Material{Cert: ca.issue(t, leafOpts{key: ec}), Key: ecPEM(t, ec)}, nil},
		{"RSA PKCS#1 with CA and IP SAN", pki.Material{Cert: ca.issue(t, leafOpts{key: rsaK, ips: []string{"10.0.0.5"}}), Key: pkcs1PEM(rsaK), CA: ca.certPEM}, []string{"10.0.0.5", "10.9.9.9"}},
		{"RSA PKCS#8 with DNS SAN and port", pki.Material{Cert: ca.issue(t, leafOpts{key: rsaK, dns: []string{"registry.example.com"}}), Key: pkcs8PEM(t, rsaK), CA: ca.certPEM}, []string{"registry.example.com:5000"}},
		{"EC PKCS#8", pki.Material{Cert: ca.issue(t, leafOpts{key: ec}), Key: pkcs8PEM(t, ec)}, nil},
		{"easyrsa text before PEM", pki.Material{
			Cert: append([]byte(easyrsaText), ca.issue(t, leafOpts{key: ec, ips: []string{"10.0.0.5"}})...),
			Key:  ecPEM(t, ec),
			CA:   append([]byte(easyrsaText), ca.certPEM...),
		}, []string{"10.0.0.5"}},
		{"no extended key usage", pki.Material{Cert: ca.issue(t, leafOpts{key: ec, usage: []x509.ExtKeyUsage{}}), Key: ecPEM(t, ec), CA: ca.certPEM}, nil},
		{"any extended key usage", pki.Material{Cert: ca.issue(t, leafOpts{key: ec, usage: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}), Key: ecPEM(t, ec), CA: ca.certPEM}, nil},
	}
	for _, tt := range tests {
		if err := CheckServing(tt.m, testNow, tt.addrs); err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}

func TestCheckServingRejects(t *testing.T) {
	ca, otherCA := newCA(t), newCA(t)
	ec, otherEC := ecKey(t), ecKey(t)
	good := ca.issue(t, leafOpts{key: ec, ips: []string{"10.0.0.5"}})
	tests := []struct {
		name  string
		m     pki.Material
		addrs []string
		want  string
	}{
		{"wrong key", pki.Material{Cert: good, Key: ecPEM(t, otherEC)}, nil, "certificate and key do not match"},
		{"expired", pki.Material{Cert: ca.issue(t, leafOpts{key: ec, notBefore: testNow.AddDate(-1, 0, 0), notAfter: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}), Key: ecPEM(t, ec)}, nil, "certificate expired on 2026-01-01 00:00 UTC"},
		{"not yet valid", pki.Material{Cert: ca.issue(t, leafOpts{key: ec, notBefore: testNow.Add(48 * time.Hour), notAfter: testNow.AddDate(1, 0, 0)}), Key: ecPEM(t, ec)}, nil, "certificate is not valid before 2026-06-03 12:00 UTC"},
		{"wrong CA", pki.Material{Cert: good, Key: ecPEM(t, ec), CA: otherCA.certPEM}, nil, "certificate is not signed by the CA"},
		{"client-only usage", pki.Material{Cert: ca.issue(t, leafOpts{key: ec, usage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}), Key: ecPEM(t, ec), CA: ca.certPEM}, nil, "not valid for TLS server authentication"},
		{"wrong SAN", pki.Material{Cert: good, Key: ecPEM(t, ec)}, []string{"10.0.0.6"}, "certificate does not cover 10.0.0.6"},
		{"wrong DNS", pki.Material{Cert: good, Key: ecPEM(t, ec)}, []string{"other.example.com:5000"}, "certificate does not cover other.example.com"},
		{"no certificate", pki.Material{Cert: ecPEM(t, ec), Key: ecPEM(t, ec)}, nil, "cannot parse certificate: no PEM certificate found"},
		{"no key", pki.Material{Cert: good, Key: good}, nil, "cannot parse private key: no PEM private key found"},
		{"encrypted key", pki.Material{Cert: good, Key: pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}})}, nil, "the key is encrypted"},
		{"garbage key", pki.Material{Cert: good, Key: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("SECRETBYTES")})}, nil, "the key is not PKCS#8, PKCS#1 or EC"},
		{"garbage CA", pki.Material{Cert: good, Key: ecPEM(t, ec), CA: []byte("nothing")}, nil, "cannot parse CA certificate"},
	}
	for _, tt := range tests {
		err := CheckServing(tt.m, testNow, tt.addrs)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want ...%s...", tt.name, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "SECRETBYTES") {
			t.Errorf("%s: error quotes key material", tt.name)
		}
	}
}

func TestCheckServingWithIntermediate(t *testing.T) {
	root := newCA(t)
	interKey := ecKey(t)
	tmpl := certTemplate("Intermediate", testNow.Add(-time.Hour), testNow.AddDate(1, 0, 0))
	tmpl.IsCA, tmpl.BasicConstraintsValid, tmpl.KeyUsage = true, true, x509.KeyUsageCertSign
	interCert, interPEM := pkitest.Sign(t, tmpl, root.cert, interKey.Public(), root.key)
	inter := testCA{interCert, interKey, interPEM}
	leafKey := ecKey(t)
	chain := append(inter.issue(t, leafOpts{key: leafKey}), interPEM...)
	if err := CheckServing(pki.Material{Cert: chain, Key: ecPEM(t, leafKey), CA: root.certPEM}, testNow, nil); err != nil {
		t.Fatal(err)
	}
}

func TestNormalizePEM(t *testing.T) {
	ca := newCA(t)
	ec := ecKey(t)
	certPEM := ca.issue(t, leafOpts{key: ec})
	in := append(append([]byte(easyrsaText), certPEM...), []byte("trailing words\n")...)
	in = append(in, ca.certPEM...)
	want := append(append([]byte(nil), certPEM...), ca.certPEM...)
	if got := NormalizePEM(in); !bytes.Equal(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if got := NormalizePEM([]byte("no pem here")); got != nil {
		t.Fatalf("got %q, want nil", got)
	}
}

func TestDecodeBlob(t *testing.T) {
	data := []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
	enc := blob64(data)
	wrapped := enc[:20] + "\n" + enc[20:40] + "\r\n  " + enc[40:] + "\n"
	for name, in := range map[string]string{
		"plain":     enc,
		"wrapped":   wrapped,
		"unpadded":  strings.TrimRight(enc, "="),
		"surrounds": "  " + enc + "\n",
	} {
		got, err := DecodeBlob(in)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s: got %q, %v", name, got, err)
		}
	}
	if _, err := DecodeBlob("not*base64"); err == nil || !strings.HasPrefix(err.Error(), "cannot decode base64") {
		t.Errorf("got %v", err)
	}
}

func TestTokenRootCertBundle(t *testing.T) {
	ca1, ca2 := newCA(t), newCA(t)
	in := append(append([]byte(easyrsaText), ca1.certPEM...), ca2.certPEM...)
	c := charmconfig.Defaults(t)
	c.AuthTokenRootCerts = blob64(in)
	got, err := TokenRootCertBundle(c)
	if err != nil {
		t.Fatal(err)
	}
	if want := append(append([]byte(nil), ca1.certPEM...), ca2.certPEM...); !bytes.Equal(got, want) {
		t.Fatalf("got\n%s", got)
	}
	c.AuthTokenRootCerts = blob64([]byte("no certificates"))
	if _, err := TokenRootCertBundle(c); err == nil {
		t.Fatal("want error for a bundle without certificates")
	}
}

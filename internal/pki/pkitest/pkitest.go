// Package pkitest issues throwaway certificates for tests (and the image
// benchmark's TLS registries): an ECDSA P-256 CA and the server or client
// certificates it signs, as parsed certificates and PEM. Keys are written
// as "EC PRIVATE KEY" blocks. It is for tests only; nothing the charm runs
// may import it.
package pkitest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"sync/atomic"
	"time"
)

// TB is the part of testing.TB the helpers use: they call Fatal on an
// error. A *testing.T or *testing.B is one; it is not testing.TB itself so
// that the image benchmark program can pass its own.
type TB interface {
	Helper()
	Fatal(args ...any)
}

// CA is a self-signed certificate authority. Every certificate it issues
// has a serial number of its own (the CA's is 1, then 2, 3, ...), so a
// test can tell which certificate served a connection.
type CA struct {
	Cert    *x509.Certificate
	CertPEM []byte
	key     *ecdsa.PrivateKey
	serial  atomic.Int64
}

// Leaf is the certificate Issue makes.
type Leaf struct {
	CommonName string   // empty: the first of IPs
	IPs        []string // IP address SANs
	Client     bool     // client authentication instead of server
}

// Pair is an issued certificate and its key.
type Pair struct {
	Cert    *x509.Certificate
	CertPEM []byte
	KeyPEM  []byte
	key     *ecdsa.PrivateKey
}

// NewCA makes a CA valid from an hour ago to a day from now.
func NewCA(t TB, commonName string) *CA {
	t.Helper()
	ca := &CA{}
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: commonName},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	ca.key = newKey(t)
	ca.Cert, ca.CertPEM = ca.signNext(t, tmpl, ca.key, nil)
	return ca
}

// Issue signs a certificate for a fresh key, valid for as long as the CA.
func (ca *CA) Issue(t TB, l Leaf) Pair {
	t.Helper()
	usage := x509.ExtKeyUsageServerAuth
	if l.Client {
		usage = x509.ExtKeyUsageClientAuth
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: l.CommonName},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{usage},
	}
	for _, s := range l.IPs {
		ip := net.ParseIP(s)
		if ip == nil {
			t.Fatal("pkitest: not an IP address: " + s)
		}
		tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
	}
	if tmpl.Subject.CommonName == "" && len(l.IPs) > 0 {
		tmpl.Subject.CommonName = l.IPs[0]
	}
	p := Pair{key: newKey(t)}
	p.Cert, p.CertPEM = ca.signNext(t, tmpl, p.key, ca.Cert)
	der, err := x509.MarshalECPrivateKey(p.key)
	if err != nil {
		t.Fatal(err)
	}
	p.KeyPEM = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
	return p
}

// Pool is a certificate pool holding only the CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// TLS is the pair as a tls.Config certificate.
func (p Pair) TLS() tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{p.Cert.Raw}, PrivateKey: p.key, Leaf: p.Cert}
}

// signNext gives tmpl the CA's next serial and its validity, and signs
// key's public half with the CA key; parent nil means self-signed.
func (ca *CA) signNext(t TB, tmpl *x509.Certificate, key *ecdsa.PrivateKey, parent *x509.Certificate) (*x509.Certificate, []byte) {
	t.Helper()
	tmpl.SerialNumber = big.NewInt(ca.serial.Add(1))
	if parent == nil {
		parent = tmpl
		tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
	} else {
		tmpl.NotBefore, tmpl.NotAfter = parent.NotBefore, parent.NotAfter
	}
	return Sign(t, tmpl, parent, &key.PublicKey, ca.key)
}

// Sign makes the certificate tmpl for pub, signed by signer as parent
// (tmpl itself for a self-signed one), and returns it parsed and as PEM.
// It is for certificates Issue does not make: a fixed clock, a given key,
// unusual key usages.
func Sign(t TB, tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) (*x509.Certificate, []byte) {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func newKey(t TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

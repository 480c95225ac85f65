package pkitest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"testing"
)

func TestIssuedCertificatesVerify(t *testing.T) {
	ca := NewCA(t, "test CA")
	srv := ca.Issue(t, Leaf{IPs: []string{"127.0.0.1"}})
	client := ca.Issue(t, Leaf{CommonName: "charm", Client: true})
	for _, c := range []struct {
		p     Pair
		usage x509.ExtKeyUsage
		cn    string
	}{{srv, x509.ExtKeyUsageServerAuth, "127.0.0.1"}, {client, x509.ExtKeyUsageClientAuth, "charm"}} {
		opts := x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{c.usage}}
		if _, err := c.p.Cert.Verify(opts); err != nil || c.p.Cert.Subject.CommonName != c.cn {
			t.Errorf("%s: %v", c.p.Cert.Subject.CommonName, err)
		}
		if b, _ := pem.Decode(c.p.KeyPEM); b == nil || b.Type != "EC PRIVATE KEY" {
			t.Errorf("%s: key PEM %q", c.cn, c.p.KeyPEM)
		}
		if _, err := tls.X509KeyPair(c.p.CertPEM, c.p.KeyPEM); err != nil {
			t.Errorf("%s: %v", c.cn, err)
		}
	}
	if err := srv.Cert.VerifyHostname("127.0.0.1"); err != nil {
		t.Error(err)
	}
	if got := srv.TLS(); got.Leaf != srv.Cert || got.PrivateKey == nil {
		t.Errorf("TLS() = %+v", got)
	}
	for i, c := range []*x509.Certificate{ca.Cert, srv.Cert, client.Cert} {
		if got := c.SerialNumber.Int64(); got != int64(i+1) {
			t.Errorf("%s: serial %d, want %d", c.Subject.CommonName, got, i+1)
		}
	}
}

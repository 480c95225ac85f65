package charm

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/canonical/docker-registry-charm/internal/pki/pkitest"
	"github.com/canonical/docker-registry-charm/internal/testing/sim"
)

const (
	servedCert = "/etc/docker/registry/registry.crt"
	servedKey  = "/etc/docker/registry/registry.key"
	unitAddr   = "127.0.10.1"
)

func blobs(p pkitest.Pair, ca *pkitest.CA) map[string]any {
	b := base64.StdEncoding.EncodeToString
	return map[string]any{"tls-cert-blob": b(p.CertPEM), "tls-key-blob": b(p.KeyPEM), "tls-ca-blob": b(ca.CertPEM), "tls-client-auth": "none"}
}

// Once TLS serves, a certificate the charm cannot serve never turns it
// off: the last good certificate keeps serving, status is blocked naming
// the option, and workers keep their https data (issue: TLS fails open).
func TestTLSFromConfigFailsClosed(t *testing.T) {
	ca := pkitest.NewCA(t, "test CA")
	good := ca.Issue(t, pkitest.Leaf{IPs: []string{unitAddr}})
	other := ca.Issue(t, pkitest.Leaf{IPs: []string{"127.0.99.9"}})
	b64 := base64.StdEncoding.EncodeToString

	for name, bad := range map[string]func(h *harness) map[string]any{
		"garbage": func(*harness) map[string]any {
			return map[string]any{"tls-cert-blob": b64([]byte("not a certificate\n")), "tls-key-blob": b64(good.KeyPEM)}
		},
		"key of another certificate": func(*harness) map[string]any {
			return map[string]any{"tls-cert-blob": b64(good.CertPEM), "tls-key-blob": b64(other.KeyPEM)}
		},
		"for other names": func(*harness) map[string]any { return blobs(other, ca) },
		"expired": func(h *harness) map[string]any {
			h.now = time.Now().Add(48 * time.Hour) // the CA and its leaves last a day
			return blobs(ca.Issue(t, pkitest.Leaf{IPs: []string{unitAddr}}), ca)
		},
		"not yet valid": func(h *harness) map[string]any {
			h.now = time.Now().Add(-time.Hour - 10*time.Minute) // leaves start an hour ago
			return blobs(ca.Issue(t, pkitest.Leaf{IPs: []string{unitAddr}}), ca)
		},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.must(h.model.SetConfig(ctx, blobs(good, ca)))
			h.must(h.model.Deploy(ctx, 1))
			clients, err := h.model.Relate(ctx, "docker-registry", "containerd", sim.RemoteUnit{Name: "containerd/0"})
			h.must(err)
			h.wantStatus(unit0, "active", "Ready at 127.0.10.1:5000 (https).")
			before := h.file(unit0, "/etc/docker/registry/config.yml")
			published := h.model.RelationData(clients, unit0)

			h.must(h.model.SetConfig(ctx, bad(h)))
			// Garbage and a key that is not the certificate's are
			// invalid options (config validation); the rest is found
			// when the pair is checked for serving. Both name the
			// option and keep what serves.
			if st := h.status(unit0); st.Name != "blocked" || !strings.Contains(st.Message, "tls-cert-blob") && !strings.Contains(st.Message, "tls-key-blob") {
				t.Errorf("status %s %q, want blocked naming tls-cert-blob or tls-key-blob", st.Name, st.Message)
			}
			if got := h.file(unit0, servedCert); got != string(good.CertPEM) {
				t.Errorf("the served certificate changed:\n%s", got)
			}
			if got := h.file(unit0, "/etc/docker/registry/config.yml"); got != before {
				t.Errorf("config.yml changed:\n%s", got)
			}
			after := h.model.RelationData(clients, unit0)
			for _, k := range []string{"registry_url", "tls_ca", "registry_netloc"} {
				if after[k] != published[k] {
					t.Errorf("workers told %s %q, was %q", k, after[k], published[k])
				}
			}
			if !strings.Contains(after["registry_url"], "https://") {
				t.Errorf("registry_url %q", after["registry_url"])
			}

			// A good pair again: served, status active.
			h.now = time.Now()
			fresh := ca.Issue(t, pkitest.Leaf{IPs: []string{unitAddr}})
			h.must(h.model.SetConfig(ctx, blobs(fresh, ca)))
			h.wantStatus(unit0, "active", "Ready at 127.0.10.1:5000 (https).")
			if got := h.file(unit0, servedCert); got != string(fresh.CertPEM) {
				t.Error("the new good certificate was not installed")
			}
		})
	}
}

// The same through cert-provider: an answer that turns bad after TLS
// served keeps the last good certificate, and workers keep https.
func TestTLSFromRelationFailsClosed(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 1))
	clients, err := h.model.Relate(ctx, "docker-registry", "containerd", sim.RemoteUnit{Name: "containerd/0"})
	h.must(err)
	ca := pkitest.NewCA(t, "easyrsa")
	good := ca.Issue(t, pkitest.Leaf{IPs: []string{unitAddr}})
	answer := map[string]string{"ca": string(ca.CertPEM),
		"docker-registry_0.server.cert": string(good.CertPEM), "docker-registry_0.server.key": string(good.KeyPEM)}
	certs, err := h.model.Relate(ctx, "cert-provider", "easyrsa", sim.RemoteUnit{Name: "easyrsa/0", Data: answer})
	h.must(err)
	h.wantStatus(unit0, "active", "Ready at 127.0.10.1:5000 (https).")
	published := h.model.RelationData(clients, unit0)

	other := ca.Issue(t, pkitest.Leaf{IPs: []string{"127.0.99.9"}})
	h.must(h.model.SetRemoteData(ctx, certs, "easyrsa/0", map[string]string{
		"docker-registry_0.server.cert": string(other.CertPEM), "docker-registry_0.server.key": string(other.KeyPEM)}))
	h.wantStatus(unit0, "blocked", "Certificate from cert-provider is unusable (certificate does not cover 127.0.10.1)")
	if got := h.file(unit0, servedCert); got != string(good.CertPEM) {
		t.Error("the served certificate changed")
	}
	if got := h.model.RelationData(clients, unit0); got["tls_ca"] != published["tls_ca"] || got["registry_url"] != published["registry_url"] {
		t.Errorf("workers' data changed: %v, was %v", got, published)
	}

	// The provider loses the answer (its data is rebuilt): still https.
	h.must(h.model.SetRemoteData(ctx, certs, "easyrsa/0", map[string]string{
		"docker-registry_0.server.cert": "", "docker-registry_0.server.key": ""}))
	h.wantStatus(unit0, "waiting", "Waiting for a server certificate from cert-provider; serving the last good certificate")
	if got := h.file(unit0, servedCert); got != string(good.CertPEM) {
		t.Error("the served certificate changed")
	}

	// The operator removes the relation: http is their choice.
	h.must(h.model.Unrelate(ctx, certs))
	h.wantStatus(unit0, "active", "Ready at 127.0.10.1:5000 (http).")
}

// A provider whose clock runs a few minutes ahead issues certificates
// that start in the unit's future: accepted within ClockSkew.
func TestCertificateWithinClockSkewServes(t *testing.T) {
	h := newHarness(t)
	ca := pkitest.NewCA(t, "test CA")
	p := ca.Issue(t, pkitest.Leaf{IPs: []string{unitAddr}})
	h.now = p.Cert.NotBefore.Add(-3 * time.Minute)
	h.must(h.model.SetConfig(ctx, blobs(p, ca)))
	h.must(h.model.Deploy(ctx, 1))
	h.wantStatus(unit0, "active", "Ready at 127.0.10.1:5000 (https).")
}

// Status warns before the served certificate expires, in update-status
// too (it makes no tool call until the status changes).
func TestStatusWarnsBeforeTheCertificateExpires(t *testing.T) {
	h := newHarness(t)
	cert, key := selfSigned(t, unitAddr, h.now.Add(30*24*time.Hour))
	b := base64.StdEncoding.EncodeToString
	h.must(h.model.SetConfig(ctx, map[string]any{"tls-cert-blob": b(cert), "tls-key-blob": b(key)}))
	h.must(h.model.Deploy(ctx, 1))
	if msg := h.status(unit0).Message; msg != "Ready at 127.0.10.1:5000 (https)." {
		t.Errorf("30 days ahead: %q", msg)
	}
	h.now = h.now.Add(25 * 24 * time.Hour)
	h.must(h.model.UpdateStatus(ctx))
	h.wantStatus(unit0, "active", "Ready at 127.0.10.1:5000 (https). TLS certificate expires in 4 days: renew it.")
}

// selfSigned is a certificate for ip, valid from an hour ago to notAfter.
func selfSigned(t *testing.T, ip string, notAfter time.Time) (certPEM, keyPEM []byte) {
	t.Helper()
	return selfSignedFrom(t, ip, time.Now().Add(-time.Hour), notAfter)
}

// selfSignedFrom is a certificate for ip, valid from notBefore to notAfter.
func selfSignedFrom(t *testing.T, ip string, notBefore, notAfter time.Time) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7),
		Subject:      pkix.Name{CommonName: ip},
		IPAddresses:  []net.IP{net.ParseIP(ip)},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

package sim_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"testing"

	"github.com/canonical/docker-registry-charm/tests/sim"
)

func TestEasyRSAAnswersCertificateRequests(t *testing.T) {
	c := &charm{}
	m := deploy(t, c, 1)
	ca, err := sim.NewEasyRSA("easyrsa")
	if err != nil {
		t.Fatal(err)
	}
	ca.Attach(m)
	var cert, key string
	c.fn = func(h *hook) int {
		switch h.event() {
		case "cert-provider-relation-joined":
			h.tool("relation-set", "common_name=127.0.10.1", `sans=["127.0.10.1", "registry.internal"]`,
				"unit_name=docker-registry_0")
		case "cert-provider-relation-changed":
			cert, _ = h.tool("relation-get", "docker-registry_0.server.cert")
			key, _ = h.tool("relation-get", "docker-registry_0.server.key")
		}
		return 0
	}
	if _, err := m.Relate(context.Background(), "cert-provider", "easyrsa", sim.RemoteUnit{Name: "easyrsa/0"}); err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair([]byte(cert), []byte(key))
	if err != nil {
		t.Fatalf("published pair does not load: %v", err)
	}
	leaf, _ := x509.ParseCertificate(pair.Certificate[0])
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.CA())
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "registry.internal"}); err != nil {
		t.Errorf("server cert does not verify for its SAN: %v", err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "127.0.10.1"}); err != nil {
		t.Errorf("server cert does not verify for its IP: %v", err)
	}
}

package e2e

import (
	"testing"

	"github.com/canonical/docker-registry-charm/internal/testing/deploy"
)

// TLS from the tls-*-blob options: the registry serves https with the
// operator's certificate, verified against their CA, and tls-client-auth
// decides whether clients must present a certificate signed by that CA:
// none (not asked), require (the default: no certificate, no service),
// verify-if-given (checked only when presented).
func TestTLSFromBlobs(t *testing.T) {
	u := regDeploy(t, nil)
	pki := newRegPKI(t)
	other := newRegPKI(t) // a CA the registry does not trust

	u.Configure(pki.TLSConfig(t, u.Addr, "none"))
	u.WantReady(5000, "https")
	trusting := deploy.Client{Env: u.E, CAPEM: pki.CAPEM}
	im := u.Push(trusting, 5000, "demo/tls:v1")
	if err := u.PullByDigest(trusting, 5000, im); err != nil {
		t.Fatalf("pull over https: %v", err)
	}
	wantTLS(t, u, trusting, true, "none: a client trusting the CA, without a certificate")
	wantTLS(t, u, deploy.Client{Env: u.E, CAPEM: other.CAPEM}, false, "a client trusting another CA")

	// The default: require a client certificate signed by the CA.
	u.Configure(map[string]any{"tls-client-auth": nil})
	u.WantReady(5000, "https")
	wantTLS(t, u, trusting, false, "require: a client without a certificate")
	withCert := deploy.Client{Env: u.E, CAPEM: pki.CAPEM, ClientCert: &pki.ClientCert}
	wantTLS(t, u, withCert, true, "require: a client with a certificate from the CA")
	wantTLS(t, u, deploy.Client{Env: u.E, CAPEM: pki.CAPEM, ClientCert: &other.ClientCert}, false,
		"require: a client with a certificate from another CA")
	if err := u.PullByDigest(withCert, 5000, im); err != nil {
		t.Fatalf("require: pull with a client certificate: %v", err)
	}
	if err := u.PullByDigest(trusting, 5000, im); err == nil {
		t.Fatal("require: pull without a client certificate succeeded")
	}

	u.Configure(map[string]any{"tls-client-auth": "verify-if-given"})
	u.WantReady(5000, "https")
	wantTLS(t, u, trusting, true, "verify-if-given: a client without a certificate")
	wantTLS(t, u, withCert, true, "verify-if-given: a client with a certificate from the CA")
	wantTLS(t, u, deploy.Client{Env: u.E, CAPEM: pki.CAPEM, ClientCert: &other.ClientCert}, false,
		"verify-if-given: a client with a certificate from another CA")
	if err := u.PullByDigest(trusting, 5000, im); err != nil {
		t.Fatalf("verify-if-given: pull without a client certificate: %v", err)
	}

	// Dropping the blobs serves plain http again, with the same data.
	u.Configure(map[string]any{"tls-cert-blob": "", "tls-key-blob": "", "tls-ca-blob": "", "tls-client-auth": nil})
	u.WantReady(5000, "http")
	if err := u.PullByDigest(deploy.Client{Env: u.E}, 5000, im); err != nil {
		t.Fatalf("pull over http after TLS was turned off: %v", err)
	}
}

// wantTLS checks whether GET /v2/ over https succeeds (200) for c.
func wantTLS(t *testing.T, u *regUnit, c deploy.Client, ok bool, what string) {
	t.Helper()
	resp, err := u.Get(c, "https", 5000, "/v2/", "", "")
	switch {
	case ok && err != nil:
		t.Fatalf("%s: GET /v2/: %v", what, err)
	case ok && resp.StatusCode != 200:
		t.Fatalf("%s: GET /v2/ answered %d, want 200", what, resp.StatusCode)
	case !ok && err == nil:
		t.Fatalf("%s: GET /v2/ answered %d, want the TLS handshake refused", what, resp.StatusCode)
	case !ok:
		t.Logf("%s: refused as expected: %v", what, err)
	}
}

package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"

	ggcrremote "github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/canonical/docker-registry-charm/internal/testing/deploy"
	"github.com/canonical/docker-registry-charm/internal/testing/remote"
	"github.com/canonical/docker-registry-charm/internal/testing/sim"
)

// The packed charm against a provider of the CSR format of
// tls-certificates (tls_certificates_interface v4, modelled on
// self-signed-certificates-operator in internal/testing/remote/tlsv4provider.go):
// https with the provider's certificate for the unit's own key, verified
// by a client trusting the provider's CA; renewal; revocation (the last
// good certificate keeps serving until the provider issues a new one, from
// a new CA); a SAN change; removal back to http.
func TestRelationsTLSv4Provider(t *testing.T) {
	t.Parallel()
	u := regDeploy(t, nil)
	e := u.E
	ctx := context.Background()
	direct := u.Netloc(5000)

	p, err := remote.NewTLSv4Provider()
	if err != nil {
		t.Fatal(err)
	}
	p.Attach(e.Model)
	rel, err := e.Model.Relate(ctx, "cert-provider", "self-signed-certificates", sim.RemoteUnit{Name: "self-signed-certificates/0"})
	if err != nil {
		t.Fatalf("relate cert-provider: %v\n%s", err, u.LogTail(30))
	}
	u.WantReady(5000, "https")

	// The key stays on the unit, root-only; only the CSR travels.
	if got := strings.TrimSpace(u.Run("stat", "-c", "%a %U", "/var/lib/docker-registry-charm/tls-v4.key")); got != "600 root" {
		t.Errorf("tls-v4.key is %q, want 600 root", got)
	}
	for k, v := range e.Model.RelationData(rel, unit0) {
		if strings.Contains(v, "PRIVATE KEY") {
			t.Errorf("our cert-provider bag publishes a private key under %s", k)
		}
	}
	csr := v4CSR(t, e, rel)
	issued, ok := p.CertificateFor(rel, csr)
	if !ok {
		t.Fatal("the provider issued nothing for our CSR")
	}
	// tls-client-auth is require (the default): a client needs a
	// certificate from the provider's CA.
	client := v4Client(t, p)
	if err := relWaitServed(ctx, e, direct, p.CAPEM, client, issued); err != nil {
		t.Fatalf("registry does not serve the provider's certificate: %v\n%s", err, u.LogTail(30))
	}
	c := deploy.Client{Env: e, CAPEM: []byte(p.CAPEM), ClientCert: client}
	im := u.Push(c, 5000, "v4/app:1")
	if err := u.PullByDigest(c, 5000, im); err != nil {
		t.Fatalf("pull over verified TLS: %v", err)
	}

	// Renewal: a new certificate for the same CSR is served.
	if err := p.Renew(ctx, e.Model, rel); err != nil {
		t.Fatal(err)
	}
	renewed, _ := p.CertificateFor(rel, csr)
	if renewed.Equal(issued) {
		t.Fatal("the provider did not renew")
	}
	if err := relWaitServed(ctx, e, direct, p.CAPEM, client, renewed); err != nil {
		t.Fatalf("the renewed certificate is not served: %v\n%s", err, u.LogTail(30))
	}
	if v4CSR(t, e, rel) != csr {
		t.Error("the unit published a new CSR on renewal")
	}

	// Revocation with a new CA (rotate-private-key): the revoked
	// certificate keeps serving, status says why, until the new one.
	oldCA := p.CAPEM
	if err := p.RotateCA(ctx, e.Model, rel); err != nil {
		t.Fatal(err)
	}
	u.WantStatus("blocked", "Certificate from cert-provider was revoked", "serving the last good certificate")
	if err := relWaitServed(ctx, e, direct, oldCA, client, renewed); err != nil {
		t.Fatalf("the last good certificate stopped serving on revocation: %v", err)
	}
	if err := p.Configure(ctx, e.Model, rel); err != nil {
		t.Fatal(err)
	}
	u.WantReady(5000, "https")
	reissued, _ := p.CertificateFor(rel, csr)
	client = v4Client(t, p)
	if err := relWaitServed(ctx, e, direct, p.CAPEM, client, reissued); err != nil {
		t.Fatalf("the certificate from the new CA is not served: %v\n%s", err, u.LogTail(30))
	}
	c = deploy.Client{Env: e, CAPEM: []byte(p.CAPEM), ClientCert: client}
	if err := u.PullByDigest(c, 5000, im); err != nil {
		t.Fatalf("pull trusting the new CA: %v", err)
	}

	// A SAN change: http-host's name is asked for in a new CSR and served.
	u.Configure(map[string]any{"http-host": "https://registry.example.com"})
	u.WantStatus("active", "(https)")
	if v4CSR(t, e, rel) == csr {
		t.Fatal("no new CSR for the new name")
	}
	served, err := relServedCert(ctx, e, direct, p.CAPEM, client)
	if err != nil || served.VerifyHostname("registry.example.com") != nil {
		t.Fatalf("the served certificate does not name registry.example.com: %v", err)
	}

	// Removal: http again, the same data.
	if err := e.Model.Unrelate(ctx, rel); err != nil {
		t.Fatal(err)
	}
	u.WantReady(5000, "http")
	if err := u.PullByDigest(deploy.Client{Env: e}, 5000, im); err != nil {
		t.Fatalf("pull over http after the relation was removed: %v", err)
	}
}

// v4CSR is the one CSR our unit publishes on rel.
func v4CSR(t *testing.T, e *deploy.Env, rel int) string {
	t.Helper()
	var list []struct {
		CSR string `json:"certificate_signing_request"`
	}
	raw := e.Model.RelationData(rel, unit0)["certificate_signing_requests"]
	if err := json.Unmarshal([]byte(raw), &list); err != nil || len(list) != 1 {
		t.Fatalf("certificate_signing_requests %q: want one request", raw)
	}
	return list[0].CSR
}

// v4Client is a client certificate from the provider's current CA, for a
// key of the test's own.
func v4Client(t *testing.T, p *remote.TLSv4Provider) *tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "test client"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := p.SignFor(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode([]byte(cert))
	return &tls.Certificate{Certificate: [][]byte{b.Bytes}, PrivateKey: key}
}

// The push action into a registry serving the v4 provider's certificate
// with client certificates required (the default): the charm's own client
// trusts the provider's CA and presents the unit's certificate, whose CSR
// asked for client authentication, which the provider copies.
func TestActionsPushTLSv4UnitCertificate(t *testing.T) {
	t.Parallel()
	e := deploy.New(t)
	ctx := context.Background()
	adminPW := randomSecret(t)
	netloc := deployOne(t, e, map[string]any{"auth-basic-password": adminPW})
	p, err := remote.NewTLSv4Provider()
	if err != nil {
		t.Fatal(err)
	}
	p.Attach(e.Model)
	if _, err := e.Model.Relate(ctx, "cert-provider", "self-signed-certificates", sim.RemoteUnit{Name: "self-signed-certificates/0"}); err != nil {
		t.Fatal(err)
	}
	if st := e.Model.Unit(unit0).Status(); st.Name != "active" || !strings.HasPrefix(st.Message, "Ready at "+netloc+" (https).") {
		t.Fatalf("status = %s %q", st.Name, st.Message)
	}
	worker := deploy.Client{Env: e, CAPEM: []byte(p.CAPEM), User: "admin", Password: adminPW, ClientCert: v4Client(t, p)}
	ref, err := worker.Ref(netloc, "hello:multi")
	if err != nil {
		t.Fatal(err)
	}
	noCert := worker
	noCert.ClientCert = nil
	if _, err := ggcrremote.Head(ref, noCert.Options()...); err == nil {
		t.Fatal("the registry accepted a client without a certificate")
	}
	r, err := e.Machine(unit0).Command(ctx, "cat", "/var/lib/docker-registry-charm/tls-v4.key").Result()
	if err != nil || r.ExitCode != 0 {
		t.Fatalf("cannot read the unit's key: %v", err)
	}
	src := newSourceRegistry(t, e, false)
	hello := src.buildMultiArch("hello:multi", nil)
	res := runAction(t, e, unit0, "push", map[string]any{"image": src.Public + "/hello:multi", "tag": "hello:multi"}, adminPW, pemBody(string(r.Stdout)))
	mustComplete(t, res)
	if got := result(res, "images.0.digest"); got != hello.String() {
		t.Errorf("digest = %s, want %s", got, hello)
	}
	pullIntact(t, ref, worker.Options()...)
}

package charm

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/canonical/docker-registry-charm/internal/pki"
	"github.com/canonical/docker-registry-charm/internal/testing/remote"
	"github.com/canonical/docker-registry-charm/internal/testing/sim"
)

// cert-provider with a provider of the CSR format (tls_certificates_interface
// v4), modelled in internal/testing/remote/tlsv4provider.go on the library and
// self-signed-certificates-operator. State in, one event, state out.

const v4KeyPath = "/var/lib/docker-registry-charm/tls-v4.key"

// relateV4 relates cert-provider to a simulated self-signed-certificates
// whose leader answers every CSR our units publish.
func relateV4(h *harness) (*remote.TLSv4Provider, int) {
	h.t.Helper()
	p, err := remote.NewTLSv4Provider()
	h.must(err)
	p.Attach(h.model)
	rel, err := h.model.Relate(ctx, "cert-provider", "self-signed-certificates", sim.RemoteUnit{Name: "self-signed-certificates/0"})
	h.must(err)
	return p, rel
}

// ourCSR is the only CSR in our unit bag on rel.
func ourCSR(h *harness, rel int) string {
	h.t.Helper()
	var list []struct {
		CSR string `json:"certificate_signing_request"`
		CA  *bool  `json:"ca"`
	}
	raw := h.model.RelationData(rel, unit0)["certificate_signing_requests"]
	if err := json.Unmarshal([]byte(raw), &list); err != nil || len(list) != 1 || list[0].CA == nil || *list[0].CA {
		h.t.Fatalf("certificate_signing_requests = %q: want one non-CA request", raw)
	}
	return list[0].CSR
}

func parseCSRText(t *testing.T, s string) *x509.CertificateRequest {
	t.Helper()
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		t.Fatalf("not PEM: %q", s)
	}
	csr, err := x509.ParseCertificateRequest(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return csr
}

func servedLeaf(t *testing.T, h *harness) *x509.Certificate {
	t.Helper()
	certs, err := pki.ParseCertificates([]byte(h.file(unit0, servedCert)))
	if err != nil {
		t.Fatal(err)
	}
	return certs[0]
}

// noKeyOnTheWire fails if any bag we publish holds a private key: with
// v4 the key never leaves the unit.
func noKeyOnTheWire(t *testing.T, h *harness) {
	t.Helper()
	for _, r := range h.model.Relations() {
		for k, v := range h.model.RelationData(r.ID, unit0) {
			if strings.Contains(v, "PRIVATE KEY") {
				t.Errorf("our bag on relation %d publishes a private key under %q", r.ID, k)
			}
		}
	}
}

// The charm publishes a CSR for its own key beside the reactive request,
// serves the certificate the provider answers with, and tells workers the
// provider's CA.
func TestTLSv4ServesTheProvidersCertificate(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 1))
	clients, err := h.model.Relate(ctx, "docker-registry", "containerd", sim.RemoteUnit{Name: "containerd/0"})
	h.must(err)
	p, rel := relateV4(h)
	h.wantStatus(unit0, "active", "Ready at 127.0.10.1:5000 (https).")

	bag := h.model.RelationData(rel, unit0)
	for _, k := range []string{"common_name", "sans", "unit_name", "certificate_name"} {
		if bag[k] == "" {
			t.Errorf("the reactive request lost %s: easyrsa would not answer", k)
		}
	}
	csr := parseCSRText(t, ourCSR(h, rel))
	if csr.Subject.CommonName != unitAddr || !slices.ContainsFunc(csr.IPAddresses, func(ip net.IP) bool { return ip.String() == unitAddr }) {
		t.Errorf("CSR subject %v IPs %v", csr.Subject, csr.IPAddresses)
	}
	keyPEM := h.file(unit0, v4KeyPath)
	key, err := pki.ParsePrivateKey([]byte(keyPEM))
	h.must(err)
	if !key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(csr.PublicKey) {
		t.Error("the CSR is not for the key on the unit")
	}
	st, err := os.Stat(filepath.Join(h.unitRoot(unit0), v4KeyPath))
	h.must(err)
	if st.Mode().Perm() != 0o600 || st.Sys().(*syscall.Stat_t).Uid != 0 {
		t.Errorf("key file mode %v uid %d, want 0600 root", st.Mode().Perm(), st.Sys().(*syscall.Stat_t).Uid)
	}
	noKeyOnTheWire(t, h)

	issued, ok := p.CertificateFor(rel, ourCSR(h, rel))
	if !ok {
		t.Fatal("the provider issued nothing")
	}
	if leaf := servedLeaf(t, h); !leaf.Equal(issued) {
		t.Errorf("serving serial %s, the provider issued %s", leaf.SerialNumber, issued.SerialNumber)
	}
	if strings.Count(h.file(unit0, servedCert), "BEGIN CERTIFICATE") != 1 {
		t.Error("the self-signed root of the chain is sent with the leaf")
	}
	if h.file(unit0, servedKey) != keyPEM {
		t.Error("the registry does not serve with the unit's key")
	}
	if got := h.file(unit0, "/etc/docker/registry/ca.crt"); strings.TrimSpace(got) != p.CAPEM {
		t.Errorf("CA file is not the provider's CA:\n%s", got)
	}
	v, err := remote.ReadRegistry(h.model.RelationData(clients, unit0))
	h.must(err)
	if !v.HasTLS || strings.TrimSpace(v.CA) != p.CAPEM || v.URL != "https://127.0.10.1:5000" {
		t.Errorf("workers are told %+v", v)
	}
	// The CSR asked for clientAuth, which the provider copies: the
	// push action presents the unit's certificate when the registry
	// requires client certificates.
	if h.file(unit0, "/var/lib/docker-registry-charm/client.key") != keyPEM {
		t.Error("the unit's certificate is not the charm's client identity")
	}

	// More hooks change nothing: same key, same CSR, one certificate.
	csrBefore, issuedBefore := ourCSR(h, rel), p.Issued
	h.must(h.model.UpdateStatus(ctx))
	h.must(h.model.SetConfig(ctx, map[string]any{"auth-basic-password": "pw"}))
	if ourCSR(h, rel) != csrBefore || h.file(unit0, v4KeyPath) != keyPEM || p.Issued != issuedBefore {
		t.Error("a hook with nothing new for the provider published a new CSR or key")
	}
}

// Every unit has its own key and CSR; the provider's one list holds both
// answers and each unit serves its own.
func TestTLSv4TwoUnits(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 2))
	p, rel := relateV4(h)
	const unit1 = "docker-registry/1"
	if p.Published(rel) != 2 {
		t.Fatalf("%d certificates published, want 2", p.Published(rel))
	}
	if h.file(unit0, v4KeyPath) == h.file(unit1, v4KeyPath) {
		t.Fatal("two units share a key")
	}
	for _, u := range []string{unit0, unit1} {
		certs, err := pki.ParseCertificates([]byte(h.file(u, servedCert)))
		h.must(err)
		key, err := pki.ParsePrivateKey([]byte(h.file(u, v4KeyPath)))
		h.must(err)
		if !key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(certs[0].PublicKey) {
			t.Errorf("%s serves a certificate for another key", u)
		}
		if st := h.status(u); st.Name != "active" || !strings.Contains(st.Message, "(https)") {
			t.Errorf("%s status %s %q", u, st.Name, st.Message)
		}
	}
}

// Renewal: the provider signs a new certificate for the same CSR; it is
// served at once, with the same key and CSR.
func TestTLSv4Renewal(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 1))
	p, rel := relateV4(h)
	csr, key := ourCSR(h, rel), h.file(unit0, v4KeyPath)
	first := servedLeaf(t, h)
	h.must(p.Renew(ctx, h.model, rel))
	renewed, _ := p.CertificateFor(rel, csr)
	if got := servedLeaf(t, h); !got.Equal(renewed) || got.Equal(first) {
		t.Errorf("serving serial %s after renewal to %s (was %s)", got.SerialNumber, renewed.SerialNumber, first.SerialNumber)
	}
	if ourCSR(h, rel) != csr || h.file(unit0, v4KeyPath) != key {
		t.Error("renewal by the provider changed our CSR or key")
	}
	h.wantStatus(unit0, "active", "Ready at 127.0.10.1:5000 (https).")
}

// The unit asks for a new certificate itself at 90% of the served one's
// validity, as the library's requirer does (renewal_relative_time): a new
// CSR for the same key; the old certificate serves until the answer.
func TestTLSv4RenewsAtNinetyPercent(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 1))
	p, rel := relateV4(h)
	p.Now = func() time.Time { return h.now }
	csr, key := ourCSR(h, rel), h.file(unit0, v4KeyPath)
	first := servedLeaf(t, h)
	at := func(f float64) time.Time {
		return first.NotBefore.Add(time.Duration(f * float64(first.NotAfter.Sub(first.NotBefore))))
	}

	h.now = at(0.8)
	h.must(h.model.SetConfig(ctx, map[string]any{"auth-basic-password": "one"}))
	if ourCSR(h, rel) != csr {
		t.Fatal("a new CSR at 80% of the validity")
	}
	h.now = at(0.95)
	h.must(h.model.SetConfig(ctx, map[string]any{"auth-basic-password": "two"}))
	renewed := ourCSR(h, rel)
	if renewed == csr || h.file(unit0, v4KeyPath) != key {
		t.Fatal("no new CSR for the same key at 95% of the validity")
	}
	issued, ok := p.CertificateFor(rel, renewed)
	if !ok || !servedLeaf(t, h).Equal(issued) || p.Published(rel) != 1 {
		t.Errorf("the renewed certificate is not served (%d published)", p.Published(rel))
	}
	h.wantStatus(unit0, "active", "Ready at 127.0.10.1:5000 (https).")
	h.must(h.model.SetConfig(ctx, map[string]any{"auth-basic-password": "three"}))
	if ourCSR(h, rel) != renewed {
		t.Error("the fresh certificate was renewed again")
	}
}

// Revocation: a revoked certificate is never installed. Once TLS served,
// the last good configuration keeps serving and status says why; the
// provider's new certificate (a new CA, as rotate-private-key makes) is
// served and reaches the workers.
func TestTLSv4Revocation(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 1))
	clients, err := h.model.Relate(ctx, "docker-registry", "containerd", sim.RemoteUnit{Name: "containerd/0"})
	h.must(err)
	p, rel := relateV4(h)
	good := h.file(unit0, servedCert)
	config := h.file(unit0, "/etc/docker/registry/config.yml")
	oldCA := p.CAPEM

	h.must(p.RotateCA(ctx, h.model, rel)) // revokes everything first
	h.wantStatus(unit0, "blocked", "Certificate from cert-provider was revoked; waiting for the provider to issue a new one; serving the last good certificate")
	if h.file(unit0, servedCert) != good || h.file(unit0, "/etc/docker/registry/config.yml") != config {
		t.Error("the configuration changed on revocation")
	}
	if v, _ := remote.ReadRegistry(h.model.RelationData(clients, unit0)); !v.HasTLS {
		t.Error("workers were sent to http on revocation")
	}

	h.must(p.Configure(ctx, h.model, rel)) // the provider reissues for the same CSR
	h.wantStatus(unit0, "active", "Ready at 127.0.10.1:5000 (https).")
	issued, _ := p.CertificateFor(rel, ourCSR(h, rel))
	if !servedLeaf(t, h).Equal(issued) {
		t.Error("the reissued certificate is not served")
	}
	v, err := remote.ReadRegistry(h.model.RelationData(clients, unit0))
	h.must(err)
	if strings.TrimSpace(v.CA) != p.CAPEM || p.CAPEM == oldCA {
		t.Error("workers were not told the provider's new CA")
	}
}

// While the last good configuration is kept (the certificate revoked),
// the CSR still follows the unit's names: a provider that answers the new
// CSR ends the wait.
func TestTLSv4NewNamesWhileRevoked(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 1))
	p, rel := relateV4(h)
	p.Paused = true
	h.must(p.RevokeAll(ctx, h.model, rel))
	h.wantStatus(unit0, "blocked", "Certificate from cert-provider was revoked")
	p.Paused = false
	h.must(h.model.SetConfig(ctx, map[string]any{"http-host": "https://registry.example.com"}))
	h.wantStatus(unit0, "active", "Ready at 127.0.10.1:5000 (https).")
	if servedLeaf(t, h).VerifyHostname("registry.example.com") != nil {
		t.Error("the certificate for the new CSR is not served")
	}
}

// A revoked answer before TLS ever served leaves the registry on http.
func TestTLSv4RevokedBeforeServing(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 1))
	p, err := remote.NewTLSv4Provider()
	h.must(err)
	p.Paused = true
	p.Attach(h.model)
	rel, err := h.model.Relate(ctx, "cert-provider", "self-signed-certificates", sim.RemoteUnit{Name: "self-signed-certificates/0"})
	h.must(err)
	h.wantStatus(unit0, "waiting", "Waiting for a server certificate from cert-provider; serving http")
	csr := ourCSR(h, rel)
	cert, err := p.SignFor(csr, nil)
	h.must(err)
	answer := `[{"ca": ` + jsonQ(p.CAPEM) + `, "certificate_signing_request": ` + jsonQ(csr) + `, "certificate": ` + jsonQ(cert) + `, "revoked": true}]`
	h.must(h.model.SetRemoteAppData(ctx, rel, map[string]string{"certificates": answer}))
	h.wantStatus(unit0, "waiting", "Certificate from cert-provider was revoked; waiting for the provider to issue a new one; serving http")
	if h.exists(unit0, servedCert) {
		t.Error("a revoked certificate was installed")
	}
}

// SAN change: a new name (http-host) makes a new CSR for the same key; the
// old CSR leaves the bag, so the provider drops its certificate and issues
// one with the new name, which is then served.
func TestTLSv4SANChange(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 1))
	p, rel := relateV4(h)
	oldCSR, key := ourCSR(h, rel), h.file(unit0, v4KeyPath)

	h.must(h.model.SetConfig(ctx, map[string]any{"http-host": "https://registry.example.com"}))
	newCSR := ourCSR(h, rel) // one element: the old one is gone
	if newCSR == oldCSR {
		t.Fatal("a new SAN did not make a new CSR")
	}
	if !slices.Contains(parseCSRText(t, newCSR).DNSNames, "registry.example.com") {
		t.Errorf("the new CSR does not name http-host: %v", parseCSRText(t, newCSR).DNSNames)
	}
	if h.file(unit0, v4KeyPath) != key {
		t.Error("new SANs regenerated the key (the library keeps it)")
	}
	if _, ok := p.CertificateFor(rel, oldCSR); ok || p.Published(rel) != 1 {
		t.Errorf("the provider still publishes the old certificate (%d elements)", p.Published(rel))
	}
	if leaf := servedLeaf(t, h); leaf.VerifyHostname("registry.example.com") != nil {
		t.Error("the served certificate does not name the new host")
	}
	h.wantStatus(unit0, "active", "Ready at 127.0.10.1:5000 (https).")
}

// Removing the relation: back to http (the operator's choice), the files
// the charm wrote removed. The key stays on the unit, as the library's
// secret does.
func TestTLSv4Removal(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 1))
	_, rel := relateV4(h)
	key := h.file(unit0, v4KeyPath)
	h.must(h.model.Unrelate(ctx, rel))
	h.wantStatus(unit0, "active", "Ready at 127.0.10.1:5000 (http).")
	for _, f := range []string{servedCert, servedKey, "/var/lib/docker-registry-charm/client.key"} {
		if h.exists(unit0, f) {
			t.Errorf("%s is still there", f)
		}
	}
	if h.file(unit0, v4KeyPath) != key {
		t.Error("the unit's key changed with the relation gone")
	}
	// Related again: the same key, a certificate served again.
	_, rel = relateV4(h)
	h.wantStatus(unit0, "active", "Ready at 127.0.10.1:5000 (https).")
	if h.file(unit0, v4KeyPath) != key || h.file(unit0, servedKey) != key {
		t.Error("a provider related again does not get a CSR for the same key")
	}
	_ = rel
}

// A lost or damaged key is made again, with a new CSR the provider
// answers; nothing else ever replaces it.
func TestTLSv4KeyMadeAgainWhenUnusable(t *testing.T) {
	for name, damage := range map[string]func(path string) error{
		"removed": os.Remove,
		"garbage": func(p string) error { return os.WriteFile(p, []byte("not a key\n"), 0o600) },
		"an EC key": func(p string) error {
			return os.WriteFile(p, []byte("-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oVd3ZvsoUr0soAoGCCqGSM49\nAwEHoUQDQgAEPR3tU2Fh7AcENq2LzTjaPiNK7Op6ZyDZyCf4nKMxjyMCkmBWAXTV\nrlfOmlWPSiZmVg+bHRp7ax98mPmjzOuH6g==\n-----END EC PRIVATE KEY-----\n"), 0o600)
		},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.must(h.model.Deploy(ctx, 1))
			p, rel := relateV4(h)
			old := h.file(unit0, v4KeyPath)
			h.must(damage(filepath.Join(h.unitRoot(unit0), v4KeyPath)))
			h.must(h.model.UpdateStatus(ctx)) // update-status does not reconcile
			h.must(h.model.SetConfig(ctx, map[string]any{"auth-basic-password": "x"}))
			now := h.file(unit0, v4KeyPath)
			if now == old || !strings.Contains(now, "RSA PRIVATE KEY") {
				t.Fatalf("key not made again:\n%.40s", now)
			}
			issued, ok := p.CertificateFor(rel, ourCSR(h, rel))
			if !ok || !servedLeaf(t, h).Equal(issued) || h.file(unit0, servedKey) != now {
				t.Error("the new key's certificate is not served")
			}
			h.wantStatus(unit0, "active", "Ready at 127.0.10.1:5000 (https).")
		})
	}
}

// Hostile answers: nothing the provider's bag says turns TLS off or
// installs a certificate that is not for our key.
func TestTLSv4HostileAnswersFailClosed(t *testing.T) {
	for name, tc := range map[string]struct {
		answer func(p *remote.TLSv4Provider, csr string, h *harness) string
		status string
		msg    string
	}{
		"garbage JSON": {func(*remote.TLSv4Provider, string, *harness) string { return "[{garbage" },
			"waiting", "Waiting for a server certificate from cert-provider; serving the last good certificate"},
		"only another unit's certificate": {func(p *remote.TLSv4Provider, _ string, h *harness) string {
			other := otherCSR(t)
			return `[{"ca": ` + jsonQ(p.CAPEM) + `, "certificate_signing_request": ` + jsonQ(other.csr) + `, "certificate": ` + jsonQ(mustSign(t, p, other.csr, other.pub)) + `}]`
		}, "waiting", "Waiting for a server certificate from cert-provider; serving the last good certificate"},
		"a certificate for our CSR and another key": {func(p *remote.TLSv4Provider, csr string, h *harness) string {
			other := otherCSR(t)
			return `[{"ca": ` + jsonQ(p.CAPEM) + `, "certificate_signing_request": ` + jsonQ(csr) + `, "certificate": ` + jsonQ(mustSign(t, p, csr, other.pub)) + `}]`
		}, "blocked", "Certificate from cert-provider is unusable (the certificate is not for the unit's private key): renew it on the provider; serving the last good certificate"},
		"a huge value": {func(*remote.TLSv4Provider, string, *harness) string { return "[" + strings.Repeat(" ", 9<<20) + "]" },
			"waiting", "Waiting for a server certificate from cert-provider; serving the last good certificate"},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.must(h.model.Deploy(ctx, 1))
			p, rel := relateV4(h)
			p.Paused = true
			good := h.file(unit0, servedCert)
			h.must(h.model.SetRemoteAppData(ctx, rel, map[string]string{"certificates": tc.answer(p, ourCSR(h, rel), h)}))
			h.wantStatus(unit0, tc.status, tc.msg)
			if h.file(unit0, servedCert) != good {
				t.Error("the served certificate changed")
			}
			noKeyOnTheWire(t, h)
		})
	}
}

type csrAndKey struct {
	csr string
	pub any
}

// otherCSR is another unit's CSR, for its own key.
func otherCSR(t *testing.T) csrAndKey {
	t.Helper()
	k, err := newCertKey()
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "127.0.10.2"}}, k)
	if err != nil {
		t.Fatal(err)
	}
	return csrAndKey{csr: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})), pub: k.Public()}
}

func mustSign(t *testing.T, p *remote.TLSv4Provider, csr string, pub any) string {
	t.Helper()
	cert, err := p.SignFor(csr, pub)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func jsonQ(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

package remote

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/canonical/docker-registry-charm/internal/testing/sim"
)

// TLSv4Provider is a tls-certificates provider speaking the CSR format of
// the tls_certificates_interface library v4, as self-signed-certificates
// runs it. Written from:
//   - the spec, canonical/charm-relation-interfaces
//     interfaces/tls_certificates/v1 (README.md, schema.py);
//   - the library, canonical/tls-certificates-interface
//     lib/charms/tls_certificates_interface/v4/tls_certificates.py:
//     TLSCertificatesProvidesV4 (get_certificate_requests,
//     _load_requirer_databag, set_relation_certificate,
//     revoke_all_certificates, _remove_certificates_for_which_no_csr_exists,
//     get_outstanding_certificate_requests), the _RequirerData and
//     _ProviderApplicationData models and their load/dump, and
//     Certificate.generate with _generate_certificate_request_extensions;
//   - the provider, canonical/self-signed-certificates-operator
//     src/charm.py (_configure, _process_outstanding_certificate_requests,
//     _generate_self_signed_certificate with chain [certificate, ca],
//     _on_rotate_private_key).
//
// Its leader answers in the application bag "certificates"; requirers'
// requests are read from their unit bags "certificate_signing_requests".
// A requirer bag the library would refuse (not JSON, not the model) is an
// error here, not silently ignored as the real provider does: the
// requirer under test is the one at fault.
type TLSv4Provider struct {
	mu       sync.Mutex
	caKey    *rsa.PrivateKey
	caCert   *x509.Certificate
	CAPEM    string // as the library writes it: PEM without the final newline
	Validity time.Duration
	// requests holds each requirer unit's CSRs as last read, per relation.
	requests map[int]map[string][]string
	// certs is the published list, per relation, in order.
	certs map[int][]v4Cert
	// Issued counts certificates signed; Requests records every CSR seen.
	Issued   int
	Requests []string
	// Paused stops answering, as a provider whose leader is busy.
	Paused bool
	// Now is the provider's clock (nil: time.Now); tests that move the
	// unit's clock move this one too.
	Now func() time.Time
}

func (p *TLSv4Provider) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// v4Cert is one element of the provider's certificates list (the
// library's _Certificate model; field order is its dump order).
type v4Cert struct {
	CA          string
	CSR         string
	Certificate string
	Chain       []string
	Revoked     bool
}

// NewTLSv4Provider makes a provider with a fresh CA: RSA 2048, as
// generate_private_key makes.
func NewTLSv4Provider() (*TLSv4Provider, error) {
	// 90 days, the CA twice that (the charm refuses a root CA that
	// does not outlive two certificates): the registry's warning about
	// an expiring certificate stays out of the way.
	p := &TLSv4Provider{Validity: 90 * 24 * time.Hour, requests: map[int]map[string][]string{}, certs: map[int][]v4Cert{}}
	return p, p.newCA()
}

func (p *TLSv4Provider) newCA() error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: "self-signed-certificates-operator"},
		NotBefore:             p.now(),
		NotAfter:              p.now().Add(2 * p.Validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		SubjectKeyId:          skid(&key.PublicKey),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	p.caCert, _ = x509.ParseCertificate(der)
	p.caKey = key
	p.CAPEM = pemStripped(der)
	return nil
}

// Attach makes the provider answer every request our units commit on
// cert-provider, as the provider's leader does on relation-changed.
func (p *TLSv4Provider) Attach(m *sim.Model) {
	m.OnRelationChanged(func(ctx context.Context, ch sim.RelationChange) error {
		if ch.Endpoint != "cert-provider" || ch.App {
			return nil
		}
		csrs, err := loadRequirerBag(ch.Data)
		if err != nil {
			return fmt.Errorf("the v4 provider cannot use the bag of %s: %w", ch.Unit, err)
		}
		p.mu.Lock()
		if p.requests[ch.RelationID] == nil {
			p.requests[ch.RelationID] = map[string][]string{}
		}
		p.requests[ch.RelationID][ch.Unit] = csrs
		p.Requests = append(p.Requests, csrs...)
		p.mu.Unlock()
		return p.Configure(ctx, m, ch.RelationID)
	})
}

// loadRequirerBag reads certificate_signing_requests as _RequirerData.load
// does: JSON, a list of objects with a string certificate_signing_request
// and a "ca" that must be present (Optional[bool] without a default is
// required in pydantic 2), each CSR loadable as PEM
// (CertificateSigningRequest.from_string raises otherwise). CA requests
// are not ours to serve here and are refused.
func loadRequirerBag(bag map[string]string) ([]string, error) {
	raw, ok := bag["certificate_signing_requests"]
	if !ok {
		return nil, nil
	}
	var list []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &list); err != nil {
		return nil, fmt.Errorf("certificate_signing_requests is not a JSON list of objects: %w", err)
	}
	var out []string
	for _, e := range list {
		var csr string
		if err := json.Unmarshal(e["certificate_signing_request"], &csr); err != nil {
			return nil, fmt.Errorf("certificate_signing_request is not a string: %w", err)
		}
		caRaw, ok := e["ca"]
		if !ok {
			return nil, errors.New(`an element has no "ca" (required by the model)`)
		}
		var isCA *bool
		if err := json.Unmarshal(caRaw, &isCA); err != nil {
			return nil, fmt.Errorf("ca is not a boolean: %w", err)
		}
		if isCA != nil && *isCA {
			return nil, errors.New("a CA certificate was requested")
		}
		if _, err := parseCSRPEM(csr); err != nil {
			return nil, err
		}
		out = append(out, csr)
	}
	return out, nil
}

func parseCSRPEM(s string) (*x509.CertificateRequest, error) {
	b, _ := pem.Decode([]byte(s))
	if b == nil || b.Type != "CERTIFICATE REQUEST" {
		return nil, errors.New("a CSR is not PEM")
	}
	csr, err := x509.ParseCertificateRequest(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("a CSR does not parse: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("a CSR's signature is invalid: %w", err)
	}
	return csr, nil
}

// sameCSR compares as the library does: the re-encoded PEM, i.e. the DER.
func sameCSR(a, b string) bool {
	x, errA := parseCSRPEM(a)
	y, errB := parseCSRPEM(b)
	return errA == nil && errB == nil && string(x.Raw) == string(y.Raw)
}

// Configure is the provider's _configure: drop certificates whose CSR is
// gone, then issue a certificate for every CSR without a live one
// (revoked ones count as outstanding), and publish.
func (p *TLSv4Provider) Configure(ctx context.Context, m *sim.Model, rel int) error {
	p.mu.Lock()
	if p.Paused {
		p.mu.Unlock()
		return nil
	}
	var wanted []string
	for _, csrs := range p.requests[rel] {
		wanted = append(wanted, csrs...)
	}
	var kept []v4Cert
	for _, c := range p.certs[rel] {
		for _, w := range wanted {
			if sameCSR(c.CSR, w) {
				kept = append(kept, c)
				break
			}
		}
	}
	p.certs[rel] = kept
	for _, w := range wanted {
		if !p.issuedFor(rel, w) {
			if err := p.setCertificate(rel, w); err != nil {
				p.mu.Unlock()
				return err
			}
		}
	}
	p.mu.Unlock()
	return p.publish(ctx, m, rel)
}

func (p *TLSv4Provider) issuedFor(rel int, csr string) bool {
	for _, c := range p.certs[rel] {
		if !c.Revoked && sameCSR(c.CSR, csr) {
			return true
		}
	}
	return false
}

// setCertificate is set_relation_certificate: any element for the CSR is
// removed and the new one appended.
func (p *TLSv4Provider) setCertificate(rel int, csrPEM string) error {
	cert, err := p.sign(csrPEM)
	if err != nil {
		return err
	}
	var out []v4Cert
	for _, c := range p.certs[rel] {
		if !sameCSR(c.CSR, csrPEM) {
			out = append(out, c)
		}
	}
	csr, _ := parseCSRPEM(csrPEM)
	p.certs[rel] = append(out, v4Cert{CA: p.CAPEM, CSR: pemStripped(csr.Raw, "CERTIFICATE REQUEST"),
		Certificate: cert, Chain: []string{cert, p.CAPEM}})
	p.Issued++
	return nil
}

// sign is Certificate.generate: the CSR's subject and key, the CA's
// issuer, a random serial, valid from now, the extensions of
// _generate_certificate_request_extensions (authority and subject key
// ids, basic constraints, the CSR's SANs) and every other extension the
// CSR carries.
func (p *TLSv4Provider) sign(csrPEM string) (string, error) {
	return p.SignFor(csrPEM, nil)
}

// SignFor signs the CSR's subject and names for pub instead of the CSR's
// own key (nil: the CSR's), as a provider gone wrong would.
func (p *TLSv4Provider) SignFor(csrPEM string, pub any) (string, error) {
	csr, err := parseCSRPEM(csrPEM)
	if err != nil {
		return "", err
	}
	if pub == nil {
		pub = csr.PublicKey
	}
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		RawSubject:            csr.RawSubject,
		NotBefore:             p.now(),
		NotAfter:              p.now().Add(p.Validity),
		BasicConstraintsValid: true,
		DNSNames:              csr.DNSNames,
		IPAddresses:           csr.IPAddresses,
		SubjectKeyId:          skid(pub),
	}
	managed := []asn1.ObjectIdentifier{{2, 5, 29, 17}, {2, 5, 29, 35}, {2, 5, 29, 14}, {2, 5, 29, 19}}
	for _, ext := range csr.Extensions {
		skip := false
		for _, oid := range managed {
			skip = skip || ext.Id.Equal(oid)
		}
		if !skip {
			tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, ext)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, pub, p.caKey)
	if err != nil {
		return "", fmt.Errorf("cannot sign: %w", err)
	}
	return pemStripped(der), nil
}

// RevokeAll is revoke_all_certificates: every element stays, marked
// revoked; nothing is reissued until Configure runs again.
func (p *TLSv4Provider) RevokeAll(ctx context.Context, m *sim.Model, rel int) error {
	p.mu.Lock()
	for i := range p.certs[rel] {
		p.certs[rel][i].Revoked = true
	}
	p.mu.Unlock()
	return p.publish(ctx, m, rel)
}

// RotateCA is the rotate-private-key action: revoke everything, make a
// new CA; the next Configure issues from it.
func (p *TLSv4Provider) RotateCA(ctx context.Context, m *sim.Model, rel int) error {
	if err := p.RevokeAll(ctx, m, rel); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.newCA()
}

// Renew signs a new certificate for every CSR already answered: the same
// CSR, a new certificate, as set_relation_certificate replaces it.
func (p *TLSv4Provider) Renew(ctx context.Context, m *sim.Model, rel int) error {
	p.mu.Lock()
	for _, c := range append([]v4Cert(nil), p.certs[rel]...) {
		if err := p.setCertificate(rel, c.CSR); err != nil {
			p.mu.Unlock()
			return err
		}
	}
	p.mu.Unlock()
	return p.publish(ctx, m, rel)
}

// CertificateFor returns the live certificate published for csr.
func (p *TLSv4Provider) CertificateFor(rel int, csr string) (*x509.Certificate, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.certs[rel] {
		if !c.Revoked && sameCSR(c.CSR, csr) {
			b, _ := pem.Decode([]byte(c.Certificate))
			cert, err := x509.ParseCertificate(b.Bytes)
			return cert, err == nil
		}
	}
	return nil, false
}

// Published is the number of elements in the certificates list.
func (p *TLSv4Provider) Published(rel int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.certs[rel])
}

// publish writes the list as _ProviderApplicationData.dump does:
// json.dumps of the model (Python's separators, no defaults, so "chain"
// and "revoked" only when set).
func (p *TLSv4Provider) publish(ctx context.Context, m *sim.Model, rel int) error {
	p.mu.Lock()
	value := encodeCertificates(p.certs[rel])
	p.mu.Unlock()
	return m.SetRemoteAppData(ctx, rel, map[string]string{"certificates": value})
}

func encodeCertificates(certs []v4Cert) string {
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	items := make([]string, 0, len(certs))
	for _, c := range certs {
		fields := []string{`"ca": ` + q(c.CA), `"certificate_signing_request": ` + q(c.CSR), `"certificate": ` + q(c.Certificate)}
		if len(c.Chain) > 0 {
			chain := make([]string, 0, len(c.Chain))
			for _, s := range c.Chain {
				chain = append(chain, q(s))
			}
			fields = append(fields, `"chain": [`+strings.Join(chain, ", ")+`]`)
		}
		if c.Revoked {
			fields = append(fields, `"revoked": true`)
		}
		items = append(items, "{"+strings.Join(fields, ", ")+"}")
	}
	return "[" + strings.Join(items, ", ") + "]"
}

// pemStripped is PEM as str(Certificate) returns it: no final newline.
func pemStripped(der []byte, typ ...string) string {
	t := "CERTIFICATE"
	if len(typ) > 0 {
		t = typ[0]
	}
	return strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: t, Bytes: der})))
}

func randomSerial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 159))
	return n
}

func skid(pub any) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil
	}
	sum := sha1.Sum(der)
	return sum[:]
}

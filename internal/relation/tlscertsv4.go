package relation

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"

	"github.com/canonical/docker-registry-charm/internal/pki"
)

// tls-certificates, CSR flavour (the tls_certificates_interface library
// v4; spec: charm-relation-interfaces interfaces/tls_certificates/v1),
// requirer side, unit mode. On the same endpoint as the reactive flavour:
// each side ignores the other's keys, so the charm writes both requests and
// uses whichever answer arrives. Here the private key is the unit's own:
// we publish a CSR signed by it in our unit bag, and the provider's leader
// publishes a certificate for it in the provider's application bag.
const (
	keyCSRs         = "certificate_signing_requests"
	keyCertificates = "certificates"
)

// oidUniqueIdentifier is x500UniqueIdentifier, which the library puts in
// every CSR's subject (a random UUID) so that two requests for the same
// names, or a renewal, are different CSRs the provider can tell apart.
var oidUniqueIdentifier = asn1.ObjectIdentifier{2, 5, 4, 45}

// Bounds on what a provider's bag may make us parse. The bag holds the
// certificates of every unit of our application, a few KiB each.
const (
	maxCertificatesValue = 8 << 20
	maxV4Field           = 64 << 10
	maxV4Chain           = 16
)

// NewTLSCertsV4CSR signs a certificate signing request for r with key: the CN, the
// SANs split into IP and DNS names, a fresh unique identifier, and the
// extended key usages serverAuth and clientAuth (providers copy the CSR's
// extensions; clientAuth lets the charm's own client present the unit's
// certificate to a registry that requires client certificates).
func NewTLSCertsV4CSR(r TLSCertsRequest, key crypto.Signer, rnd io.Reader) (string, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	id := make([]byte, 16)
	if _, err := io.ReadFull(rnd, id); err != nil {
		return "", fmt.Errorf("cannot make a unique identifier: %w", err)
	}
	id[6], id[8] = id[6]&0x0f|0x40, id[8]&0x3f|0x80 // UUID version 4
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 1}, {1, 3, 6, 1, 5, 5, 7, 3, 2}})
	if err != nil {
		return "", fmt.Errorf("cannot encode key usages: %w", err)
	}
	tmpl := &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: r.CommonName, ExtraNames: []pkix.AttributeTypeAndValue{{
			Type: oidUniqueIdentifier, Value: fmt.Sprintf("%x-%x-%x-%x-%x", id[0:4], id[4:6], id[6:8], id[8:10], id[10:]),
		}}},
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Value: eku}},
	}
	tmpl.DNSNames, tmpl.IPAddresses = splitSANs(r.SANs)
	der, err := x509.CreateCertificateRequest(rnd, tmpl, key)
	if err != nil {
		return "", fmt.Errorf("cannot sign the certificate request: %w", err)
	}
	// The library strips the trailing newline of every PEM it publishes.
	return strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))), nil
}

// splitSANs sorts names into IP and DNS SANs. A DNS SAN is an IA5String:
// a name that is not ASCII (a host name can be anything) is left out
// rather than fail every CSR.
func splitSANs(sans []string) (dns []string, ips []net.IP) {
	for _, s := range sans {
		if ip := net.ParseIP(s); ip != nil {
			ips = append(ips, ip)
		} else if isASCII(s) {
			dns = append(dns, s)
		}
	}
	return dns, ips
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// TLSCertsV4CSRAsks reports whether csrPEM is a valid request, signed by the key
// whose public half is pub, for exactly what r asks: its CN, its SANs as a
// set, with a unique identifier. A published CSR that still does is kept;
// otherwise a new one replaces it (the library's cleanup compares the
// same attributes and the key).
func TLSCertsV4CSRAsks(csrPEM string, r TLSCertsRequest, pub crypto.PublicKey) bool {
	csr := parseCSR(csrPEM)
	if csr == nil || csr.CheckSignature() != nil || !publicKeyEqual(pub, csr.PublicKey) {
		return false
	}
	if csr.Subject.CommonName != r.CommonName || !hasUniqueID(csr.Subject) {
		return false
	}
	dns, ips := splitSANs(r.SANs)
	return sameStrings(csr.DNSNames, dns) && sameIPs(csr.IPAddresses, ips)
}

func hasUniqueID(n pkix.Name) bool {
	for _, a := range n.Names {
		if a.Type.Equal(oidUniqueIdentifier) {
			return true
		}
	}
	return false
}

func sameStrings(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

func sameIPs(a, b []net.IP) bool {
	str := func(ips []net.IP) []string {
		out := make([]string, 0, len(ips))
		for _, ip := range ips {
			out = append(out, ip.String())
		}
		return out
	}
	return sameStrings(str(a), str(b))
}

func publicKeyEqual(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}

// parseCSR reads the first CERTIFICATE REQUEST block of s; nil when there
// is none or it does not parse.
func parseCSR(s string) *x509.CertificateRequest {
	if len(s) > maxV4Field {
		return nil
	}
	for block, rest := pem.Decode([]byte(s)); block != nil; block, rest = pem.Decode(rest) {
		if block.Type != "CERTIFICATE REQUEST" && block.Type != "NEW CERTIFICATE REQUEST" {
			continue
		}
		csr, err := x509.ParseCertificateRequest(block.Bytes)
		if err != nil {
			return nil
		}
		return csr
	}
	return nil
}

// sameCSR reports whether two PEM texts hold the same request. The
// library compares re-encoded PEM, which is comparing the DER; whitespace
// or a missing final newline does not make another request.
func sameCSR(a, b string) bool {
	ca, cb := parseCSR(a), parseCSR(b)
	return ca != nil && cb != nil && bytes.Equal(ca.Raw, cb.Raw)
}

// csrEntry is one element of certificate_signing_requests, fields in the
// order the library's model dumps them.
type csrEntry struct {
	CSR string `json:"certificate_signing_request"`
	CA  *bool  `json:"ca"`
}

// csrsValue is the certificate_signing_requests value publishing csrPEM as
// our only request (not for a CA), encoded as the library's json.dumps
// does: `[{"certificate_signing_request": "...", "ca": false}]`.
func csrsValue(csrPEM string) string {
	var b strings.Builder
	b.WriteString(`[{"certificate_signing_request": `)
	if err := encodePyString(&b, strings.ToValidUTF8(csrPEM, "\uFFFD")); err != nil {
		panic("relation: valid UTF-8 failed to encode: " + err.Error())
	}
	b.WriteString(`, "ca": false}]`)
	return b.String()
}

// TLSCertsV4Bag is the key of our unit bag that publishes csrPEM.
func TLSCertsV4Bag(csrPEM string) map[string]string {
	return map[string]string{keyCSRs: csrsValue(csrPEM)}
}

// TLSCertsV4PublishedCSRs are the non-CA requests in a requirer bag, PEM as found;
// nil when the key is absent or not the list the spec describes.
func TLSCertsV4PublishedCSRs(bag map[string]string) []string {
	raw := bag[keyCSRs]
	if raw == "" || len(raw) > maxCertificatesValue {
		return nil
	}
	var entries []json.RawMessage
	if json.Unmarshal([]byte(raw), &entries) != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		var c csrEntry
		if json.Unmarshal(e, &c) != nil || c.CSR == "" || c.CA != nil && *c.CA {
			continue
		}
		out = append(out, c.CSR)
	}
	return out
}

// TLSCertsV4State is what a provider's bag says about one CSR.
type TLSCertsV4State int

const (
	TLSCertsV4None    TLSCertsV4State = iota // no answer yet
	TLSCertsV4Issued                         // a certificate for our key
	TLSCertsV4Revoked                        // the provider revoked its certificate
	TLSCertsV4Invalid                        // an answer we cannot use (Reason says why)
)

// TLSCertsV4Answer is the provider's answer to our CSR. Cert is the leaf followed
// by the intermediates of the chain, PEM; CA the certificate clients trust.
type TLSCertsV4Answer struct {
	State  TLSCertsV4State
	Cert   string
	CA     string
	Reason string // TLSCertsV4Invalid: a fixed sentence, never key material
}

// v4Certificate is one element of the provider's certificates list.
type v4Certificate struct {
	CA          string   `json:"ca"`
	CSR         string   `json:"certificate_signing_request"`
	Certificate string   `json:"certificate"`
	Chain       []string `json:"chain"`
	Revoked     *bool    `json:"revoked"`
}

// FindTLSCertsV4Answer looks up the answer to csrPEM in the provider's application
// bag. The list holds the certificates of every unit of our application:
// only an element whose CSR is ours counts. A usable certificate wins over
// a revoked one, which wins over one we cannot use (not for our key, a CA
// certificate, garbage). Elements that do not decode are skipped, as are
// over-long fields; the library would drop the whole list, which would not
// be safer here, since what we use is checked against our own key.
func FindTLSCertsV4Answer(app map[string]string, csrPEM string, pub crypto.PublicKey) TLSCertsV4Answer {
	ours := parseCSR(csrPEM)
	raw := app[keyCertificates]
	if ours == nil || raw == "" || len(raw) > maxCertificatesValue {
		return TLSCertsV4Answer{}
	}
	var entries []json.RawMessage
	if json.Unmarshal([]byte(raw), &entries) != nil {
		return TLSCertsV4Answer{}
	}
	best := TLSCertsV4Answer{}
	for _, e := range entries {
		var c v4Certificate
		if json.Unmarshal(e, &c) != nil {
			continue
		}
		if csr := parseCSR(c.CSR); csr == nil || !bytes.Equal(csr.Raw, ours.Raw) {
			continue
		}
		a := c.answer(pub)
		if a.State == TLSCertsV4Issued {
			return a
		}
		if best.State == TLSCertsV4None || a.State == TLSCertsV4Revoked {
			best = a
		}
	}
	return best
}

func (c v4Certificate) answer(pub crypto.PublicKey) TLSCertsV4Answer {
	if c.Revoked != nil && *c.Revoked {
		return TLSCertsV4Answer{State: TLSCertsV4Revoked}
	}
	invalid := func(why string) TLSCertsV4Answer { return TLSCertsV4Answer{State: TLSCertsV4Invalid, Reason: why} }
	if len(c.Certificate) > maxV4Field || len(c.CA) > maxV4Field || len(c.Chain) > maxV4Chain {
		return invalid("the answer is too large")
	}
	leaf := firstCert(c.Certificate)
	if leaf == nil {
		return invalid("the certificate does not parse")
	}
	if !publicKeyEqual(pub, leaf.PublicKey) {
		return invalid("the certificate is not for the unit's private key")
	}
	if leaf.IsCA {
		return invalid("a CA certificate was issued for a server request")
	}
	ca := firstCert(c.CA)
	if ca == nil {
		return invalid("the CA certificate does not parse")
	}
	out := pemCert(leaf)
	for _, s := range c.Chain {
		cert := firstCert(s)
		if cert == nil || len(s) > maxV4Field {
			return invalid("the chain does not parse")
		}
		// The leaf leads the chain; a self-signed root is never sent.
		if cert.Equal(leaf) || isSelfSigned(cert) {
			continue
		}
		out += pemCert(cert)
	}
	return TLSCertsV4Answer{State: TLSCertsV4Issued, Cert: out, CA: pemCert(ca)}
}

func firstCert(s string) *x509.Certificate {
	certs, err := pki.ParseCertificates([]byte(s))
	if err != nil {
		return nil
	}
	return certs[0]
}

func pemCert(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

func isSelfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawSubject, c.RawIssuer) && c.CheckSignatureFrom(c) == nil
}

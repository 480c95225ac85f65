package relation

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/canonical/docker-registry-charm/internal/pki/pkitest"
)

// The wire format these tests pin comes from the tls_certificates_interface
// library v4 (canonical/tls-certificates-interface,
// lib/charms/tls_certificates_interface/v4/tls_certificates.py: the models
// _CertificateSigningRequest, _RequirerData, _Certificate,
// _ProviderApplicationData and their dump/load; the requirer's
// _find_certificate_in_relation_data) and the spec
// (canonical/charm-relation-interfaces, interfaces/tls_certificates/v1:
// README.md and schema.py).

var (
	testKeysOnce sync.Once
	testKeys     [2]*rsa.PrivateKey
)

// rsaKeys are two RSA keys shared by the tests: generating 2048-bit keys
// is the slow part.
func rsaKeys(t testing.TB) (*rsa.PrivateKey, *rsa.PrivateKey) {
	t.Helper()
	testKeysOnce.Do(func() {
		for i := range testKeys {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			testKeys[i] = k
		}
	})
	return testKeys[0], testKeys[1]
}

var v4Req = NewTLSCertsRequest("docker-registry/0", "10.1.2.3", []string{"10.1.2.3", "203.0.113.7", "juju-abc-0", "registry.example.com"})

func mustCSR(t testing.TB, r TLSCertsRequest, key crypto.Signer) string {
	t.Helper()
	csr, err := NewTLSCertsV4CSR(r, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	return csr
}

// v4CA signs certificates for CSRs as a provider does.
type v4CA struct {
	cert    *x509.Certificate
	pem     string
	key     *ecdsa.PrivateKey
	serial  int64
	notTill time.Time
}

func newV4CA(t testing.TB, cn string) *v4CA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca := &v4CA{key: key, serial: 1, notTill: time.Now().Add(24 * time.Hour)}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: ca.notTill,
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	c, p := pkitest.Sign(t, tmpl, tmpl, key.Public(), key)
	ca.cert, ca.pem = c, string(p)
	return ca
}

// sign issues a certificate for pub with the CSR's names.
func (ca *v4CA) sign(t testing.TB, csrPEM string, pub crypto.PublicKey, isCA bool) string {
	t.Helper()
	csr := parseCSR(csrPEM)
	if csr == nil {
		t.Fatal("test CSR does not parse")
	}
	ca.serial++
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(ca.serial), Subject: csr.Subject,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: ca.notTill,
		DNSNames: csr.DNSNames, IPAddresses: csr.IPAddresses,
		BasicConstraintsValid: true, IsCA: isCA}
	_, p := pkitest.Sign(t, tmpl, ca.cert, pub, ca.key)
	return string(p)
}

type entry = map[string]any

func certificatesBag(t testing.TB, entries ...entry) map[string]string {
	t.Helper()
	b, err := json.Marshal(entries)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"certificates": string(b)}
}

// Our CSR asks for exactly the reactive request's names, split into IP
// and DNS SANs, with the library's unique identifier and our key; any
// difference means a new CSR.
func TestCSRAsks(t *testing.T) {
	key, other := rsaKeys(t)
	csr := mustCSR(t, v4Req, key)
	parsed := parseCSR(csr)
	if parsed.Subject.CommonName != "10.1.2.3" || !hasUniqueID(parsed.Subject) {
		t.Errorf("subject %v", parsed.Subject)
	}
	if got := strings.Join(parsed.DNSNames, ","); got != "juju-abc-0,registry.example.com" {
		t.Errorf("DNS SANs %q", got)
	}
	if len(parsed.IPAddresses) != 2 {
		t.Errorf("IP SANs %v", parsed.IPAddresses)
	}
	if strings.HasSuffix(csr, "\n") || !strings.HasPrefix(csr, "-----BEGIN CERTIFICATE REQUEST-----\n") {
		t.Errorf("not PEM stripped as the library publishes it: %q...", csr[:40])
	}
	if again := mustCSR(t, v4Req, key); again == csr {
		t.Error("two CSRs for the same names are identical: the unique identifier is missing")
	}
	for name, tc := range map[string]struct {
		csr  string
		req  TLSCertsRequest
		pub  crypto.PublicKey
		want bool
	}{
		"same":                   {csr, v4Req, key.Public(), true},
		"names in another order": {csr, NewTLSCertsRequest("docker-registry/0", "10.1.2.3", []string{"registry.example.com", "juju-abc-0", "203.0.113.7"}), key.Public(), true},
		"a new SAN":              {csr, NewTLSCertsRequest("docker-registry/0", "10.1.2.3", append(v4Req.SANs, "10.9.9.9")), key.Public(), false},
		"a SAN fewer":            {csr, NewTLSCertsRequest("docker-registry/0", "10.1.2.3", []string{"juju-abc-0"}), key.Public(), false},
		"another CN":             {csr, NewTLSCertsRequest("docker-registry/0", "10.1.2.4", v4Req.SANs), key.Public(), false},
		"another key":            {csr, v4Req, other.Public(), false},
		"garbage":                {"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----", v4Req, key.Public(), false},
		"empty":                  {"", v4Req, key.Public(), false},
		"without unique id":      {csrWithoutUniqueID(t, v4Req, key), v4Req, key.Public(), false},
	} {
		if got := TLSCertsV4CSRAsks(tc.csr, tc.req, tc.pub); got != tc.want {
			t.Errorf("%s: CSRAsks = %v, want %v", name, got, tc.want)
		}
	}
}

func csrWithoutUniqueID(t *testing.T, r TLSCertsRequest, key crypto.Signer) string {
	dns, ips := splitSANs(r.SANs)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: r.CommonName}, DNSNames: dns, IPAddresses: ips}, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

// A host name that is not ASCII cannot be a DNS SAN (IA5String): it is
// left out instead of failing every hook.
func TestCSRSkipsNamesACertificateCannotHold(t *testing.T) {
	key, _ := rsaKeys(t)
	req := NewTLSCertsRequest("docker-registry/0", "10.1.2.3", []string{"héhé", "ok.example"})
	csr := mustCSR(t, req, key)
	if got := parseCSR(csr).DNSNames; len(got) != 1 || got[0] != "ok.example" {
		t.Errorf("DNS SANs %q", got)
	}
	if !TLSCertsV4CSRAsks(csr, req, key.Public()) {
		t.Error("the CSR made for a request does not ask for it")
	}
}

// The bag value is what the library's dump writes: json.dumps of the
// model, fields in declaration order, Python's separators.
func TestCSRsValue(t *testing.T) {
	got := csrsValue("-----BEGIN CERTIFICATE REQUEST-----\nAB/+\n-----END CERTIFICATE REQUEST-----")
	want := `[{"certificate_signing_request": "-----BEGIN CERTIFICATE REQUEST-----\nAB/+\n-----END CERTIFICATE REQUEST-----", "ca": false}]`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if back := TLSCertsV4PublishedCSRs(map[string]string{"certificate_signing_requests": got}); len(back) != 1 || !strings.Contains(back[0], "AB/+") {
		t.Errorf("read back %q", back)
	}
}

// Our own bag may hold anything an older charm or an operator put there.
func TestPublishedCSRsHostile(t *testing.T) {
	for raw, want := range map[string]int{
		"":                                     0,
		"garbage":                              0,
		`{"certificate_signing_request": "x"}`: 0,
		`[1, "x", null, {"certificate_signing_request": 5}]`:                                        0,
		`[{"certificate_signing_request": "a", "ca": true}]`:                                        0,
		`[{"certificate_signing_request": "a"}, {"certificate_signing_request": "b", "ca": false}]`: 2,
		`[{"certificate_signing_request": ""}]`:                                                     0,
		"[" + strings.Repeat(`{"certificate_signing_request": "a"},`, 300000) + "1]":                0, // over the bound
	} {
		if got := TLSCertsV4PublishedCSRs(map[string]string{"certificate_signing_requests": raw}); len(got) != want {
			t.Errorf("%.60q: %d CSRs, want %d", raw, len(got), want)
		}
	}
}

// State in (the provider's application bag) → the answer out: only an
// element for our CSR counts, only a certificate for our key is used,
// revoked wins over unusable, a usable one over both.
func TestFindV4Answer(t *testing.T) {
	key, other := rsaKeys(t)
	csr := mustCSR(t, v4Req, key)
	otherCSR := mustCSR(t, NewTLSCertsRequest("docker-registry/1", "10.1.2.4", []string{"10.1.2.4"}), other)
	ca := newV4CA(t, "self-signed-certificates")
	good := ca.sign(t, csr, key.Public(), false)
	forOther := ca.sign(t, otherCSR, other.Public(), false)
	notOurKey := ca.sign(t, csr, other.Public(), false)
	caCert := ca.sign(t, csr, key.Public(), true)
	inter := newV4CA(t, "intermediate")
	mk := func(csr, cert string, revoked any) entry {
		e := entry{"ca": ca.pem, "certificate_signing_request": csr, "certificate": cert, "chain": []string{cert, ca.pem}}
		if revoked != nil {
			e["revoked"] = revoked
		}
		return e
	}
	for name, tc := range map[string]struct {
		bag    map[string]string
		state  TLSCertsV4State
		reason string
	}{
		"no answer yet":                {map[string]string{}, TLSCertsV4None, ""},
		"garbage JSON":                 {map[string]string{"certificates": "[{"}, TLSCertsV4None, ""},
		"not a list":                   {map[string]string{"certificates": `{"certificate": "x"}`}, TLSCertsV4None, ""},
		"only another unit's":          {certificatesBag(t, mk(otherCSR, forOther, nil)), TLSCertsV4None, ""},
		"ours among others":            {certificatesBag(t, mk(otherCSR, forOther, nil), mk(csr, good, nil)), TLSCertsV4Issued, ""},
		"ours with a trailing newline": {certificatesBag(t, mk(csr+"\n", good, nil)), TLSCertsV4Issued, ""},
		"revoked false":                {certificatesBag(t, mk(csr, good, false)), TLSCertsV4Issued, ""},
		"revoked":                      {certificatesBag(t, mk(csr, good, true)), TLSCertsV4Revoked, ""},
		"revoked then reissued":        {certificatesBag(t, mk(csr, notOurKey, true), mk(csr, good, nil)), TLSCertsV4Issued, ""},
		"not for our key":              {certificatesBag(t, mk(csr, notOurKey, nil)), TLSCertsV4Invalid, "not for the unit's private key"},
		"a CA certificate":             {certificatesBag(t, mk(csr, caCert, nil)), TLSCertsV4Invalid, "CA certificate"},
		"certificate garbage":          {certificatesBag(t, mk(csr, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", nil)), TLSCertsV4Invalid, "does not parse"},
		"unusable, then revoked":       {certificatesBag(t, mk(csr, notOurKey, nil), mk(csr, good, true)), TLSCertsV4Revoked, ""},
		"another CSR for the same key": {certificatesBag(t, mk(mustCSR(t, v4Req, key), good, nil)), TLSCertsV4None, ""},
		"wrong types skipped":          {map[string]string{"certificates": `[{"certificate": 5, "certificate_signing_request": ` + jsonString(csr) + `}]`}, TLSCertsV4None, ""},
		"ca garbage":                   {certificatesBag(t, entry{"ca": "x", "certificate_signing_request": csr, "certificate": good}), TLSCertsV4Invalid, "CA certificate does not parse"},
		"chain garbage":                {certificatesBag(t, entry{"ca": ca.pem, "certificate_signing_request": csr, "certificate": good, "chain": []string{good, "junk"}}), TLSCertsV4Invalid, "chain"},
		"no chain":                     {certificatesBag(t, entry{"ca": ca.pem, "certificate_signing_request": csr, "certificate": good}), TLSCertsV4Issued, ""},
		"huge field":                   {certificatesBag(t, entry{"ca": ca.pem + strings.Repeat("x", maxV4Field), "certificate_signing_request": csr, "certificate": good}), TLSCertsV4Invalid, "too large"},
		"huge value":                   {map[string]string{"certificates": "[" + strings.Repeat(" ", maxCertificatesValue) + "]"}, TLSCertsV4None, ""},
		"long chain":                   {certificatesBag(t, entry{"ca": ca.pem, "certificate_signing_request": csr, "certificate": good, "chain": make([]string, 100)}), TLSCertsV4Invalid, "too large"},
		"an intermediate in the chain": {certificatesBag(t, entry{"ca": ca.pem, "certificate_signing_request": csr, "certificate": good, "chain": []string{good, inter.pem, ca.pem}}), TLSCertsV4Issued, ""},
	} {
		t.Run(name, func(t *testing.T) {
			a := FindTLSCertsV4Answer(tc.bag, csr, key.Public())
			if a.State != tc.state || !strings.Contains(a.Reason, tc.reason) {
				t.Fatalf("state %d reason %q, want %d %q", a.State, a.Reason, tc.state, tc.reason)
			}
			if a.State != TLSCertsV4Issued {
				if a.Cert != "" || a.CA != "" {
					t.Error("material returned with an answer that is not usable")
				}
				return
			}
			certs, err := pkiCerts(a.Cert)
			if err != nil || !certs[0].PublicKey.(*rsa.PublicKey).Equal(key.Public()) {
				t.Fatalf("served leaf is not for our key: %v", err)
			}
			for _, c := range certs[1:] {
				if isSelfSigned(c) {
					t.Error("a self-signed root is in the served chain")
				}
			}
			if a.CA != ca.pem {
				t.Errorf("CA %q", a.CA)
			}
		})
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func pkiCerts(s string) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for b, rest := pem.Decode([]byte(s)); b != nil; b, rest = pem.Decode(rest) {
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// The library's side reads what we publish: Python's cryptography (the
// library's dependency) loads our CSR, finds the names and the unique
// identifier the library's CertificateRequestAttributes.from_csr reads, and
// json.loads reads our bag value into the fields _RequirerData declares.
func TestCSRReadByPythonCryptography(t *testing.T) {
	key, _ := rsaKeys(t)
	csr := mustCSR(t, v4Req, key)
	out := python(t, `
import json, sys
from cryptography import x509
from cryptography.x509.oid import NameOID
bag = json.loads(sys.stdin.read())
entry = bag[0]
assert sorted(entry) == ["ca", "certificate_signing_request"], entry
assert entry["ca"] is False
csr = x509.load_pem_x509_csr(entry["certificate_signing_request"].encode())
assert csr.is_signature_valid
san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
print(csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)
print(",".join(sorted(san.get_values_for_type(x509.DNSName))))
print(",".join(sorted(str(i) for i in san.get_values_for_type(x509.IPAddress))))
print(len(csr.subject.get_attributes_for_oid(NameOID.X500_UNIQUE_IDENTIFIER)))
`, []byte(csrsValue(csr)))
	want := "10.1.2.3\njuju-abc-0,registry.example.com\n10.1.2.3,203.0.113.7\n1\n"
	if string(out) != want {
		t.Errorf("python read:\n%s\nwant:\n%s", out, want)
	}
}

// A CSR's PEM from another encoder (line endings, final newline) is still
// the same request, as the library compares re-encoded PEM.
func TestSameCSR(t *testing.T) {
	key, _ := rsaKeys(t)
	csr := mustCSR(t, v4Req, key)
	if !sameCSR(csr, csr+"\n\n") || !sameCSR(csr, strings.ReplaceAll(csr, "\n", "\r\n")) {
		t.Error("the same request with other whitespace is not the same CSR")
	}
	if sameCSR(csr, mustCSR(t, v4Req, key)) || sameCSR(csr, "") || sameCSR("", "") {
		t.Error("different or empty requests compare equal")
	}
}

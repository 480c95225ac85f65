package relation

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"
)

func ecKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// FuzzTLSCertificatesV4 feeds arbitrary provider and requirer bag values
// (tls_certificates v1 spec, charm-relation-interfaces
// interfaces/tls_certificates/v1/schema.py) to the parsers. Whatever the
// bytes, nothing panics, and an answer is only ever usable when its leaf
// is for our own key; anything else carries no material.
//
//	go test ./internal/relation -run '^$' -fuzz FuzzTLSCertificatesV4 -fuzztime 30s
func FuzzTLSCertificatesV4(f *testing.F) {
	// ECDSA keys: under the fuzzer's coverage instrumentation RSA key
	// generation takes minutes, and the parser does not care.
	key, other := ecKey(f), ecKey(f)
	csr := mustCSR(f, v4Req, key)
	ca := newV4CA(f, "fuzz CA")
	good := ca.sign(f, csr, key.Public(), false)
	foreign := ca.sign(f, csr, other.Public(), false)
	seed := func(e ...entry) string { return certificatesBag(f, e...)["certificates"] }
	f.Add(seed(entry{"ca": ca.pem, "certificate_signing_request": csr, "certificate": good, "chain": []string{good, ca.pem}}), csrsValue(csr))
	f.Add(seed(entry{"ca": ca.pem, "certificate_signing_request": csr, "certificate": good, "revoked": true}), "[]")
	f.Add(seed(entry{"ca": ca.pem, "certificate_signing_request": csr, "certificate": foreign}), `[{"certificate_signing_request": 1}]`)
	f.Add(`[{"certificate_signing_request": `+jsonString(csr)+`, "certificate": "-----BEGIN CERTIFICATE-----\n"}]`, "{")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, certificates, csrs string) {
		a := FindTLSCertsV4Answer(map[string]string{"certificates": certificates}, csr, key.Public())
		switch a.State {
		case TLSCertsV4Issued:
			leaf := firstCert(a.Cert)
			if leaf == nil || !key.PublicKey.Equal(leaf.PublicKey) || firstCert(a.CA) == nil || a.Reason != "" {
				t.Fatalf("a usable answer that is not for our key or has no CA: %+v", a)
			}
		case TLSCertsV4Invalid:
			if a.Reason == "" || a.Cert != "" || a.CA != "" {
				t.Fatalf("an unusable answer with material or no reason: %+v", a)
			}
		default:
			if a.Cert != "" || a.CA != "" || a.Reason != "" {
				t.Fatalf("state %d carries %+v", a.State, a)
			}
		}
		if strings.Contains(a.Reason, "PRIVATE") || strings.Contains(a.Reason, "BEGIN") {
			t.Fatalf("the reason quotes PEM: %q", a.Reason)
		}
		for _, c := range TLSCertsV4PublishedCSRs(map[string]string{"certificate_signing_requests": csrs}) {
			if c == "" {
				t.Fatal("an empty CSR was read as published")
			}
		}
	})
}

package relation

import (
	"encoding/pem"
	"slices"
	"strings"
	"testing"

	"github.com/canonical/docker-registry-charm/internal/pki/pkitest"
)

// FuzzReadIssued reads any provider answer. What comes out must be PEM
// blocks of the right type and nothing else, re-encoded exactly (so it
// reads back unchanged: parse → render → parse), and "ok" only with all
// three parts. Seeds are easyrsa's answers as its interface publishes them
// (interface-tls-certificates provides.py: raw PEM under ca,
// <unit>.server.cert/.key, client.cert/.key; layer-easyrsa puts an OpenSSL
// text dump before each certificate), with real certificates.
func FuzzReadIssued(f *testing.F) {
	ca := pkitest.NewCA(f, "easyrsa CA")
	leaf := ca.Issue(f, pkitest.Leaf{CommonName: "10.0.0.5"})
	f.Add(string(ca.CertPEM), textDump+string(leaf.CertPEM), string(leaf.KeyPEM))
	f.Add(testCA, testCert, testKey)
	f.Add(testCA+"\ntrailing\n", testCert+testKey, testKey+testCert)
	f.Add("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n", "-----BEGIN CERTIFICATE-----\n", "")
	f.Add("-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n\x00\n-----BEGIN CERTIFICATE-----\nU0VSVkVS\n-----END CERTIFICATE-----",
		"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nS0VZ\n-----END RSA PRIVATE KEY-----\n", "-----BEGIN EC PRIVATE KEY-----\nS0VZ\n-----END EC PRIVATE KEY-----\n")
	f.Fuzz(func(t *testing.T, caPEM, cert, key string) {
		remote := map[string]map[string]string{"easyrsa/0": {
			"ca": caPEM, "docker-registry_0.server.cert": cert, "docker-registry_0.server.key": key,
			"client.cert": cert, "client.key": key,
		}}
		got, ok := ReadTLSCertsIssued("docker-registry/0", remote)
		if ok != (got.CA != "" && got.ServerCert != "" && got.ServerKey != "") {
			t.Fatalf("ok = %v with %q", ok, got)
		}
		checkPEMOnly(t, got.CA, isCertType)
		checkPEMOnly(t, got.ServerCert, isCertType)
		checkPEMOnly(t, got.ServerKey, isKeyType)
		if (got.ServerCert == "") != (got.ServerKey == "") || got.ClientCert != got.ServerCert || got.ClientKey != got.ServerKey {
			t.Fatalf("a half pair came through: %q", got)
		}
		// What we read, published again by a provider, reads the same.
		again, ok2 := ReadTLSCertsIssued("docker-registry_0", map[string]map[string]string{"easyrsa/0": {
			"ca": got.CA, "docker-registry_0.server.cert": got.ServerCert, "docker-registry_0.server.key": got.ServerKey,
			"client.cert": got.ClientCert, "client.key": got.ClientKey,
		}})
		if again != got || ok2 != ok {
			t.Fatalf("round trip changed the answer:\n%q\n%q", got, again)
		}
	})
}

func isCertType(t string) bool { return t == "CERTIFICATE" }
func isKeyType(t string) bool  { return strings.HasSuffix(t, "PRIVATE KEY") }

// checkPEMOnly fails unless s is "" or consists of nothing but PEM blocks
// of a wanted type, without headers, exactly as pem.Encode writes them.
func checkPEMOnly(t *testing.T, s string, wanted func(string) bool) {
	t.Helper()
	rest := []byte(s)
	var rebuilt []byte
	for len(rest) > 0 {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			t.Fatalf("not PEM only: %q", s)
		}
		if !wanted(b.Type) || len(b.Headers) > 0 {
			t.Fatalf("unwanted block %q (headers %v) in %q", b.Type, b.Headers, s)
		}
		rebuilt = append(rebuilt, pem.EncodeToMemory(b)...)
	}
	if string(rebuilt) != s {
		t.Fatalf("not canonical PEM: %q", s)
	}
}

// FuzzCertRequest builds our request from any names (addresses come from
// Juju, a proxy's relation data and config) and reads it back as easyrsa's
// interface does (interface-tls-certificates provides.py: common_name,
// json.loads(sans), unit_name). Every SAN must be a host, the CN among
// them, the published sans one line, and a bag we published already must
// need no change.
func FuzzCertRequest(f *testing.F) {
	f.Add("docker-registry/0", "10.0.0.5", "juju-abc-0", "registry.example.com", "192.168.0.9")
	f.Add("docker-registry/12", "fd00::5", "bücher.example", "a b", "x,y")
	f.Add("r/0", " 10.0.0.5 ", "host\nExecStart=evil", "$(id)", "")
	f.Fuzz(func(t *testing.T, unit, cn, san1, san2, san3 string) {
		r := NewTLSCertsRequest(unit, cn, []string{san1, san2, san3})
		for _, s := range r.SANs {
			if !isHost(s) {
				t.Fatalf("SAN %q is not a host", s)
			}
		}
		if !slices.IsSorted(r.SANs) || len(slices.Compact(slices.Clone(r.SANs))) != len(r.SANs) {
			t.Fatalf("SANs not sorted and unique: %q", r.SANs)
		}
		if r.CommonName != "" && !isHost(r.CommonName) {
			t.Fatalf("CN %q is not a host", r.CommonName)
		}
		if r.CommonName != "" && !slices.Contains(r.SANs, r.CommonName) {
			t.Fatalf("CN %q not among SANs %q", r.CommonName, r.SANs)
		}
		bag := r.Bag()
		checkReactiveJSONLine(t, bag["sans"])
		if r.Changes(bag) != nil {
			t.Fatalf("our own bag needs changes: %v", r.Changes(bag))
		}
		if r.CommonName == "" {
			return
		}
		back, ok := parseCertRequest(unit, bag)
		if !ok || !slices.Equal(back.SANs, r.SANs) || back.UnitName != r.UnitName || back.CommonName != r.CommonName {
			t.Fatalf("provider reads %#v, we sent %#v", back, r)
		}
	})
}

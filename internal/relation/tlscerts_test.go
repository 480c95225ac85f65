package relation

import (
	"reflect"
	"regexp"
	"testing"
)

const (
	testCA      = "-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----"
	testCert    = "-----BEGIN CERTIFICATE-----\nU0VSVkVS\n-----END CERTIFICATE-----\n"
	testKey     = "-----BEGIN PRIVATE KEY-----\nS0VZ\n-----END PRIVATE KEY-----\n"
	testCert2   = "-----BEGIN CERTIFICATE-----\nU0VSVkVSMg==\n-----END CERTIFICATE-----\n"
	testKey2    = "-----BEGIN PRIVATE KEY-----\nS0VZMg==\n-----END PRIVATE KEY-----\n"
	testCliCert = "-----BEGIN CERTIFICATE-----\nQ0xJRU5U\n-----END CERTIFICATE-----\n"
	testCliKey  = "-----BEGIN PRIVATE KEY-----\nQ0xJS0VZ\n-----END PRIVATE KEY-----\n"
	// easyrsa prefixes its certificates with an OpenSSL text dump.
	textDump = "Certificate:\n    Data:\n        Version: 3 (0x2)\n        Subject: CN=10.0.0.5\n"
)

func TestNewCertRequest(t *testing.T) {
	tests := []struct {
		name  string
		unit  string
		cn    string
		sans  []string
		want  TLSCertsRequest
		wantJ string // the published sans
	}{
		{
			name: "CN kept among SANs, sorted, deduplicated, empties dropped",
			unit: "docker-registry/0", cn: "10.0.0.5",
			sans: []string{"registry.internal", "", "10.0.0.5", " 192.168.1.5 ", "registry.internal", "juju-abc-0"},
			want: TLSCertsRequest{
				UnitName: "docker-registry_0", CommonName: "10.0.0.5",
				SANs: []string{"10.0.0.5", "192.168.1.5", "juju-abc-0", "registry.internal"},
			},
			wantJ: `["10.0.0.5", "192.168.1.5", "juju-abc-0", "registry.internal"]`,
		},
		{
			name: "names easyrsa cannot take are dropped", unit: "r/0", cn: "10.0.0.5",
			sans:  []string{"a b.example", "x.example,y.example", "ok.example", "tab\there"},
			want:  TLSCertsRequest{UnitName: "r_0", CommonName: "10.0.0.5", SANs: []string{"10.0.0.5", "ok.example"}},
			wantJ: `["10.0.0.5", "ok.example"]`,
		},
		{
			name: "no SANs given", unit: "docker-registry/12", cn: "10.0.0.5",
			want:  TLSCertsRequest{UnitName: "docker-registry_12", CommonName: "10.0.0.5", SANs: []string{"10.0.0.5"}},
			wantJ: `["10.0.0.5"]`,
		},
		{
			name: "IPv6 and non-ASCII host names", unit: "r/0", cn: "fd00::5",
			sans: []string{"bücher.example", "fd00::5"},
			want: TLSCertsRequest{UnitName: "r_0", CommonName: "fd00::5", SANs: []string{"bücher.example", "fd00::5"}},
			// Go and Python both sort by code point.
			wantJ: `["b\u00fccher.example", "fd00::5"]`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := NewTLSCertsRequest(tt.unit, tt.cn, tt.sans)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("NewCertRequest = %#v, want %#v", got, tt.want)
			}
			if j := got.Bag()["sans"]; j != tt.wantJ {
				t.Errorf("sans = %s, want %s", j, tt.wantJ)
			}
		})
	}
}

func TestCertRequestBag(t *testing.T) {
	r := NewTLSCertsRequest("docker-registry/0", "10.0.0.5", []string{"registry.internal"})
	want := map[string]string{
		"unit_name":        "docker-registry_0",
		"common_name":      "10.0.0.5",
		"sans":             `["10.0.0.5", "registry.internal"]`,
		"certificate_name": certificateName("docker-registry/0"),
	}
	if got := r.Bag(); !reflect.DeepEqual(got, want) {
		t.Errorf("Bag = %v, want %v", got, want)
	}
}

func TestCertificateName(t *testing.T) {
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a := certificateName("docker-registry/0")
	if !uuid.MatchString(a) {
		t.Errorf("CertificateName = %q, not a version 5 UUID", a)
	}
	if b := certificateName("docker-registry/0"); b != a {
		t.Errorf("CertificateName not stable: %q then %q", a, b)
	}
	if b := certificateName("docker-registry_0"); b != a {
		t.Errorf("CertificateName differs for the \"_\" spelling: %q vs %q", a, b)
	}
	if b := certificateName("docker-registry/1"); b == a {
		t.Errorf("CertificateName same for two units: %q", a)
	}
}

func TestCertRequestChanges(t *testing.T) {
	r := NewTLSCertsRequest("docker-registry/0", "10.0.0.5", []string{"registry.internal"})
	full := r.Bag()
	with := func(kv ...string) map[string]string {
		b := map[string]string{"private-address": "10.0.0.5"}
		for k, v := range full {
			b[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(b, kv[i])
			} else {
				b[kv[i]] = kv[i+1]
			}
		}
		return b
	}
	tests := []struct {
		name      string
		published map[string]string
		want      map[string]string
	}{
		{"nothing published yet", map[string]string{"private-address": "10.0.0.5"}, full},
		{"only unit_name from -joined", map[string]string{"unit_name": "docker-registry_0"}, map[string]string{
			"common_name": "10.0.0.5", "sans": full["sans"], "certificate_name": full["certificate_name"],
		}},
		{"up to date", with(), nil},
		{"SANs in another order are the same set", with("sans", `["registry.internal", "10.0.0.5"]`), nil},
		{"SANs written by Python reactive", with("sans", `["10.0.0.5", "registry.internal"]`), nil},
		{"SAN added", with("sans", `["10.0.0.5"]`), map[string]string{"sans": full["sans"]}},
		{"SAN removed", with("sans", `["10.0.0.5", "old.example", "registry.internal"]`), map[string]string{"sans": full["sans"]}},
		{"SANs a bare string", with("sans", "10.0.0.5"), map[string]string{"sans": full["sans"]}},
		{"SANs not strings", with("sans", `[1, 2]`), map[string]string{"sans": full["sans"]}},
		{"SANs missing", with("sans", ""), map[string]string{"sans": full["sans"]}},
		{"CN changed", with("common_name", "10.0.0.9", "sans", `["10.0.0.9", "registry.internal"]`),
			map[string]string{"common_name": "10.0.0.5", "sans": full["sans"]}},
		{"reactive's uuid4 certificate_name kept", with("certificate_name", "b0d44a0e-1f0c-4c5e-9d38-0c6a3e0f1a22"), nil},
		{"unit_name wrong", with("unit_name", "docker-registry/0"), map[string]string{"unit_name": "docker-registry_0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.Changes(tt.published)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Changes = %v, want %v", got, tt.want)
			}
			if r.Differs(tt.published) != (tt.want != nil) {
				t.Errorf("Differs = %v, want %v", !(tt.want != nil), tt.want != nil)
			}
		})
	}
}

func TestReadIssued(t *testing.T) {
	juju := map[string]string{"private-address": "10.0.0.9", "ingress-address": "10.0.0.9", "egress-subnets": "10.0.0.9/32"}
	bag := func(kv ...string) map[string]string {
		b := map[string]string{}
		for k, v := range juju {
			b[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			b[kv[i]] = kv[i+1]
		}
		return b
	}
	const sc, sk = "docker-registry_0.server.cert", "docker-registry_0.server.key"
	full := TLSCertsIssued{CA: testCA + "\n", ServerCert: testCert, ServerKey: testKey}
	tests := []struct {
		name   string
		unit   string
		remote map[string]map[string]string
		want   TLSCertsIssued
		ok     bool
	}{
		{"no provider units", "docker-registry/0", nil, TLSCertsIssued{}, false},
		{"provider joined, nothing sent", "docker-registry/0", map[string]map[string]string{"easyrsa/0": bag()}, TLSCertsIssued{}, false},
		{"CA only: waiting", "docker-registry/0",
			map[string]map[string]string{"easyrsa/0": bag("ca", testCA)},
			TLSCertsIssued{CA: testCA + "\n"}, false},
		{"certificate without key: waiting", "docker-registry/0",
			map[string]map[string]string{"easyrsa/0": bag("ca", testCA, sc, testCert)},
			TLSCertsIssued{CA: testCA + "\n"}, false},
		{"pair without CA: waiting", "docker-registry/0",
			map[string]map[string]string{"easyrsa/0": bag(sc, testCert, sk, testKey)},
			TLSCertsIssued{ServerCert: testCert, ServerKey: testKey}, false},
		{"complete", "docker-registry/0",
			map[string]map[string]string{"easyrsa/0": bag("ca", testCA, sc, testCert, sk, testKey)},
			full, true},
		{"unit name given with underscore", "docker-registry_0",
			map[string]map[string]string{"easyrsa/0": bag("ca", testCA, sc, testCert, sk, testKey)},
			full, true},
		{"another unit's certificate is not ours", "docker-registry/1",
			map[string]map[string]string{"easyrsa/0": bag("ca", testCA, sc, testCert, sk, testKey)},
			TLSCertsIssued{CA: testCA + "\n"}, false},
		{"text dump before the PEM is dropped", "docker-registry/0",
			map[string]map[string]string{"easyrsa/0": bag("ca", testCA, sc, textDump+testCert, sk, testKey,
				"client.cert", textDump+testCliCert, "client.key", testCliKey)},
			TLSCertsIssued{CA: testCA + "\n", ServerCert: testCert, ServerKey: testKey, ClientCert: testCliCert, ClientKey: testCliKey}, true},
		{"text without PEM is no certificate", "docker-registry/0",
			map[string]map[string]string{"easyrsa/0": bag("ca", testCA, sc, textDump, sk, testKey)},
			TLSCertsIssued{CA: testCA + "\n"}, false},
		{"broken PEM is no certificate", "docker-registry/0",
			map[string]map[string]string{"easyrsa/0": bag("ca", testCA, sc, "-----BEGIN CERTIFICATE-----\n!!!\n", sk, testKey)},
			TLSCertsIssued{CA: testCA + "\n"}, false},
		{"CA from the leader, pair from another unit", "docker-registry/0",
			map[string]map[string]string{"easyrsa/0": bag(sc, testCert, sk, testKey), "easyrsa/1": bag("ca", testCA)},
			full, true},
		{"lowest unit number wins: 2 before 10", "docker-registry/0",
			map[string]map[string]string{
				"easyrsa/10": bag("ca", testCA, sc, testCert2, sk, testKey2),
				"easyrsa/2":  bag("ca", testCA, sc, testCert, sk, testKey),
			},
			full, true},
		{"a half pair on a lower unit never mixes with another unit's key", "docker-registry/0",
			map[string]map[string]string{
				"easyrsa/0": bag("ca", testCA, sc, testCert2),
				"easyrsa/1": bag(sc, testCert, sk, testKey),
			},
			full, true},
		{"client pair needs both halves", "docker-registry/0",
			map[string]map[string]string{"easyrsa/0": bag("ca", testCA, sc, testCert, sk, testKey, "client.cert", testCliCert)},
			full, true},
		{"trailing whitespace normalised to one newline", "docker-registry/0",
			map[string]map[string]string{"easyrsa/0": bag("ca", testCA+"\n\n  ", sc, testCert, sk, testKey+"\n")},
			full, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ReadTLSCertsIssued(tt.unit, tt.remote)
			if ok != tt.ok {
				t.Errorf("ok = %v, want %v", ok, tt.ok)
			}
			if got != tt.want {
				// Test material only: fake PEM, no secret.
				t.Errorf("ReadIssued =\n%#v\nwant\n%#v", got, tt.want)
			}
		})
	}
}

func TestParseCertRequest(t *testing.T) {
	tests := []struct {
		name string
		unit string
		bag  map[string]string
		want TLSCertsRequest
		ok   bool
	}{
		{"nothing requested", "docker-registry/0", map[string]string{"unit_name": "docker-registry_0"}, TLSCertsRequest{}, false},
		{"our own bag reads back", "docker-registry/0",
			NewTLSCertsRequest("docker-registry/0", "10.0.0.5", []string{"registry.internal"}).Bag(),
			TLSCertsRequest{UnitName: "docker-registry_0", CommonName: "10.0.0.5", SANs: []string{"10.0.0.5", "registry.internal"}}, true},
		{"unit_name missing: Juju's unit name", "docker-registry/3",
			map[string]string{"common_name": "10.0.0.8", "sans": `["10.0.0.8"]`},
			TLSCertsRequest{UnitName: "docker-registry_3", CommonName: "10.0.0.8", SANs: []string{"10.0.0.8"}}, true},
		{"sans not a list", "r/0", map[string]string{"common_name": "h", "sans": "h"},
			TLSCertsRequest{UnitName: "r_0", CommonName: "h"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseCertRequest(tt.unit, tt.bag)
			if ok != tt.ok || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseCertRequest = %#v, %v; want %#v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestIssuedBagReadsBack(t *testing.T) {
	req := NewTLSCertsRequest("docker-registry/0", "10.0.0.5", nil)
	bag := issuedBag(req, testCA, textDump+testCert, testKey)
	want := map[string]string{"ca": testCA, "docker-registry_0.server.cert": textDump + testCert, "docker-registry_0.server.key": testKey}
	if !reflect.DeepEqual(bag, want) {
		t.Fatalf("IssuedBag = %v, want %v", bag, want)
	}
	got, ok := ReadTLSCertsIssued("docker-registry/0", map[string]map[string]string{"easyrsa/0": bag})
	if !ok || got.ServerCert != testCert || got.ServerKey != testKey {
		t.Errorf("ReadIssued of IssuedBag = %#v, %v", got, ok)
	}
}

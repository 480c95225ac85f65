package relation

import (
	"bytes"
	"crypto/sha1"
	"encoding/pem"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// tls-certificates, reactive flavour, requirer side (our cert-provider
// endpoint; easyrsa provides). We publish one server-certificate request in
// our unit bag and read the answer from the provider units' bags.

// Keys of the requirer's unit bag.
const (
	keyUnitName        = "unit_name"
	keyCommonName      = "common_name"
	keySANs            = "sans"
	keyCertificateName = "certificate_name"
)

// Keys of the provider's unit bags; the server pair is prefixed with the
// requirer's unit_name.
const (
	keyCA         = "ca"
	keyClientCert = "client.cert"
	keyClientKey  = "client.key"
	suffixCert    = ".server.cert"
	suffixKey     = ".server.key"
)

// TLSCertsRequest is our request for one server certificate.
type TLSCertsRequest struct {
	UnitName   string // local unit name with "/" replaced by "_"
	CommonName string
	SANs       []string // sorted, unique, non-empty, includes CommonName
}

// NewTLSCertsRequest builds the request for the local unit. SANs are trimmed,
// deduplicated and sorted, so that the same set of names always publishes
// the same bytes (easyrsa revokes and reissues when the SAN set changes).
// Only IP addresses and host names (isHost) are kept: easyrsa joins SANs
// with commas into one shell-split argument, so a name with a space, a
// comma or a newline would break every other one, and some SANs (a
// proxy's address) come from another charm's relation data. The CN is kept
// among the SANs because clients match SANs only and ignore the CN. A CN
// that is not a host is dropped, which leaves no request at all (the
// provider ignores a bag without common_name).
func NewTLSCertsRequest(unit, commonName string, sans []string) TLSCertsRequest {
	cn := strings.TrimSpace(commonName)
	if !isHost(cn) {
		cn = ""
	}
	return TLSCertsRequest{
		UnitName:   certUnitName(unit),
		CommonName: cn,
		SANs:       normalizeSANs(append([]string{cn}, sans...)),
	}
}

func certUnitName(unit string) string { return strings.ReplaceAll(unit, "/", "_") }

func normalizeSANs(sans []string) []string {
	set := map[string]bool{}
	for _, s := range sans {
		if s = strings.TrimSpace(s); isHost(s) {
			set[s] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// Bag is the full requirer bag. unit_name, common_name and
// certificate_name are raw (a JSON-quoted CN would put the quotes in the
// certificate); sans is a JSON list, which easyrsa iterates (a bare string
// would be read one character at a time).
func (r TLSCertsRequest) Bag() map[string]string {
	return map[string]string{
		keyUnitName:        r.UnitName,
		keyCommonName:      r.CommonName,
		keySANs:            r.sansJSON(),
		keyCertificateName: certificateName(r.UnitName),
	}
}

func (r TLSCertsRequest) sansJSON() string {
	sans := make([]string, 0, len(r.SANs))
	for _, s := range r.SANs {
		// Invalid UTF-8 cannot come from Juju or the kernel; replacing it
		// keeps the encoding total instead of failing the hook.
		sans = append(sans, strings.ToValidUTF8(s, "\uFFFD"))
	}
	out, err := reactiveJSON(sans)
	if err != nil {
		panic("relation: a list of valid strings failed to encode: " + err.Error())
	}
	return out
}

// certificateName is the certificate_name we publish: a UUID-shaped id
// derived from the unit name, so it is the same in every hook. Reactive
// sent uuid4 once and then kept it; a fresh id per hook would change our
// bag on every hook, firing relation-changed on every provider unit, and a
// provider keying requests on the name would issue a new certificate each
// time. easyrsa itself names its files after the CN and ignores this key.
func certificateName(unitName string) string {
	sum := sha1.Sum([]byte("docker-registry-charm certificate_name\x00" + certUnitName(unitName)))
	sum[6] = sum[6]&0x0f | 0x50 // version 5 (name-based, SHA-1)
	sum[8] = sum[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
}

// Changes returns the keys to relation-set so that our published bag
// carries this request, or nil when it already does. SANs are compared as
// a set, so a bag written by the reactive charm with the same names is left
// alone. A certificate_name already published is kept, as reactive does,
// so a unit upgraded from the reactive charm keeps its uuid4.
func (r TLSCertsRequest) Changes(published map[string]string) map[string]string {
	want := r.Bag()
	changes := map[string]string{}
	for _, k := range []string{keyUnitName, keyCommonName} {
		if published[k] != want[k] {
			changes[k] = want[k]
		}
	}
	if !sameSANs(published[keySANs], r.SANs) {
		changes[keySANs] = want[keySANs]
	}
	if published[keyCertificateName] == "" {
		changes[keyCertificateName] = want[keyCertificateName]
	}
	if len(changes) == 0 {
		return nil
	}
	return changes
}

// Differs reports whether the request published in our bag is not this
// one, e.g. after an address or http-host change added a SAN: the charm
// then publishes Changes and easyrsa reissues.
func (r TLSCertsRequest) Differs(published map[string]string) bool {
	return r.Changes(published) != nil
}

func sameSANs(raw string, want []string) bool {
	list, ok := reactiveDecode(raw).([]any)
	if !ok {
		return false
	}
	got := make([]string, 0, len(list))
	for _, v := range list {
		s, ok := v.(string)
		if !ok {
			return false
		}
		got = append(got, s)
	}
	got = normalizeSANs(got)
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

// TLSCertsIssued is what the provider gave us, each value PEM only: easyrsa puts
// an OpenSSL text dump before the PEM block of its certificates, which we
// drop. Client pair fields are empty when the provider publishes none.
type TLSCertsIssued struct {
	CA         string
	ServerCert string
	ServerKey  string
	ClientCert string // easyrsa's global client certificate
	ClientKey  string
}

// ReadTLSCertsIssued reads the answer to our request from the provider units of
// one relation. unitName is our unit name, with "/" or already "_".
// Like reactive's all_joined_units.received_raw the lowest unit wins (by
// unit number, see mergeUnits), but a certificate and its key are always
// taken from the same unit, so a half-written answer on a lower unit
// cannot pair one unit's certificate with another's key. ok is true only
// when the CA, the server certificate and its key are all there; anything
// less means the provider is still working on it.
func ReadTLSCertsIssued(unitName string, remote map[string]map[string]string) (TLSCertsIssued, bool) {
	prefix := certUnitName(unitName)
	var is TLSCertsIssued
	for _, unit := range sortedUnits(remote) {
		bag := remote[unit]
		if is.CA == "" {
			is.CA = pemCerts(bag[keyCA])
		}
		if is.ServerCert == "" {
			is.ServerCert, is.ServerKey = pemPair(bag[prefix+suffixCert], bag[prefix+suffixKey])
		}
		if is.ClientCert == "" {
			is.ClientCert, is.ClientKey = pemPair(bag[keyClientCert], bag[keyClientKey])
		}
	}
	return is, is.CA != "" && is.ServerCert != "" && is.ServerKey != ""
}

func pemPair(cert, key string) (string, string) {
	c, k := pemCerts(cert), pemKeys(key)
	if c == "" || k == "" {
		return "", ""
	}
	return c, k
}

// pemCerts returns the CERTIFICATE blocks of s, re-encoded, or "" when
// s holds none. Whatever else the provider put in the value (easyrsa's
// OpenSSL text dump, or anything a provider appends) is dropped, so only
// PEM reaches the files and bags we write.
func pemCerts(s string) string {
	return pemBlocks(s, func(t string) bool { return t == "CERTIFICATE" })
}

// pemKeys is pemCerts for private keys: "PRIVATE KEY", "RSA PRIVATE KEY",
// "EC PRIVATE KEY".
func pemKeys(s string) string {
	return pemBlocks(s, func(t string) bool { return strings.HasSuffix(t, "PRIVATE KEY") && !strings.Contains(t, "ENCRYPTED") })
}

// pemBlocks re-encodes the blocks of s whose type is wanted. Blocks with
// headers (legacy encrypted keys) are dropped: we cannot use them.
func pemBlocks(s string, wanted func(string) bool) string {
	var out bytes.Buffer
	rest := []byte(s)
	for {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		if len(block.Headers) == 0 && wanted(block.Type) {
			_ = pem.Encode(&out, block) // a bytes.Buffer does not fail, nor do blocks without headers
		}
	}
	return out.String()
}

// The provider's side, for simulated providers in tests: what easyrsa's
// interface reads from a requirer bag and what it writes back.

// parseCertRequest reads the top-level server-certificate request from a
// requirer unit's bag as the provider does: none unless common_name is
// set; unit_name falls back to the Juju unit name (resolve_unit_name); sans
// is decoded as JSON and anything but a list of strings counts as none.
func parseCertRequest(remoteUnit string, bag map[string]string) (TLSCertsRequest, bool) {
	cn := bag[keyCommonName]
	if cn == "" {
		return TLSCertsRequest{}, false
	}
	unit := bag[keyUnitName]
	if unit == "" {
		unit = remoteUnit
	}
	var sans []string
	if list, ok := reactiveDecode(bag[keySANs]).([]any); ok {
		for _, v := range list {
			if s, ok := v.(string); ok {
				sans = append(sans, s)
			}
		}
	}
	return TLSCertsRequest{UnitName: certUnitName(unit), CommonName: cn, SANs: sans}, true
}

// issuedBag is what a provider publishes in answer to r: raw PEM under
// ca and <unit_name>.server.cert/.key.
func issuedBag(r TLSCertsRequest, ca, cert, key string) map[string]string {
	return map[string]string{
		keyCA:                   ca,
		r.UnitName + suffixCert: cert,
		r.UnitName + suffixKey:  key,
	}
}

package relation

import (
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Values read from another charm's bag end up in line-oriented files
// (nagios objects, the haproxy stanza, containerd's hosts.toml on the
// workers) and in certificate requests. Whoever can write that bag must not
// be able to add a line, a word or a SAN: every such value passes one of
// the checks below or is ignored.

// maxHostLen is DNS's limit on a name, which is also far more than any
// address or nagios host name needs.
const maxHostLen = 253

// Ignored is one relation value refused as invalid. It names the unit and
// the key, never the value: the value may be huge, hold newlines that
// would forge log lines, or be something its writer did not mean to show.
type Ignored struct {
	Unit, Key, Reason string
}

func (i Ignored) String() string {
	return "ignoring " + i.Key + " from " + i.Unit + ": " + i.Reason
}

// isHost reports whether s is an IP address (no zone, no brackets) or a
// host name: dot-separated labels of letters, digits, "-" and "_" (Unicode
// letters too, for internationalised names), none empty or starting with
// "-", at most 63 bytes each and 253 in all. Nothing else can be put into a
// URL, a TOML key or a SAN without quoting.
func isHost(s string) bool {
	if s == "" || len(s) > maxHostLen || !utf8.ValidString(s) {
		return false
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Zone() == ""
	}
	for _, label := range strings.Split(s, ".") {
		if !isHostLabel(label) {
			return false
		}
	}
	return true
}

func isHostLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' {
		return false
	}
	for _, r := range l {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// isNagiosName reports whether s can be a nagios object name (host_name,
// a servicegroup) on one line of an object file: ASCII letters, digits,
// ".", "-", "_", at most 253 bytes. Nagios itself refuses more characters
// in names (illegal_object_name_chars) and splits lists on commas; the nrpe
// charm builds names from a context and a unit or host name, which fit.
func isNagiosName(s string) bool {
	if s == "" || len(s) > maxHostLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_'
		if !ok {
			return false
		}
	}
	return true
}

// hostIn is the first of keys that holds an IP address or host name in
// unit's bag (trimmed), with the keys before it that held something else.
func hostIn(unit string, bag map[string]string, keys ...string) (string, []Ignored) {
	var ignored []Ignored
	for _, key := range keys {
		a := strings.TrimSpace(bag[key])
		if a == "" {
			continue
		}
		if isHost(a) {
			return a, ignored
		}
		ignored = append(ignored, Ignored{Unit: unit, Key: key, Reason: "not an IP address or host name"})
	}
	return "", ignored
}

package relation

import (
	"encoding/json"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzReactiveDecode reads any raw relation value the way charms.reactive
// does and checks that what we decode re-encodes, byte-stably, to
// something that decodes to the same value: parse → render → parse.
// Seeds are values the neighbours really publish: interface-docker-registry
// provides.py (JSON strings and null), interface-tls-certificates
// requires.py (a JSON list of SANs, a dict of cert_requests), easyrsa's
// raw PEM (not JSON: falls back to the raw string), interface-http's raw
// port number.
func FuzzReactiveDecode(f *testing.F) {
	for _, s := range []string{
		`"10.0.0.5:5000"`, `null`, `"-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n"`,
		`["10.0.0.5", "registry.internal"]`, `{"registry": {"sans": ["10.0.0.5"]}}`,
		testCA, "5000", "1e400", "-0", "1.5", `"\ud800"`, `{"a": 1, "a": 2}`, "[1, 2] 3", " true ",
		`"caf\u00e9"`, "\"\\u2028\"", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v := reactiveDecode(raw)
		if raw == "" {
			if v != nil {
				t.Fatalf("empty value decoded to %#v", v)
			}
			return
		}
		if s, ok := v.(string); ok && s == raw && !isJSONString(raw) {
			// Not JSON: reactive hands the raw string over.
			return
		}
		enc, err := reactiveJSON(v)
		if err != nil {
			t.Fatalf("decoded value does not re-encode: %v", err)
		}
		checkReactiveJSONLine(t, enc)
		if strings.Contains(enc, "Infinity") || strings.Contains(enc, "NaN") {
			// A literal past float64's range is inf to Python too, which
			// writes Infinity; json.loads would read that back, we keep
			// the raw string (reactiveDecode's known difference).
			return
		}
		again := reactiveDecode(enc)
		if !sameJSON(again, v) {
			t.Fatalf("round trip changed the value:\nraw   %q\nfirst %#v\nenc   %q\nagain %#v", raw, v, enc, again)
		}
		if enc2, _ := reactiveJSON(again); enc2 != enc {
			t.Fatalf("encoding is not stable: %q then %q", enc, enc2)
		}
	})
}

// FuzzReactiveJSONString checks the encoding of any string we publish:
// one line of printable ASCII (so no bag value we publish can break a
// line-oriented reader), decoding back to the same string.
func FuzzReactiveJSONString(f *testing.F) {
	for _, s := range []string{"", "10.0.0.5:5000", "pass\nword", "caf\u00e9 \U0001F600", "\u2028", "</script>&", "\x00\x7f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		enc, err := reactiveJSON(s)
		if !utf8.ValidString(s) {
			if err == nil {
				t.Fatalf("invalid UTF-8 encoded as %q", enc)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		checkReactiveJSONLine(t, enc)
		if got := reactiveDecode(enc); got != s {
			t.Fatalf("decode(encode(%q)) = %#v", s, got)
		}
	})
}

func isJSONString(raw string) bool {
	var s string
	return json.Unmarshal([]byte(raw), &s) == nil
}

func checkReactiveJSONLine(t *testing.T, enc string) {
	t.Helper()
	for i := 0; i < len(enc); i++ {
		if enc[i] < ' ' || enc[i] > '~' {
			t.Fatalf("encoding holds byte %#x: %q", enc[i], enc)
		}
	}
}

// sameJSON compares decoded values, numbers by value as Python sees them
// (an int exactly, anything else as a float).
func sameJSON(a, b any) bool {
	switch a := a.(type) {
	case json.Number:
		b, ok := b.(json.Number)
		return ok && sameNumber(a, b)
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !sameJSON(a[i], b[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, v := range a {
			if w, ok := b[k]; !ok || !sameJSON(v, w) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

func sameNumber(a, b json.Number) bool {
	ia, okA := new(big.Int).SetString(string(a), 10)
	ib, okB := new(big.Int).SetString(string(b), 10)
	if okA || okB {
		return okA && okB && ia.Cmp(ib) == 0
	}
	fa, _ := strconv.ParseFloat(string(a), 64)
	fb, _ := strconv.ParseFloat(string(b), 64)
	return fa == fb
}

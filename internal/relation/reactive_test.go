package relation

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
)

// Expected strings were produced by CPython 3's json.dumps(v, sort_keys=True).
func TestReactiveJSON(t *testing.T) {
	str := "10.0.0.5:5000"
	var nilStr *string
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"nil", nil, `null`},
		{"nil pointer", nilStr, `null`},
		{"pointer", &str, `"10.0.0.5:5000"`},
		{"string gains quotes", "10.0.0.5:5000", `"10.0.0.5:5000"`},
		{"empty string", "", `""`},
		{"true", true, `true`},
		{"false", false, `false`},
		{"zero", 0, `0`},
		{"negative", -7, `-7`},
		{"big int is exact", int64(1<<53 + 1), `9007199254740993`},
		{"uint", uint16(5000), `5000`},
		{"whole float keeps .0", 1.0, `1.0`},
		{"float", 2.5, `2.5`},
		{"float 1e16 is exponent", 1e16, `1e+16`},
		{"float 1e15 is positional", 1e15, `1000000000000000.0`},
		{"small float exponent", 1e-5, `1e-05`},
		{"small float positional", 0.0001, `0.0001`},
		{"float digits", 123456789.123, `123456789.123`},
		{"negative zero", math.Copysign(0, -1), `-0.0`},
		{"huge float", 1e300, `1e+300`},
		{"NaN", math.NaN(), `NaN`},
		{"inf", math.Inf(1), `Infinity`},
		{"-inf", math.Inf(-1), `-Infinity`},
		{"list separators", []string{"10.0.0.5", "registry.internal"}, `["10.0.0.5", "registry.internal"]`},
		{"empty list", []string{}, `[]`},
		{"nil slice is None", []string(nil), `null`},
		{"array", [2]int{1, 2}, `[1, 2]`},
		{"empty map", map[string]any{}, `{}`},
		{"nil map is None", map[string]any(nil), `null`},
		{"sorted keys at every level", map[string]any{
			"b": 1, "a": []any{nil, "x"}, "A": map[string]any{"z": true, "é": "ü"},
		}, `{"A": {"z": true, "\u00e9": "\u00fc"}, "a": [null, "x"], "b": 1}`},
		{"no HTML escaping", "<script>&</script>", `"<script>&</script>"`},
		{"slash not escaped", "a/b", `"a/b"`},
		{"short escapes", "tab\tnl\ncr\rbs\bff\fq\"bs\\", `"tab\tnl\ncr\rbs\bff\fq\"bs\\"`},
		{"control and DEL", "\x00\x1f\x7f\u0080", `"\u0000\u001f\u007f\u0080"`},
		{"non-ASCII and surrogate pair", "é€😀", `"\u00e9\u20ac\ud83d\ude00"`},
		{"line separators", "\u2028\u2029", `"\u2028\u2029"`},
		{"HTML in keys", map[string]string{"<>": "&"}, `{"<>": "&"}`},
		{"nested", []any{[]any{1, []any{2, []any{}}}, map[string]int{}}, `[[1, [2, []]], {}]`},
		{"named string type", namedString("x"), `"x"`},
		{"map with named key type", map[namedString]int{"k": 1}, `{"k": 1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := reactiveJSON(tt.in)
			if err != nil {
				t.Fatalf("ReactiveJSON: %v", err)
			}
			if got != tt.want {
				t.Errorf("ReactiveJSON(%#v)\n got %s\nwant %s", tt.in, got, tt.want)
			}
		})
	}
}

type namedString string

func TestReactiveJSONRefuses(t *testing.T) {
	tests := []struct {
		name string
		in   any
	}{
		{"invalid UTF-8", "\xff"},
		{"invalid UTF-8 key", map[string]int{"\xff": 1}},
		{"struct", struct{ A int }{1}},
		{"int keys", map[int]string{1: "a"}},
		{"func", func() {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := reactiveJSON(tt.in); err == nil {
				t.Errorf("ReactiveJSON = %q, want an error", got)
			}
		})
	}
}

func TestReactiveDecode(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want any
	}{
		{"missing or empty is None", "", nil},
		{"null", "null", nil},
		{"JSON string", `"10.0.0.5:5000"`, "10.0.0.5:5000"},
		{"raw string falls back", "10.0.0.5:5000", "10.0.0.5:5000"},
		{"raw number decodes", "5000", json.Number("5000")},
		{"bool", "true", true},
		{"list", `["a", "b"]`, []any{"a", "b"}},
		{"object", `{"a": {"b": null}}`, map[string]any{"a": map[string]any{"b": nil}}},
		{"escapes", `"\u00e9\ud83d\ude00<"`, "é😀<"},
		{"surrounding whitespace", " \"x\"\n", "x"},
		{"trailing data is not JSON", "1 2", "1 2"},
		{"trailing garbage is not JSON", `"a" x`, `"a" x`},
		{"unterminated", `"abc`, `"abc`},
		{"PEM stays raw", "-----BEGIN CERTIFICATE-----\nMII=\n-----END CERTIFICATE-----\n",
			"-----BEGIN CERTIFICATE-----\nMII=\n-----END CERTIFICATE-----\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := reactiveDecode(tt.raw); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ReactiveDecode(%q) = %#v, want %#v", tt.raw, got, tt.want)
			}
		})
	}
}

func TestReactiveRoundTrip(t *testing.T) {
	for _, v := range []any{"", "x", "é😀\n<&>", []any{"a", nil, true}, map[string]any{"k": []any{}}} {
		enc, err := reactiveJSON(v)
		if err != nil {
			t.Fatal(err)
		}
		got := reactiveDecode(enc)
		if s, ok := v.(string); ok && s == "" {
			// `""` is a present empty string for json.loads.
			if got != "" {
				t.Errorf("round trip of empty string = %#v", got)
			}
			continue
		}
		if !reflect.DeepEqual(got, v) {
			t.Errorf("round trip of %#v = %#v", v, got)
		}
	}
}

func TestMergeUnits(t *testing.T) {
	tests := []struct {
		name   string
		remote map[string]map[string]string
		want   map[string]string
	}{
		{"no units", nil, map[string]string{}},
		{"one unit", map[string]map[string]string{"easyrsa/0": {"ca": "A"}}, map[string]string{"ca": "A"}},
		{
			"lowest unit wins per key, numerically",
			map[string]map[string]string{
				"easyrsa/10": {"ca": "ten", "only10": "x"},
				"easyrsa/2":  {"ca": "two"},
				"easyrsa/3":  {"ca": "three", "only3": "y"},
			},
			map[string]string{"ca": "two", "only10": "x", "only3": "y"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mergeUnits(tt.remote); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("MergeUnits = %v, want %v", got, tt.want)
			}
		})
	}
}

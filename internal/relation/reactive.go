// Package relation holds one small module per relation protocol the charm
// speaks. Each turns raw relation bags into typed values and typed desired
// values into the raw bag to publish; none of them calls Juju. The related
// charms are Python reactive charms, so the wire formats follow
// charms.reactive and the interface layers byte for byte.
package relation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/big"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// reactiveJSON encodes v exactly as Python's json.dumps(v, sort_keys=True)
// does, which is what charms.reactive stores for every to_publish[key] = v:
// separators ", " and ": ", keys sorted at every level, every character
// outside printable ASCII escaped as \uXXXX (surrogate pairs above U+FFFF),
// and neither HTML characters nor "/" escaped (Go's encoding/json would
// escape < > &, and a peer comparing bytes would then see a change).
//
// It takes nil, strings, booleans, integers, floats, json.Number (as the
// number it holds, so that what reactiveDecode read re-encodes as Python
// would), pointers to those, slices, arrays and maps with string keys.
func reactiveJSON(v any) (string, error) {
	var b strings.Builder
	if err := encodePy(&b, reflect.ValueOf(v)); err != nil {
		return "", fmt.Errorf("cannot encode as reactive JSON: %w", err)
	}
	return b.String(), nil
}

func encodePy(b *strings.Builder, v reflect.Value) error {
	if !v.IsValid() {
		b.WriteString("null")
		return nil
	}
	if v.Type() == reflect.TypeOf(json.Number("")) {
		return encodePyNumber(b, json.Number(v.String()))
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			b.WriteString("null")
			return nil
		}
		return encodePy(b, v.Elem())
	case reflect.String:
		return encodePyString(b, v.String())
	case reflect.Bool:
		b.WriteString(map[bool]string{true: "true", false: "false"}[v.Bool()])
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		b.WriteString(strconv.FormatInt(v.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		b.WriteString(strconv.FormatUint(v.Uint(), 10))
	case reflect.Float32, reflect.Float64:
		b.WriteString(pyFloatRepr(v.Float(), v.Type().Bits()))
	case reflect.Slice:
		if v.IsNil() {
			// A nil Go slice is an absent value, as None is in Python.
			b.WriteString("null")
			return nil
		}
		return encodePyList(b, v)
	case reflect.Array:
		return encodePyList(b, v)
	case reflect.Map:
		if v.IsNil() {
			b.WriteString("null")
			return nil
		}
		return encodePyMap(b, v)
	default:
		return fmt.Errorf("unsupported type %s", v.Type())
	}
	return nil
}

func encodePyList(b *strings.Builder, v reflect.Value) error {
	b.WriteByte('[')
	for i := 0; i < v.Len(); i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		if err := encodePy(b, v.Index(i)); err != nil {
			return err
		}
	}
	b.WriteByte(']')
	return nil
}

func encodePyMap(b *strings.Builder, v reflect.Value) error {
	if v.Type().Key().Kind() != reflect.String {
		return fmt.Errorf("unsupported map key type %s", v.Type().Key())
	}
	keys := make([]string, 0, v.Len())
	for _, k := range v.MapKeys() {
		keys = append(keys, k.String())
	}
	// Python sorts str keys by code point; for valid UTF-8 that is the
	// same order as comparing the bytes.
	sort.Strings(keys)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		if err := encodePyString(b, k); err != nil {
			return err
		}
		b.WriteString(": ")
		if err := encodePy(b, v.MapIndex(reflect.ValueOf(k).Convert(v.Type().Key()))); err != nil {
			return err
		}
	}
	b.WriteByte('}')
	return nil
}

// encodePyString follows json.encoder.py_encode_basestring_ascii.
func encodePyString(b *strings.Builder, s string) error {
	if !utf8.ValidString(s) {
		// A Python str cannot hold invalid UTF-8, so there is no
		// byte-exact answer; refuse rather than guess.
		return fmt.Errorf("string is not valid UTF-8")
	}
	writePyString(b, s, true)
	return nil
}

// encodePyNumber writes a number reactiveDecode read (json.Number is a Go
// string type, but it stands for what json.loads makes of the literal):
// an integer literal is a Python int, printed exactly whatever its size;
// anything else a float, printed as Python's repr.
func encodePyNumber(b *strings.Builder, n json.Number) error {
	if i, ok := new(big.Int).SetString(string(n), 10); ok {
		b.WriteString(i.String())
		return nil
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return fmt.Errorf("invalid number %q", n)
	}
	b.WriteString(pyFloatRepr(f, 64))
	return nil
}

// pyFloatRepr is Python's float.__repr__ (what json.dumps uses): the
// shortest round-tripping digits, positional notation unless the decimal
// exponent is below -4 or at least 16, and always a ".0" for whole numbers.
func pyFloatRepr(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	exp := strconv.FormatFloat(f, 'e', -1, bits)
	_, e, _ := strings.Cut(exp, "e")
	n, _ := strconv.Atoi(e)
	if n < -4 || n >= 16 {
		return exp
	}
	s := strconv.FormatFloat(f, 'f', -1, bits)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// reactiveDecode reads a raw relation value the way charms.reactive's
// received[key] does: json.loads, falling back to the raw string when it is
// not JSON. An empty value is nil: Juju deletes a key set to "", so empty
// and missing are the same thing on the wire. Numbers come back as
// json.Number so that nothing is rounded. One known difference: Python
// also accepts NaN and Infinity, which here stay raw strings; nobody
// publishes them on these relations.
func reactiveDecode(raw string) any {
	if raw == "" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return raw
	}
	// json.loads refuses trailing data ("1 2"), so must we.
	if _, err := dec.Token(); err != io.EOF {
		return raw
	}
	return v
}

// mergeUnits merges the bags of all remote units of one relation the way
// reactive's all_joined_units.received_raw does: every key comes from the
// lowest unit that has it. Reactive sorts unit names as strings, so there
// "easyrsa/10" would beat "easyrsa/2"; we compare unit numbers, which is
// what "lowest unit" means and only differs from reactive past ten units.
func mergeUnits(remote map[string]map[string]string) map[string]string {
	merged := map[string]string{}
	units := sortedUnits(remote)
	for i := len(units) - 1; i >= 0; i-- {
		maps.Copy(merged, remote[units[i]])
	}
	return merged
}

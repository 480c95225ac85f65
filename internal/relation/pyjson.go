package relation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"

	"gopkg.in/yaml.v3"
)

// The cos_agent library builds its data as Python dicts, which keep the
// order their keys were read or added in, and serialises them with two
// different encoders: json.dumps for dashboards and scrape-job hashes,
// pydantic for the relation value. To write the same bytes we keep
// documents as ordered values and encode them either way.

// object is a JSON object with its keys in order.
type object []member

type member struct {
	Key   string
	Value any // object, []any, string, bool, nil, json.Number, int, float64
}

func (o object) get(key string) (any, bool) {
	for _, m := range o {
		if m.Key == key {
			return m.Value, true
		}
	}
	return nil, false
}

// set replaces key's value in place, or appends it as a dict does.
func (o *object) set(key string, v any) {
	for i := range *o {
		if (*o)[i].Key == key {
			(*o)[i].Value = v
			return
		}
	}
	*o = append(*o, member{key, v})
}

// pyStyle is how an encoder lays out JSON.
type pyStyle struct {
	spaced   bool // json.dumps' default separators ", " and ": "; else "," and ":"
	ascii    bool // ensure_ascii: every non-ASCII character as \uXXXX
	sortKeys bool
}

var (
	// jsonDumps is Python's json.dumps(v) with default arguments.
	jsonDumps = pyStyle{spaced: true, ascii: true}
	// jsonDumpsSorted is json.dumps(v, sort_keys=True).
	jsonDumpsSorted = pyStyle{spaced: true, ascii: true, sortKeys: true}
	// pydanticJSON is pydantic v2's model_dump_json (what .json() calls):
	// compact, UTF-8 kept as is.
	pydanticJSON = pyStyle{}
)

func (s pyStyle) encode(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := s.write(&b, v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func (s pyStyle) write(b *bytes.Buffer, v any) error {
	comma, colon := ",", ":"
	if s.spaced {
		comma, colon = ", ", ": "
	}
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case string:
		s.writeString(b, v)
	case json.Number:
		b.WriteString(v.String())
	case int:
		b.WriteString(strconv.Itoa(v))
	case float64:
		return writeFloat(b, v)
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteString(comma)
			}
			if err := s.write(b, e); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case []string:
		return s.write(b, toAny(v))
	case object:
		if s.sortKeys {
			v = slices.Clone(v)
			slices.SortStableFunc(v, func(x, y member) int { return strings.Compare(x.Key, y.Key) })
		}
		b.WriteByte('{')
		for i, m := range v {
			if i > 0 {
				b.WriteString(comma)
			}
			s.writeString(b, m.Key)
			b.WriteString(colon)
			if err := s.write(b, m.Value); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	default:
		return fmt.Errorf("cannot encode %T as JSON", v)
	}
	return nil
}

// writeFloat writes a float as Python's repr does for the common cases
// (an integral value keeps ".0").
func writeFloat(b *bytes.Buffer, f float64) error {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return errors.New("cannot encode a non-finite number as JSON")
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	b.WriteString(s)
	return nil
}

func (s pyStyle) writeString(b *bytes.Buffer, str string) { writePyString(b, str, s.ascii) }

// pyWriter is what writePyString writes to: a bytes.Buffer or a
// strings.Builder.
type pyWriter interface {
	io.Writer
	io.ByteWriter
	io.StringWriter
	WriteRune(rune) (int, error)
}

// writePyString writes str as Python's json module does: with ascii
// (ensure_ascii, json.dumps' default) every character outside ' '..'~' is
// escaped, as py_encode_basestring_ascii does; without it only quote,
// backslash and the control characters are (py_encode_basestring), as
// pydantic v2 writes JSON.
func writePyString(b pyWriter, str string, ascii bool) {
	b.WriteByte('"')
	for _, r := range str {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20:
			fmt.Fprintf(b, `\u%04x`, r)
		case !ascii || r <= '~':
			b.WriteRune(r)
		case r > 0xffff:
			hi, lo := utf16.EncodeRune(r)
			fmt.Fprintf(b, `\u%04x\u%04x`, hi, lo)
		default:
			fmt.Fprintf(b, `\u%04x`, r)
		}
	}
	b.WriteByte('"')
}

func toAny[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// decodeOrderedJSON parses one JSON document keeping key order and number
// text, as json.load followed by json.dumps would see them.
func decodeOrderedJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON document")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := object{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				o.set(k.(string), v) // a repeated key keeps its first place, as in a dict
			}
			_, err := dec.Token()
			return o, err
		case '[':
			a := []any{}
			for dec.More() {
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			_, err := dec.Token()
			return a, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	default:
		return t, nil // string, json.Number, bool, nil
	}
}

// decodeOrderedYAML parses one YAML document keeping mapping order, as
// yaml.safe_load builds dicts.
func decodeOrderedYAML(data []byte) (any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if doc.Kind == 0 {
		return nil, nil
	}
	return fromNode(&doc)
}

func fromNode(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		return fromNode(n.Content[0])
	case yaml.AliasNode:
		return fromNode(n.Alias)
	case yaml.MappingNode:
		o := object{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			var k string
			if err := n.Content[i].Decode(&k); err != nil {
				return nil, fmt.Errorf("line %d: mapping key: %w", n.Content[i].Line, err)
			}
			v, err := fromNode(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			o.set(k, v)
		}
		return o, nil
	case yaml.SequenceNode:
		a := []any{}
		for _, c := range n.Content {
			v, err := fromNode(c)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		return a, nil
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, fmt.Errorf("line %d: %w", n.Line, err)
	}
	switch v.(type) {
	case nil, bool, string, int, float64:
		return v, nil
	}
	return nil, fmt.Errorf("line %d: unsupported YAML value %q", n.Line, n.Value)
}

package relation

import (
	"bytes"
	"encoding/json"
	"math/rand"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// These tests ask the real Python, when it is installed, to confirm what
// the table tests pin: that our bytes are json.dumps's and that PyYAML
// reads our YAML as the haproxy and nrpe charms expect. They are skipped
// where python3 is missing.

func python(t *testing.T, script string, stdin []byte) []byte {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	cmd := exec.Command(py, "-c", script)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if strings.Contains(stderr.String(), "No module named") {
			t.Skipf("python3 lacks a module: %s", stderr.String())
		}
		t.Fatalf("python3: %v\n%s", err, stderr.String())
	}
	return out
}

// randomValue builds nested values of the kinds reactive publishes.
func randomValue(r *rand.Rand, depth int) any {
	k := r.Intn(8)
	if depth > 2 && k >= 5 {
		k = r.Intn(5)
	}
	switch k {
	case 0:
		return nil
	case 1:
		return r.Intn(2) == 0
	case 2:
		return r.Int63n(1<<62) - 1<<61
	case 3:
		return (r.Float64() - 0.5) * []float64{1e-7, 1, 1e6, 1e17, 1e300}[r.Intn(5)]
	case 4:
		return randomString(r)
	case 5, 6:
		m := map[string]any{}
		for i := r.Intn(4); i > 0; i-- {
			m[randomString(r)] = randomValue(r, depth+1)
		}
		return m
	default:
		l := []any{}
		for i := r.Intn(4); i > 0; i-- {
			l = append(l, randomValue(r, depth+1))
		}
		return l
	}
}

func randomString(r *rand.Rand) string {
	pools := []string{
		"abcXYZ019 ./:-_", "\"\\\n\r\t\b\f\x00\x01\x1f\x7f", "<>&'=", "éüß€\u2028\u2029\ufeff", "😀𝄞𐐷",
	}
	var b strings.Builder
	for i := r.Intn(12); i > 0; i-- {
		p := []rune(pools[r.Intn(len(pools))])
		b.WriteRune(p[r.Intn(len(p))])
	}
	return b.String()
}

func TestReactiveJSONMatchesPython(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	var values []any
	for i := 0; i < 500; i++ {
		values = append(values, randomValue(r, 0))
	}
	// pyInput hands the values to Python losslessly; Python answers with
	// json.dumps(v, sort_keys=True), one per line.
	in := pyInput(t, values)
	out := python(t, `
import json, sys
for v in json.load(sys.stdin):
    print(json.dumps(v, sort_keys=True))
`, in)
	want := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(want) != len(values) {
		t.Fatalf("python printed %d lines for %d values", len(want), len(values))
	}
	for i, v := range values {
		got, err := reactiveJSON(v)
		if err != nil {
			t.Fatalf("ReactiveJSON(%#v): %v", v, err)
		}
		if got != want[i] {
			t.Errorf("ReactiveJSON(%#v)\n got %s\nwant %s", v, got, want[i])
		}
	}
}

// pyInput is JSON text that Python's json.load reads back to the same
// values. encoding/json alone would not do: it writes a whole float such
// as 1e17 as "100000000000000000", which Python reads as an int.
func pyInput(t *testing.T, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	var write func(v any)
	write = func(v any) {
		switch v := v.(type) {
		case float64:
			b.WriteString(strconv.FormatFloat(v, 'e', -1, 64))
		case []any:
			b.WriteByte('[')
			for i, e := range v {
				if i > 0 {
					b.WriteByte(',')
				}
				write(e)
			}
			b.WriteByte(']')
		case map[string]any:
			b.WriteByte('{')
			i := 0
			for k, e := range v {
				if i++; i > 1 {
					b.WriteByte(',')
				}
				write(k)
				b.WriteByte(':')
				write(e)
			}
			b.WriteByte('}')
		default:
			enc, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			b.Write(enc)
		}
	}
	write(v)
	return b.Bytes()
}

func TestYAMLReadByPyYAML(t *testing.T) {
	services, err := WebsiteServices("docker-registry", []PeerBackend{
		{"docker-registry/10", "fd00::7", 5000}, {"docker-registry/2", "10.0.0.6", 5000},
	}, true, "/etc/docker/registry/ca.crt", false)
	if err != nil {
		t.Fatal(err)
	}
	in, err := json.Marshal(map[string]string{"services": services, "monitors": NRPEBag(NRPEHTTPCheck("http", 5000))["monitors"]})
	if err != nil {
		t.Fatal(err)
	}
	out := python(t, `
import json, sys, yaml
d = json.load(sys.stdin)
print(json.dumps({k: yaml.safe_load(v) for k, v in d.items()}, sort_keys=True))
`, in)
	want := `{"monitors": {"monitors": {"remote": {"nrpe": {"check_http": {"command": "check_http"}}}}}, ` +
		`"services": [{"servers": [` +
		`["docker-registry-2", "10.0.0.6", 5000, "` + opts + ` ` + tlsOpts + `"], ` +
		`["docker-registry-10", "fd00::7", 5000, "` + opts + ` backup ` + tlsOpts + `"]], ` +
		`"service_host": "0.0.0.0", "service_name": "docker-registry", ` +
		`"service_options": ["mode tcp", "balance leastconn", "option httpchk GET / HTTP/1.0"], ` +
		`"service_port": 5000}]}` + "\n"
	if string(out) != want {
		t.Errorf("PyYAML read\n%s\nwant\n%s", out, want)
	}
}

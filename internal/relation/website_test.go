package relation

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const (
	opts    = "check inter 2000 rise 2 fall 5 maxconn 4096"
	tlsOpts = "check-ssl crt /var/lib/haproxy/default.pem ca-file /etc/docker/registry/ca.crt verify required"
)

func TestServices(t *testing.T) {
	tests := []struct {
		name         string
		backends     []PeerBackend
		tls          bool
		activeActive bool
		want         string
	}{
		{
			name:     "one unit, http",
			backends: []PeerBackend{{"docker-registry/0", "10.0.0.5", 5000}},
			want: `- service_name: docker-registry
  service_host: 0.0.0.0
  service_port: 5000
  service_options:
    - mode http
    - balance leastconn
    - option httpchk GET / HTTP/1.0
  servers:
    - [docker-registry-0, 10.0.0.5, 5000, ` + opts + `]
`,
		},
		{
			name: "oldest unit by number is primary, others backup",
			backends: []PeerBackend{
				{"docker-registry/10", "10.0.0.7", 5000},
				{"docker-registry/2", "10.0.0.6", 5000},
				{"docker-registry/11", "10.0.0.8", 5000},
			},
			want: `- service_name: docker-registry
  service_host: 0.0.0.0
  service_port: 5000
  service_options:
    - mode http
    - balance leastconn
    - option httpchk GET / HTTP/1.0
  servers:
    - [docker-registry-2, 10.0.0.6, 5000, ` + opts + `]
    - [docker-registry-10, 10.0.0.7, 5000, ` + opts + ` backup]
    - [docker-registry-11, 10.0.0.8, 5000, ` + opts + ` backup]
`,
		},
		{
			name: "TLS: mode tcp, ssl options on every server",
			backends: []PeerBackend{
				{"docker-registry/0", "10.0.0.5", 5000},
				{"docker-registry/1", "10.0.0.6", 5000},
			},
			tls: true,
			want: `- service_name: docker-registry
  service_host: 0.0.0.0
  service_port: 5000
  service_options:
    - mode tcp
    - balance leastconn
    - option httpchk GET / HTTP/1.0
  servers:
    - [docker-registry-0, 10.0.0.5, 5000, ` + opts + ` ` + tlsOpts + `]
    - [docker-registry-1, 10.0.0.6, 5000, ` + opts + ` backup ` + tlsOpts + `]
`,
		},
		{
			name: "shared storage: active/active, no backup",
			backends: []PeerBackend{
				{"docker-registry/1", "10.0.0.6", 5000},
				{"docker-registry/0", "10.0.0.5", 5000},
			},
			activeActive: true,
			want: `- service_name: docker-registry
  service_host: 0.0.0.0
  service_port: 5000
  service_options:
    - mode http
    - balance leastconn
    - option httpchk GET / HTTP/1.0
  servers:
    - [docker-registry-0, 10.0.0.5, 5000, ` + opts + `]
    - [docker-registry-1, 10.0.0.6, 5000, ` + opts + `]
`,
		},
		{
			name:     "IPv6 addresses are quoted in the flow list",
			backends: []PeerBackend{{"docker-registry/0", "fd00::5", 5443}},
			want: `- service_name: docker-registry
  service_host: 0.0.0.0
  service_port: 5443
  service_options:
    - mode http
    - balance leastconn
    - option httpchk GET / HTTP/1.0
  servers:
    - [docker-registry-0, 'fd00::5', 5443, ` + opts + `]
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := WebsiteServices("docker-registry", tt.backends, tt.tls, "/etc/docker/registry/ca.crt", tt.activeActive)
			if err != nil {
				t.Fatalf("Services: %v", err)
			}
			if got != tt.want {
				t.Errorf("Services =\n%s\nwant\n%s", got, tt.want)
			}
			checkServicesStructure(t, got, tt.backends, tt.tls, tt.activeActive)
		})
	}
}

// checkServicesStructure reads the stanza back as haproxy's yaml.safe_load
// would and checks the structure the haproxy charm unpacks.
func checkServicesStructure(t *testing.T, doc string, backends []PeerBackend, tls, activeActive bool) {
	t.Helper()
	var services []map[string]any
	if err := yaml.Unmarshal([]byte(doc), &services); err != nil {
		t.Fatalf("services is not YAML: %v", err)
	}
	if len(services) != 1 {
		t.Fatalf("got %d services, want 1", len(services))
	}
	s := services[0]
	if s["service_name"] != "docker-registry" || s["service_host"] != "0.0.0.0" || s["service_port"] != backends[0].Port {
		t.Errorf("service header = %v %v %v", s["service_name"], s["service_host"], s["service_port"])
	}
	servers, _ := s["servers"].([]any)
	if len(servers) != len(backends) {
		t.Fatalf("got %d servers, want %d", len(servers), len(backends))
	}
	want := SortUnits(unitsOf(backends))
	for i, raw := range servers {
		srv, _ := raw.([]any)
		if len(srv) != 4 {
			t.Fatalf("server %d = %v, want [name, address, port, options]", i, raw)
		}
		if srv[0] != strings.ReplaceAll(want[i], "/", "-") {
			t.Errorf("server %d name = %v, want %s", i, srv[0], want[i])
		}
		if _, ok := srv[1].(string); !ok {
			t.Errorf("server %d address %v is not a string", i, srv[1])
		}
		if _, ok := srv[2].(int); !ok {
			t.Errorf("server %d port %v is not an int", i, srv[2])
		}
		o, _ := srv[3].(string)
		if backup := strings.Contains(o, " backup"); backup != (i > 0 && !activeActive) {
			t.Errorf("server %d options %q: backup = %v", i, o, backup)
		}
		if ssl := strings.Contains(o, "check-ssl"); ssl != tls {
			t.Errorf("server %d options %q: ssl = %v", i, o, ssl)
		}
	}
}

func unitsOf(backends []PeerBackend) []string {
	var out []string
	for _, b := range backends {
		out = append(out, b.Unit)
	}
	return out
}

func TestServicesErrors(t *testing.T) {
	ok := []PeerBackend{{"r/0", "10.0.0.5", 5000}}
	tests := []struct {
		name     string
		svc      string
		backends []PeerBackend
		tls      bool
		ca       string
	}{
		{"no backends", "r", nil, false, ""},
		{"empty name", "", ok, false, ""},
		{"name with space", "my registry", ok, false, ""},
		{"TLS without CA path", "r", ok, true, ""},
		{"CA path with braces (str.format in haproxy)", "r", ok, true, "/etc/{x}.crt"},
		{"backend without address", "r", []PeerBackend{{"r/0", "", 5000}}, false, ""},
		{"ports differ", "r", []PeerBackend{{"r/0", "10.0.0.5", 5000}, {"r/1", "10.0.0.6", 5001}}, false, ""},
		{"port zero", "r", []PeerBackend{{"r/0", "10.0.0.5", 0}}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := WebsiteServices(tt.svc, tt.backends, tt.tls, tt.ca, false)
			if err == nil {
				t.Fatalf("Services = %q, want an error", got)
			}
			if !strings.HasPrefix(err.Error(), "cannot ") {
				t.Errorf("error %q does not start with \"cannot \"", err)
			}
		})
	}
}

// TestServicesHAProxyAccepts renders the stanza into a listen section the
// way the haproxy charm does ("server <name> <ip>:<port> <options>") and
// asks haproxy to check it, when haproxy is installed.
func TestServicesHAProxyAccepts(t *testing.T) {
	haproxy, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy not installed")
	}
	doc, err := WebsiteServices("docker-registry", []PeerBackend{
		{"docker-registry/0", "10.0.0.5", 5000}, {"docker-registry/1", "fd00::6", 5000},
	}, false, "", false)
	if err != nil {
		t.Fatal(err)
	}
	var services []struct {
		Name    string   `yaml:"service_name"`
		Host    string   `yaml:"service_host"`
		Port    int      `yaml:"service_port"`
		Options []string `yaml:"service_options"`
		Servers [][]any  `yaml:"servers"`
	}
	if err := yaml.Unmarshal([]byte(doc), &services); err != nil {
		t.Fatal(err)
	}
	var cfg strings.Builder
	cfg.WriteString("defaults\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\n")
	for _, s := range services {
		fmt.Fprintf(&cfg, "listen %s\n  bind 127.0.0.1:%d\n", s.Name, s.Port)
		for _, o := range s.Options {
			fmt.Fprintf(&cfg, "  %s\n", o)
		}
		for _, srv := range s.Servers {
			fmt.Fprintf(&cfg, "  server %v %v:%v %v\n", srv...)
		}
	}
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(haproxy, "-c", "-f", path).CombinedOutput(); err != nil {
		t.Errorf("haproxy -c: %v\n%s\nconfig:\n%s", err, out, cfg.String())
	}
}

func TestLeaderAndFollowerBags(t *testing.T) {
	stanza := "- service_name: docker-registry\n"
	tests := []struct {
		name string
		got  map[string]string
		want map[string]string
	}{
		{
			"leader: raw keys as interface-http configure + set_remote",
			WebsiteLeaderBag("10.0.0.5", 5000, stanza),
			map[string]string{
				"hostname": "10.0.0.5", "private-address": "10.0.0.5", "port": "5000",
				"services": stanza, "all_services": "",
			},
		},
		{
			"follower: leader-only keys deleted",
			WebsiteFollowerBag(),
			map[string]string{"hostname": "", "port": "", "services": "", "all_services": ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("bag = %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestFirstProxyAddress(t *testing.T) {
	tests := []struct {
		name   string
		remote map[string]map[string]string
		want   string
	}{
		{"no proxy", nil, ""},
		{"ingress-address preferred", map[string]map[string]string{
			"haproxy/0": {"ingress-address": "192.168.0.9", "private-address": "10.0.0.9"},
		}, "192.168.0.9"},
		{"private-address fallback", map[string]map[string]string{"haproxy/0": {"private-address": "10.0.0.9"}}, "10.0.0.9"},
		{"lowest unit number", map[string]map[string]string{
			"haproxy/10": {"ingress-address": "10.0.0.10"},
			"haproxy/2":  {"ingress-address": "10.0.0.2"},
		}, "10.0.0.2"},
		{"unit without address skipped", map[string]map[string]string{
			"haproxy/0": {},
			"haproxy/1": {"ingress-address": "fd00::1"},
		}, "fd00::1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ignored := WebsiteProxyAddress(tt.remote)
			if got != tt.want || len(ignored) != 0 {
				t.Errorf("FirstProxyAddress = %q, %v; want %q, none ignored", got, ignored, tt.want)
			}
		})
	}
}

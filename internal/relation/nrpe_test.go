package relation

import (
	"reflect"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestHTTPCheck(t *testing.T) {
	const plugin = "/usr/lib/nagios/plugins/"
	tests := []struct {
		name   string
		scheme string
		port   int
		want   string
	}{
		{"plain http", "http", 5000, plugin + "check_http -I 127.0.0.1 -p 5000 -e '200 OK' -u /"},
		{"https on the configured port", "https", 5443, plugin + "check_http -I 127.0.0.1 -p 5443 -S -e '200 OK' -u /"},
		{"unknown scheme is http", "", 5000, plugin + "check_http -I 127.0.0.1 -p 5000 -e '200 OK' -u /"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := NRPECheck{Name: "check_http", Description: "Verify docker-registry is responding", Command: tt.want}
			if got := NRPEHTTPCheck(tt.scheme, tt.port); got != want {
				t.Errorf("HTTPCheck =\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

func TestMutualTLSCheck(t *testing.T) {
	const plugin = "/usr/lib/nagios/plugins/"
	const tcp = plugin + "check_tcp -H 127.0.0.1 -p 5000"
	tests := []struct {
		name      string
		cert, key string
		want      string
	}{
		{"client pair presented", "/var/lib/docker-registry/nrpe/client.crt", "/var/lib/docker-registry/nrpe/client.key",
			plugin + "check_http -I 127.0.0.1 -p 5000 -S -J /var/lib/docker-registry/nrpe/client.crt -K /var/lib/docker-registry/nrpe/client.key -e '200 OK' -u /"},
		{"no pair: TCP only", "", "", tcp},
		{"half a pair: TCP only", "/c.crt", "", tcp},
		{"path with a space", "/a b.crt", "/k.key", tcp},
		{"path with a shell metacharacter", "/c.crt", "/k;rm.key", tcp},
		{"path with a quote", "/c'.crt", "/k.key", tcp},
		{"relative path", "c.crt", "/k.key", tcp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := NRPECheck{Name: "check_http", Description: "Verify docker-registry is responding", Command: tt.want}
			if got := NRPEMutualTLSCheck(5000, tt.cert, tt.key); got != want {
				t.Errorf("MutualTLSCheck =\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

// Expected bytes come from the reactive interface's own templates
// (canonical/nrpe-external-master-interface provides.py), rendered by Python.
func TestCheckFile(t *testing.T) {
	c := NRPEHTTPCheck("http", 5000)
	want := "\n#---------------------------------------------------\n# This file is Juju managed\n" +
		"#---------------------------------------------------\n" +
		"command[check_http]=/usr/lib/nagios/plugins/check_http -I 127.0.0.1 -p 5000 -e '200 OK' -u /\n"
	if got := string(NRPECheckFile(c)); got != want {
		t.Errorf("CheckFile =\n%q\nwant\n%q", got, want)
	}
	if got := NRPECheckPath(c); got != "/etc/nagios/nrpe.d/check_check_http.cfg" {
		t.Errorf("CheckPath = %q", got)
	}
}

func TestExportFile(t *testing.T) {
	c := NRPECheck{Name: "check_http", Description: "Verify docker-registry is responding", Command: "x"}
	body := func(host, groups string) string {
		return "\n#---------------------------------------------------\n# This file is Juju managed\n" +
			"#---------------------------------------------------\n" +
			"define service {\n" +
			"    use                             active-service\n" +
			"    host_name                       " + host + "\n" +
			"    service_description             Verify docker-registry is responding\n" +
			"    check_command                   check_nrpe!check_http\n" +
			"    servicegroups                   " + groups + "\n" +
			"}\n"
	}
	tests := []struct {
		name                            string
		unit, hostname, context, groups string
		wantPath, wantBody              string
	}{
		{"all defaults", "docker-registry/0", "", "", "",
			"/var/lib/nagios/export/service__docker-registry-0_check_http.cfg", body("juju-docker-registry-0", "juju")},
		{"nrpe's hostname wins", "docker-registry/12", "prod-docker-registry-12", "prod", "",
			"/var/lib/nagios/export/service__docker-registry-12_check_http.cfg", body("prod-docker-registry-12", "prod")},
		{"context builds the host name", "docker-registry/1", "", "staging", "",
			"/var/lib/nagios/export/service__docker-registry-1_check_http.cfg", body("staging-docker-registry-1", "staging")},
		{"servicegroups given", "docker-registry/0", "", "juju", "registry,k8s",
			"/var/lib/nagios/export/service__docker-registry-0_check_http.cfg", body("juju-docker-registry-0", "registry,k8s")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, content := NRPEExportFile(tt.unit, tt.hostname, tt.context, tt.groups, c)
			if path != tt.wantPath {
				t.Errorf("path = %q, want %q", path, tt.wantPath)
			}
			if string(content) != tt.wantBody {
				t.Errorf("content =\n%q\nwant\n%q", content, tt.wantBody)
			}
		})
	}
}

func TestRemoteContext(t *testing.T) {
	tests := []struct {
		name          string
		bag           map[string]string
		host, context string
	}{
		{"nothing sent yet", map[string]string{"private-address": "10.0.0.5"}, "", ""},
		{"both sent", map[string]string{"nagios_hostname": "juju-docker-registry-0", "nagios_host_context": "juju"},
			"juju-docker-registry-0", "juju"},
		{"hostname only", map[string]string{"nagios_hostname": "host-a"}, "host-a", ""},
		{"whitespace is nothing", map[string]string{"nagios_hostname": " ", "nagios_host_context": "\n"}, "", ""},
		{"no bag", nil, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host, context, ignored := NRPERemoteContext("nrpe/0", tt.bag)
			if len(ignored) != 0 {
				t.Errorf("ignored = %v, want none", ignored)
			}
			if host != tt.host || context != tt.context {
				t.Errorf("RemoteContext = %q, %q; want %q, %q", host, context, tt.host, tt.context)
			}
		})
	}
}

// Expected monitors bytes are PyYAML's yaml.dump of the same dict, as
// charmhelpers' NRPE.write publishes it.
func TestNRPEBag(t *testing.T) {
	tests := []struct {
		name     string
		checks   []NRPECheck
		monitors string
	}{
		{"one check", []NRPECheck{{Name: "check_http", Command: "x"}},
			"monitors:\n  remote:\n    nrpe:\n      check_http:\n        command: check_http\n"},
		{"no checks", nil, "monitors:\n  remote:\n    nrpe: {}\n"},
		{"sorted names", []NRPECheck{{Name: "check_tcp"}, {Name: "check_http"}},
			"monitors:\n  remote:\n    nrpe:\n      check_http:\n        command: check_http\n      check_tcp:\n        command: check_tcp\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := NRPEBag(tt.checks...)
			if want := map[string]string{"monitors": tt.monitors}; !reflect.DeepEqual(got, want) {
				t.Errorf("NRPEBag =\n%q\nwant\n%q", got, want)
			}
			var doc map[string]map[string]map[string]map[string]map[string]string
			if err := yaml.Unmarshal([]byte(got["monitors"]), &doc); err != nil {
				t.Fatalf("monitors is not YAML: %v", err)
			}
			for _, c := range tt.checks {
				if doc["monitors"]["remote"]["nrpe"][c.Name]["command"] != c.Name {
					t.Errorf("check %s missing from monitors", c.Name)
				}
			}
		})
	}
}

func TestNRPETouch(t *testing.T) {
	got := NRPETouch(time.Date(2026, 11, 28, 8, 38, 45, 123456789, time.UTC))
	if want := map[string]string{"timestamp": "2026-11-28T08:38:45.123456"}; !reflect.DeepEqual(got, want) {
		t.Errorf("NRPETouch = %v, want %v", got, want)
	}
}

func TestTimestamp(t *testing.T) {
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2026, 11, 28, 8, 38, 45, 123456789, time.UTC), "2026-11-28T08:38:45.123456"},
		{time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "2026-01-02T03:04:05"},
		// isoformat drops the fraction only when the microseconds are zero.
		{time.Date(2026, 1, 2, 3, 4, 5, 999, time.UTC), "2026-01-02T03:04:05"},
		{time.Date(2026, 1, 2, 3, 4, 5, 1000, time.UTC), "2026-01-02T03:04:05.000001"},
	}
	for _, tt := range tests {
		if got := isoformat(tt.in); got != tt.want {
			t.Errorf("Timestamp(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

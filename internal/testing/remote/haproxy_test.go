package remote

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The reference charm's stanza (juju-contract §6.3), as the leader
// publishes it, plus a follower that published nothing of its own.
const referenceStanza = `- service_name: docker-registry
  service_host: 0.0.0.0
  service_port: 5000
  service_options:
   - mode http
   - balance leastconn
   - option httpchk GET / HTTP/1.0
  servers:
   - [docker-registry-0, 10.0.0.5, 5000, check inter 2000 rise 2 fall 5 maxconn 4096 ]
   - [docker-registry-1, 10.0.0.6, 5000, check inter 2000 rise 2 fall 5 maxconn 4096 backup ]
`

func TestHaproxyConfigFromStanza(t *testing.T) {
	cfg, err := HaproxyConfig(map[string]map[string]string{
		"docker-registry/0": {"services": referenceStanza, "port": "5000", "private-address": "10.0.0.5"},
		"docker-registry/1": {"private-address": "10.0.0.6"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"frontend haproxy-5000\n    bind 0.0.0.0:5000\n    default_backend docker-registry\n    mode http\n",
		"backend docker-registry\n    mode http\n    balance leastconn\n    option httpchk GET / HTTP/1.0\n",
		"    server docker-registry-0 10.0.0.5:5000 check inter 2000 rise 2 fall 5 maxconn 4096\n",
		"    server docker-registry-1 10.0.0.6:5000 check inter 2000 rise 2 fall 5 maxconn 4096 backup\n",
	} {
		if !strings.Contains(cfg, want) {
			t.Errorf("config lacks %q:\n%s", want, cfg)
		}
	}
	if strings.Count(cfg, "    server ") != 2 {
		t.Errorf("a unit without a stanza and without a port became a server:\n%s", cfg)
	}
	checkHaproxy(t, cfg)
}

func TestHaproxyConfigUnitsWithoutStanza(t *testing.T) {
	// A follower that still advertised a port would join the default
	// service: what our followers must avoid.
	cfg, err := HaproxyConfig(map[string]map[string]string{
		"docker-registry/0": {"services": referenceStanza},
		"docker-registry/2": {"port": "5000", "private-address": "10.0.0.7"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(cfg, "server docker-registry-2-5000 10.0.0.7:5000\n") {
		t.Errorf("config:\n%s", cfg)
	}
	files := HaproxyReferencedFiles("server a 1.2.3.4:5 ssl check-ssl crt /var/lib/haproxy/default.pem ca-file /etc/x/ca.crt verify required")
	if files["/var/lib/haproxy/default.pem"] != "crt" || files["/etc/x/ca.crt"] != "ca-file" || len(files) != 2 {
		t.Errorf("referenced files = %v", files)
	}
}

// checkHaproxy has Debian's haproxy check the config, when installed.
func checkHaproxy(t *testing.T, cfg string) {
	t.Helper()
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		t.Log("haproxy not installed; config not checked by haproxy itself")
		return
	}
	p := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-c", "-f", p).CombinedOutput(); err != nil {
		t.Errorf("haproxy -c: %v\n%s\n%s", err, out, cfg)
	}
}

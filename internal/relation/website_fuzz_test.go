package relation

import (
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// FuzzWebsite feeds the website relation any proxy bag and the peers any
// addresses, then renders the haproxy stanza. The proxy address must be a
// host or nothing; the stanza must read back (yaml.safe_load in the
// haproxy charm: canonical/haproxy-operator src/legacy.py,
// parse_services_yaml) as exactly one service with one server per backend
// holding exactly what we put in, and have exactly the lines such a stanza
// has, so nothing from a bag can add a line or a word to haproxy.cfg.
// Seeds: the addresses Juju hands out and what the haproxy operator
// writes (src/http_interface.py: public-address), and the reference's
// stanza inputs (docker-registry charm update_reverseproxy_config).
func FuzzWebsite(f *testing.F) {
	f.Add("10.0.0.9", "10.0.0.9", "10.0.0.6", "docker-registry", "/etc/docker/registry/ca.crt", 5000, false, false)
	f.Add("fd00::9", "", "juju-abc-1.lxd", "docker-registry", "/etc/docker/registry/ca.crt", 5000, true, true)
	f.Add("10.0.0.9\nmode tcp", "$(id)", "10.0.0.6 backup", "app", "/a b", 443, true, false)
	f.Add("", "", "{0}", "x", "#", 70000, false, true)
	f.Fuzz(func(t *testing.T, proxyIngress, proxyPrivate, peerAddr, name, caPath string, port int, tls, activeActive bool) {
		addr, ignored := WebsiteProxyAddress(map[string]map[string]string{
			"haproxy/0": {"ingress-address": proxyIngress, "private-address": proxyPrivate},
		})
		if addr != "" && !isHost(addr) {
			t.Fatalf("proxy address %q is not a host", addr)
		}
		for _, i := range ignored {
			checkIgnoredLine(t, i, proxyIngress, proxyPrivate)
		}
		backends, ignored := PeerAddresses("docker-registry/0", "10.0.0.5",
			map[string]map[string]string{"docker-registry/1": {"private-address": peerAddr}}, port)
		for _, i := range ignored {
			checkIgnoredLine(t, i, peerAddr)
		}
		stanza, err := WebsiteServices(name, backends, tls, caPath, activeActive)
		if err != nil {
			return
		}
		var got []struct {
			Name    string   `yaml:"service_name"`
			Host    string   `yaml:"service_host"`
			Port    int      `yaml:"service_port"`
			Options []string `yaml:"service_options"`
			Servers [][]any  `yaml:"servers"`
		}
		if err := yaml.Unmarshal([]byte(stanza), &got); err != nil {
			t.Fatalf("stanza does not parse: %v\n%s", err, stanza)
		}
		if lines := strings.Count(stanza, "\n"); lines != 8+len(backends) {
			t.Fatalf("stanza has %d lines for %d backends:\n%s", lines, len(backends), stanza)
		}
		if len(got) != 1 || got[0].Name != name || got[0].Port != port || len(got[0].Servers) != len(backends) {
			t.Fatalf("stanza reads back as %#v", got)
		}
		for i, s := range got[0].Servers {
			b := backends[i]
			if len(s) != 4 || s[0] != strings.ReplaceAll(b.Unit, "/", "-") || s[1] != b.Address && s[1] != mustAtoi(b.Address) || s[2] != port {
				t.Fatalf("server %d reads back as %#v, want %+v", i, s, b)
			}
			opts, _ := s[3].(string)
			if strings.ContainsAny(opts, "\r\n") || (tls && !strings.HasSuffix(opts, " ca-file "+caPath+" verify required")) {
				t.Fatalf("server options %q", opts)
			}
		}
	})
}

// mustAtoi: YAML reads an address such as "1" (a host name of digits) as
// an int; haproxy's yaml.safe_load does the same and str() gives it back.
func mustAtoi(s string) any {
	n, err := strconv.Atoi(s)
	if err != nil {
		return s
	}
	return n
}

// checkIgnoredLine: a log line about an ignored value is one short line
// that does not quote the value.
func checkIgnoredLine(t *testing.T, i Ignored, values ...string) {
	t.Helper()
	msg := i.String()
	if strings.ContainsAny(msg, "\r\n\x00") || len(msg) > 300 {
		t.Fatalf("log line %q", msg)
	}
	for _, v := range values {
		if v = strings.TrimSpace(v); len(v) > 3 && strings.Contains(msg, v) {
			t.Fatalf("log line %q quotes the value %q", msg, v)
		}
	}
}

// FuzzPeerAddresses: any peer bags give backends in unit-number order,
// one per unit, ourselves included, every peer's address a host.
func FuzzPeerAddresses(f *testing.F) {
	f.Add("docker-registry/1", "10.0.0.6", "", "docker-registry/10", "", "fd00::7")
	f.Add("docker-registry/0", "10.9.9.9", "", "docker-registry/2", "  ", "")
	f.Add("x", "a b", "\n", "docker-registry/-1", "{", "1.2.3.4 backup")
	f.Fuzz(func(t *testing.T, u1, priv1, ing1, u2, priv2, ing2 string) {
		peers := map[string]map[string]string{
			u1: {"private-address": priv1, "ingress-address": ing1},
			u2: {"private-address": priv2, "ingress-address": ing2},
		}
		got, _ := PeerAddresses("docker-registry/0", "10.0.0.5", peers, 5000)
		seen := map[string]bool{}
		var units []string
		self := false
		for _, b := range got {
			if seen[b.Unit] {
				t.Fatalf("unit %q twice: %v", b.Unit, got)
			}
			seen[b.Unit] = true
			units = append(units, b.Unit)
			if b.Unit == "docker-registry/0" {
				self = b.Address == "10.0.0.5"
			} else if !isHost(b.Address) {
				t.Fatalf("peer address %q is not a host", b.Address)
			}
		}
		if !self {
			t.Fatalf("we are missing: %v", got)
		}
		sorted := SortUnits(units)
		for i := range units {
			if sorted[i] != units[i] {
				t.Fatalf("not in unit order: %v", units)
			}
		}
	})
}

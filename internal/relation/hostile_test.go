package relation

import (
	"strings"
	"testing"
)

// Hostile relation values: what another charm's bag may hold, whether by
// mistake (an operator's free-form option passed through) or on purpose.
// Each must be refused before it reaches a line-oriented file, a SAN or a
// URL, and must not appear in what we log.
var hostileValues = map[string]string{
	"newline then a nagios directive": "juju-docker-registry-0\n    check_command  check_nrpe!evil",
	"carriage return":                 "host\rname",
	"NUL":                             "host\x00name",
	"closing the object":              "x\n}\ndefine command {\n command_line /bin/sh -c id\n",
	"shell metacharacters":            "$(touch /tmp/pwned);`id`|&",
	"space":                           "two words",
	"comma (a second servicegroup)":   "juju,admins",
	"brace (python str.format)":       "{0.__class__}",
	"unicode line separator":          "host\u2028name",
	"unicode next line":               "host\u0085name",
	"right-to-left override":          "host\u202ename",
	"invalid UTF-8":                   "host\xffname",
	"1 MiB":                           strings.Repeat("a", 1<<20),
	"1 MiB of newlines":               strings.Repeat("a\n", 1<<19),
}

// noValueIn fails when an ignored entry's message quotes the value.
func noValueIn(t *testing.T, ignored []Ignored, value string) {
	t.Helper()
	for _, i := range ignored {
		msg := i.String()
		if strings.ContainsAny(msg, "\n\r\x00") || len(msg) > 200 {
			t.Errorf("log line %q is not one short line", msg)
		}
		if len(strings.TrimSpace(value)) >= 4 && strings.Contains(msg, strings.TrimSpace(value)) {
			t.Errorf("log line quotes the value: %q", msg)
		}
	}
}

// checkExportFile checks the export file is exactly the nagios object it
// must be, line for line, whatever the relation held.
func checkExportFile(t *testing.T, content []byte, wantHost, wantGroups string) {
	t.Helper()
	want := []string{
		"",
		"#---------------------------------------------------",
		"# This file is Juju managed",
		"#---------------------------------------------------",
		"define service {",
		"    use                             active-service",
		"    host_name                       " + wantHost,
		"    service_description             Verify docker-registry is responding",
		"    check_command                   check_nrpe!check_http",
		"    servicegroups                   " + wantGroups,
		"}",
		"",
	}
	got := strings.Split(string(content), "\n")
	if len(got) != len(want) {
		t.Fatalf("export file has %d lines, want %d:\n%.2000q", len(got), len(want), content)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d = %.200q, want %q", i+1, got[i], want[i])
		}
	}
	if strings.ContainsAny(string(content), "\r\x00\u2028\u0085") {
		t.Errorf("export file holds a line break other than \\n: %.200q", content)
	}
}

// The nrpe charm publishes nagios_hostname = "<nagios_host_context>-<unit
// with / as ->" and its own nagios_host_context option verbatim (charm-nrpe
// hooks/nrpe_helpers.py, PrincipalRelation.nagios_hostname and
// provide_data); the option is free text, so both may hold anything. The
// nrpe charm exports its host definition under that name
// (templates/export_host.cfg.tmpl) from /var/lib/nagios/export, which it
// serves to nagios over rsync (templates/rsync-juju.d.tmpl): our file
// there must stay one well-formed object.
func TestNRPEHostileRemoteValues(t *testing.T) {
	check := NRPEHTTPCheck("http", 5000)
	for name, v := range hostileValues {
		t.Run("hostname: "+name, func(t *testing.T) {
			bag := map[string]string{"nagios_hostname": v, "nagios_host_context": "prod"}
			host, ctx, ignored := NRPERemoteContext("nrpe/0", bag)
			if host != "" || ctx != "prod" || len(ignored) != 1 || ignored[0].Key != "nagios_hostname" {
				t.Fatalf("RemoteContext = %.80q, %q, %v; want the hostname ignored", host, ctx, ignored)
			}
			noValueIn(t, ignored, v)
			_, content := NRPEExportFile("docker-registry/0", host, ctx, "", check)
			checkExportFile(t, content, "prod-docker-registry-0", "prod")
		})
		t.Run("context: "+name, func(t *testing.T) {
			bag := map[string]string{"nagios_host_context": v}
			host, ctx, ignored := NRPERemoteContext("nrpe/0", bag)
			if ctx != "" || len(ignored) != 1 || ignored[0].Key != "nagios_host_context" {
				t.Fatalf("RemoteContext = %q, %.80q, %v; want the context ignored", host, ctx, ignored)
			}
			noValueIn(t, ignored, v)
			_, content := NRPEExportFile("docker-registry/0", host, ctx, "", check)
			checkExportFile(t, content, "juju-docker-registry-0", "juju")
		})
		// NRPEExportFile refuses by itself, for any caller that skips
		// NRPERemoteContext.
		t.Run("rendered directly: "+name, func(t *testing.T) {
			groups := "juju"
			if v == "juju,admins" {
				groups = v // a list is what servicegroups is; each name is checked
			}
			_, content := NRPEExportFile("docker-registry/3", v, v, v, check)
			checkExportFile(t, content, "juju-docker-registry-3", groups)
		})
	}
}

// Real values pass untouched: nrpe's own names for a unit and for a host
// (nagios_hostname_type unit or host).
func TestNRPERealRemoteValues(t *testing.T) {
	for _, bag := range []map[string]string{
		{"nagios_hostname": "juju-docker-registry-0", "nagios_host_context": "juju"},
		{"nagios_hostname": "prod_site.b-juju-machine-3.maas", "nagios_host_context": "prod_site.b"},
	} {
		host, ctx, ignored := NRPERemoteContext("nrpe/0", bag)
		if host != bag["nagios_hostname"] || ctx != bag["nagios_host_context"] || len(ignored) != 0 {
			t.Errorf("RemoteContext(%v) = %q, %q, %v", bag, host, ctx, ignored)
		}
		_, content := NRPEExportFile("docker-registry/0", host, ctx, "", NRPEHTTPCheck("https", 5000))
		checkExportFile(t, content, host, ctx)
	}
}

// The haproxy operator's reverseproxy side writes its own public-address
// into the bag Juju gives it (canonical/haproxy-operator
// src/http_interface.py, HTTPRequirer._on_relation_joined), so the keys we
// read as its address are writable by that charm. A bad address must not
// become our registry_netloc, a SAN, or a haproxy server address.
func TestProxyAddressHostileValues(t *testing.T) {
	for name, v := range hostileValues {
		t.Run(name, func(t *testing.T) {
			remote := map[string]map[string]string{
				"haproxy/0": {"ingress-address": v, "private-address": v},
				"haproxy/1": {"ingress-address": "10.0.0.9"},
			}
			addr, ignored := WebsiteProxyAddress(remote)
			if addr != "10.0.0.9" || len(ignored) != 2 {
				t.Fatalf("FirstProxyAddress = %.80q, %v; want haproxy/1's address, haproxy/0's two keys ignored", addr, ignored)
			}
			noValueIn(t, ignored, v)

			alone := map[string]map[string]string{"haproxy/0": {"ingress-address": v}}
			if addr, _ := WebsiteProxyAddress(alone); addr != "" {
				t.Fatalf("FirstProxyAddress = %.80q, want none", addr)
			}
			// Even handed straight to DockerRegistryNetloc, the proxy counts as absent.
			nl, err := DockerRegistryNetloc("", v, "10.0.0.5", 5000)
			if err != nil || nl != "10.0.0.5:5000" {
				t.Errorf("Netloc = %.80q, %v; want our own address", nl, err)
			}
			req := NewTLSCertsRequest("docker-registry/0", "10.0.0.5", []string{v, "registry.internal"})
			if strings.Join(req.SANs, " ") != "10.0.0.5 registry.internal" {
				t.Errorf("SANs = %.200q", req.SANs)
			}
			if j := req.Bag()["sans"]; j != `["10.0.0.5", "registry.internal"]` {
				t.Errorf("sans = %.200s", j)
			}

			peers := map[string]map[string]string{
				"docker-registry/1": {"private-address": v, "ingress-address": "10.0.0.6"},
				"docker-registry/2": {"private-address": v},
			}
			backends, ignored := PeerAddresses("docker-registry/0", "10.0.0.5", peers, 5000)
			if len(backends) != 2 || backends[1].Address != "10.0.0.6" || len(ignored) != 2 {
				t.Fatalf("PeerAddresses = %.200v, %v", backends, ignored)
			}
			noValueIn(t, ignored, v)
			stanza, err := WebsiteServices("docker-registry", backends, false, "", false)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Count(stanza, "\n") != strings.Count(servicesFor2, "\n") {
				t.Errorf("stanza has extra lines:\n%s", stanza)
			}
		})
	}
}

// servicesFor2 is the stanza of two plain backends, for its line count.
var servicesFor2 = func() string {
	s, err := WebsiteServices("docker-registry", []PeerBackend{{"docker-registry/0", "10.0.0.5", 5000}, {"docker-registry/1", "10.0.0.6", 5000}}, false, "", false)
	if err != nil {
		panic(err)
	}
	return s
}()

// Addresses Juju really hands out pass: IPv4, IPv6 (bracketed or not),
// MAAS and LXD host names.
func TestProxyAddressRealValues(t *testing.T) {
	for _, a := range []string{"10.0.0.9", "fd00::9", "juju-abc-0.lxd", "node-7.maas", "[fd00::9]"} {
		got, ignored := WebsiteProxyAddress(map[string]map[string]string{"haproxy/0": {"ingress-address": a}})
		if a == "[fd00::9]" {
			// Brackets are URL syntax, not an address: DockerRegistryNetloc takes them.
			if nl, err := DockerRegistryNetloc("", a, "10.0.0.5", 5000); err != nil || nl != "[fd00::9]:5000" {
				t.Errorf("Netloc(%q) = %q, %v", a, nl, err)
			}
			continue
		}
		if got != a || len(ignored) != 0 {
			t.Errorf("FirstProxyAddress(%q) = %q, %v", a, got, ignored)
		}
	}
}

func TestIsHost(t *testing.T) {
	good := []string{"10.0.0.5", "fd00::5", "::1", "registry", "registry.example.com", "bücher.example", "juju_machine-0", "a.b-c.d"}
	bad := []string{"", " ", "a b", "a,b", "a\nb", "-lead", "a..b", ".", "a.", "fe80::1%eth0", "[fd00::5]", "10.0.0.5:5000",
		"host/path", "x;y", strings.Repeat("a", 64), strings.Repeat("a.", 127) + "a", "host\xff"}
	for _, s := range good {
		if !isHost(s) {
			t.Errorf("IsHost(%q) = false", s)
		}
	}
	for _, s := range bad {
		if isHost(s) {
			t.Errorf("IsHost(%.80q) = true", s)
		}
	}
}

// A provider that appends to a certificate, or sends something else after
// it, gets only its PEM blocks through: the files written from TLSCertsIssued and
// the tls_ca we forward to workers hold PEM and nothing else.
func TestReadIssuedKeepsOnlyPEM(t *testing.T) {
	const sc, sk = "docker-registry_0.server.cert", "docker-registry_0.server.key"
	appended := "\nExecStartPre=+/bin/sh -c id\n\x00" + strings.Repeat("x", 1<<20)
	remote := map[string]map[string]string{"easyrsa/0": {
		"ca": textDump + testCA + appended,
		sc:   testCert + appended + testKey, // a key inside a certificate value is not a certificate
		sk:   testCert + testKey + appended,
	}}
	got, ok := ReadTLSCertsIssued("docker-registry/0", remote)
	want := TLSCertsIssued{CA: testCA + "\n", ServerCert: testCert, ServerKey: testKey}
	if !ok || got != want {
		t.Fatalf("ReadIssued = %.300q, %v; want only the PEM blocks", got, ok)
	}
	encrypted := "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nS0VZ\n-----END RSA PRIVATE KEY-----\n"
	remote["easyrsa/0"][sk] = encrypted
	if got, ok := ReadTLSCertsIssued("docker-registry/0", remote); ok || got.ServerKey != "" {
		t.Errorf("an encrypted key was taken: %q", got.ServerKey)
	}
}

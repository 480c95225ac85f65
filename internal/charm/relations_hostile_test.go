package charm

import (
	"strings"
	"testing"

	"github.com/canonical/docker-registry-charm/internal/testing/remote"
	"github.com/canonical/docker-registry-charm/internal/testing/sim"
)

// A value with a newline and a nagios directive after it, as an nrpe unit
// would send it if its operator typed one into nagios_host_context (the
// nrpe charm passes that option through verbatim: charm-nrpe
// hooks/nrpe_helpers.py, PrincipalRelation.provide_data).
const hostileNagios = "juju-docker-registry-0\n    check_command  check_nrpe!pwned\n}\ndefine command {\n    command_line  /bin/sh -c id\n"

func TestNRPEHostileRemoteValuesNeverReachTheExportFile(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 1))
	rel, err := h.model.Relate(ctx, "nrpe-external-master", "nrpe", sim.RemoteUnit{Name: "nrpe/0"})
	h.must(err)
	h.must(h.model.SetRemoteData(ctx, rel, "nrpe/0", map[string]string{
		"nagios_hostname":     hostileNagios,
		"nagios_host_context": "ops\x00" + strings.Repeat("x", 1<<20),
	}))
	export := h.file(unit0, "/var/lib/nagios/export/service__docker-registry-0_check_http.cfg")
	lines := strings.Split(export, "\n")
	if len(lines) != 12 || lines[6] != "    host_name                       juju-docker-registry-0" {
		t.Fatalf("export file is not the one object it must be:\n%.2000s", export)
	}
	for _, bad := range []string{"pwned", "define command", "/bin/sh", "\x00"} {
		if strings.Contains(export, bad) {
			t.Errorf("export file holds %q", bad)
		}
	}
	check := h.file(unit0, "/etc/nagios/nrpe.d/check_check_http.cfg")
	if strings.Count(check, "\n") != 5 {
		t.Errorf("check file:\n%s", check)
	}
	var warned []string
	for _, l := range h.model.Unit(unit0).Logs() {
		if strings.Contains(l.Message, "pwned") || strings.Contains(l.Message, "xxxx") {
			t.Fatalf("the relation value reached the debug log: %.200q", l.Message)
		}
		if strings.Contains(l.Message, "ignoring nagios_") {
			warned = append(warned, l.Message)
		}
	}
	if len(warned) == 0 || !strings.Contains(strings.Join(warned, "|"), "nagios_hostname from nrpe/0") ||
		!strings.Contains(strings.Join(warned, "|"), "nagios_host_context from nrpe/0") {
		t.Errorf("no log line names the ignored keys: %q", warned)
	}
	h.wantStatus(unit0, "active", "Ready at 127.0.10.1:5000 (http).")

	// Once nrpe sends a real name again, it is used.
	h.must(h.model.SetRemoteData(ctx, rel, "nrpe/0", map[string]string{
		"nagios_hostname": "prod-docker-registry-0", "nagios_host_context": "prod",
	}))
	export = h.file(unit0, "/var/lib/nagios/export/service__docker-registry-0_check_http.cfg")
	if !strings.Contains(export, "    host_name                       prod-docker-registry-0\n") ||
		!strings.Contains(export, "    servicegroups                   prod\n") {
		t.Errorf("real names not used:\n%s", export)
	}
}

// The haproxy operator writes into the bag whose address we read
// (canonical/haproxy-operator src/http_interface.py); an address that is
// no address must not reach registry_netloc, the certificate request or
// the haproxy stanza.
func TestWebsiteHostileProxyAddressIgnored(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 1))
	ca, _ := relateEasyRSA(h)
	clients, err := h.model.Relate(ctx, "docker-registry", "containerd", sim.RemoteUnit{Name: "containerd/0"})
	h.must(err)
	web, err := h.model.Relate(ctx, "website", "haproxy", sim.RemoteUnit{Name: "haproxy/0"})
	h.must(err)
	const bad = "10.0.0.9\n[plugins.\"io.containerd.grpc.v1.cri\".registry.mirrors.\"evil\"]"
	h.must(h.model.SetRemoteData(ctx, web, "haproxy/0", map[string]string{
		"ingress-address": bad, "private-address": "$(id)",
	}))
	v, err := remote.ReadRegistry(h.model.RelationData(clients, unit0))
	h.must(err)
	if v.Netloc != "127.0.10.1:5000" {
		t.Errorf("netloc = %q, want our own address", v.Netloc)
	}
	if sans := ca.Requests[unit0]["sans"]; strings.Contains(sans, "evil") || strings.Contains(sans, "$(id)") || strings.Contains(sans, `\n`) {
		t.Errorf("sans = %s", sans)
	}
	services := h.model.RelationData(web, unit0)["services"]
	if strings.Contains(services, "evil") || strings.Contains(services, "$(id)") {
		t.Errorf("stanza = %s", services)
	}
	warned := false
	for _, l := range h.model.Unit(unit0).Logs() {
		if strings.Contains(l.Message, "evil") || strings.Contains(l.Message, "$(id)") {
			t.Fatalf("the relation value reached the debug log: %q", l.Message)
		}
		warned = warned || strings.Contains(l.Message, "ignoring ingress-address from haproxy/0")
	}
	if !warned {
		t.Error("no log line names the ignored address")
	}
}

package relation

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// FuzzNRPE takes any nagios_hostname and nagios_host_context from the nrpe
// unit, any servicegroups, port, scheme and client pair paths, and checks
// the two files we write for nrpe: the export file is exactly one nagios
// service object, line for line, with names nagios accepts; the check file
// is one command line whose command /bin/sh splits into exactly the words
// we meant. Seeds are what charm-nrpe publishes (hooks/nrpe_helpers.py,
// PrincipalRelation.nagios_hostname and provide_data: "<context>-<unit>"
// or "<context>-<host name>", its nagios_host_context option verbatim,
// "juju" by default in its config.yaml).
func FuzzNRPE(f *testing.F) {
	f.Add("juju-docker-registry-0", "juju", "", 5000, "http", "", "")
	f.Add("prod-juju-machine-3", "prod", "registry,k8s", 5443, "https",
		"/var/lib/docker-registry/nrpe/client.crt", "/var/lib/docker-registry/nrpe/client.key")
	f.Add("x\n}\ndefine command {", "a b", "g,,h", -1, "https", "/c.crt", "/k;rm -rf /.key")
	f.Add("", "\x00", "\u2028", 70000, "", "relative", "/k'.key")
	f.Fuzz(func(t *testing.T, hostname, context, groups string, port int, scheme, certFile, keyFile string) {
		bag := map[string]string{"nagios_hostname": hostname, "nagios_host_context": context}
		host, ctx, ignored := NRPERemoteContext("nrpe/0", bag)
		for _, i := range ignored {
			checkIgnoredLine(t, i, hostname, context)
		}
		for _, c := range []NRPECheck{NRPEHTTPCheck(scheme, port), NRPEMutualTLSCheck(port, certFile, keyFile)} {
			path, content := NRPEExportFile("docker-registry/0", host, ctx, groups, c)
			if path != "/var/lib/nagios/export/service__docker-registry-0_check_http.cfg" {
				t.Fatalf("export path %q", path)
			}
			checkExportObject(t, string(content))
			checkCheckFile(t, string(NRPECheckFile(c)), certFile, keyFile)
		}
		var monitors map[string]map[string]map[string]map[string]map[string]string
		if err := yaml.Unmarshal([]byte(NRPEBag(NRPEHTTPCheck(scheme, port))["monitors"]), &monitors); err != nil ||
			monitors["monitors"]["remote"]["nrpe"]["check_http"]["command"] != "check_http" {
			t.Fatalf("monitors = %v (%v)", monitors, err)
		}
	})
}

var exportPrefixes = []string{
	"", "#---------------------------------------------------", "# This file is Juju managed",
	"#---------------------------------------------------", "define service {",
	"    use                             active-service",
	"    host_name                       ",
	"    service_description             Verify docker-registry is responding",
	"    check_command                   check_nrpe!check_http",
	"    servicegroups                   ",
	"}", "",
}

func checkExportObject(t *testing.T, content string) {
	t.Helper()
	lines := strings.Split(content, "\n")
	if len(lines) != len(exportPrefixes) {
		t.Fatalf("export file has %d lines:\n%q", len(lines), content)
	}
	for i, p := range exportPrefixes {
		if !strings.HasPrefix(lines[i], p) || (p != "    host_name                       " && p != "    servicegroups                   " && lines[i] != p) {
			t.Fatalf("line %d = %q", i+1, lines[i])
		}
	}
	host := strings.TrimPrefix(lines[6], exportPrefixes[6])
	if !isNagiosName(host) {
		t.Fatalf("host_name %q", host)
	}
	if !isNagiosList(strings.TrimPrefix(lines[9], exportPrefixes[9])) {
		t.Fatalf("servicegroups %q", lines[9])
	}
}

// checkCheckFile: the nrpe command file is the header and one command
// line; the command holds no shell syntax but the quoted '200 OK', so
// /bin/sh runs exactly the plugin with our arguments.
func checkCheckFile(t *testing.T, content, certFile, keyFile string) {
	t.Helper()
	lines := strings.Split(content, "\n")
	if len(lines) != 6 || lines[5] != "" || !strings.HasPrefix(lines[4], "command[check_http]=/usr/lib/nagios/plugins/check_") {
		t.Fatalf("check file:\n%q", content)
	}
	cmd := strings.TrimPrefix(lines[4], "command[check_http]=")
	unquoted := strings.Replace(cmd, " -e '200 OK'", "", 1)
	for _, w := range strings.Split(unquoted, " ") {
		if w == "" || !isShellSafePath("/"+w) {
			t.Fatalf("command %q has shell syntax in %q", cmd, w)
		}
	}
	if strings.Contains(cmd, " -J ") && !(isShellSafePath(certFile) && isShellSafePath(keyFile)) {
		t.Fatalf("command %q presents unsafe paths", cmd)
	}
}

package relation

import (
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// nrpe-external-master, provider side (container scope; the nrpe
// subordinate requires it). The check itself lives in two files on our
// machine, written exactly as the reactive interface's add_check wrote
// them, so that an upgraded unit overwrites the reference's files rather
// than leaving a stale duplicate:
//
//   - /etc/nagios/nrpe.d/check_<name>.cfg, read by the local nrpe daemon;
//   - /var/lib/nagios/export/service__<unit-dash>_<name>.cfg, the service
//     definition collected for nagios by the export mechanism.
//
// On the relation we publish what the current nrpe charm reads: a
// "monitors" YAML naming our checks (charmhelpers' NRPE.write format),
// which it forwards to nagios over its monitors relation, plus the
// reactive interface's "timestamp", whose only job is to fire
// relation-changed on the nrpe unit so it reloads the check files.

// Keys we read from the nrpe unit's bag.
const (
	keyNagiosHostname    = "nagios_hostname"
	keyNagiosHostContext = "nagios_host_context"
)

// Keys we publish.
const (
	keyMonitors  = "monitors"
	keyTimestamp = "timestamp"
)

// defaultNagiosContext is charmhelpers' and layer:nagios's default
// nagios_context, used when neither config nor the nrpe unit gives one.
const defaultNagiosContext = "juju"

const pluginsDir = "/usr/lib/nagios/plugins"

// The reference's check name and description: keeping them keeps nagios's
// service (check_nrpe!check_http) and our file names across the upgrade.
const (
	checkName        = "check_http"
	checkDescription = "Verify docker-registry is responding"
)

// NRPECheck is one NRPE check: Name is the nrpe command name (command[Name])
// and nagios's check_nrpe!Name.
type NRPECheck struct {
	Name        string
	Description string
	Command     string
}

// NRPEHTTPCheck probes the registry on 127.0.0.1:<port> over the scheme it
// really serves ("https", anything else meaning http); the reference
// always probed plain http, which failed as soon as TLS was on. It expects
// "200 OK" for GET /, which distribution answers without authentication.
// nrpe runs the command through /bin/sh, so the expectation is
// single-quoted (the reference's unquoted " 200 OK" only worked by
// accident: -e got "200" and "OK" became a host name). When the registry
// requires client certificates, use NRPEMutualTLSCheck instead.
func NRPEHTTPCheck(scheme string, port int) NRPECheck {
	tls := ""
	if scheme == "https" {
		tls = " -S"
	}
	return NRPECheck{
		Name:        checkName,
		Description: checkDescription,
		Command:     pluginsDir + "/check_http -I 127.0.0.1 -p " + strconv.Itoa(port) + tls + " -e '200 OK' -u /",
	}
}

// NRPEMutualTLSCheck probes a registry that requires client certificates.
// check_http presents certFile/keyFile (-J/-K): a pair the registry
// accepts (easyrsa's client certificate), readable by the nagios user nrpe
// runs as. Without a usable pair the TLS handshake would be refused, so
// the most we can check is that the port accepts TCP connections.
func NRPEMutualTLSCheck(port int, certFile, keyFile string) NRPECheck {
	p := strconv.Itoa(port)
	c := NRPECheck{Name: checkName, Description: checkDescription}
	if isShellSafePath(certFile) && isShellSafePath(keyFile) {
		c.Command = pluginsDir + "/check_http -I 127.0.0.1 -p " + p + " -S -J " + certFile + " -K " + keyFile + " -e '200 OK' -u /"
	} else {
		c.Command = pluginsDir + "/check_tcp -H 127.0.0.1 -p " + p
	}
	return c
}

// isShellSafePath reports whether p is an absolute path that /bin/sh
// passes through unchanged, so it can go into the command unquoted.
func isShellSafePath(p string) bool {
	if !strings.HasPrefix(p, "/") {
		return false
	}
	for _, r := range p {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+:@%,", r)
		if !ok {
			return false
		}
	}
	return true
}

const jujuManagedHeader = "\n" +
	"#---------------------------------------------------\n" +
	"# This file is Juju managed\n" +
	"#---------------------------------------------------\n"

// NRPECheckPath is the nrpe command file of c. The reactive interface prefixed
// "check_" to a name that already had it: check_check_http.cfg.
func NRPECheckPath(c NRPECheck) string { return "/etc/nagios/nrpe.d/check_" + c.Name + ".cfg" }

// NRPECheckFile is the content of NRPECheckPath(c), byte for byte the reactive
// interface's (which starts with an empty line).
func NRPECheckFile(c NRPECheck) []byte {
	return []byte(jujuManagedHeader + "command[" + c.Name + "]=" + c.Command + "\n")
}

// NRPEExportFile is the nagios service definition of c for unit. hostname is
// the nrpe unit's nagios_hostname, or "" for <context>-<unit-dash>;
// servicegroups "" means the context; context "" means
// defaultNagiosContext. Each of the three goes onto one line of a nagios
// object file, so a value that is not a nagios name (isNagiosName; a
// comma-separated list of them for servicegroups) is replaced by its
// default rather than written: NRPERemoteContext already refused such values
// from the relation, and this keeps any other caller from adding a line.
func NRPEExportFile(unit, hostname, context, servicegroups string, c NRPECheck) (path string, content []byte) {
	dash := strings.ReplaceAll(unit, "/", "-")
	if !isNagiosName(context) {
		context = defaultNagiosContext
	}
	if !isNagiosName(hostname) {
		hostname = context + "-" + dash
	}
	if !isNagiosList(servicegroups) {
		servicegroups = context
	}
	path = "/var/lib/nagios/export/service__" + dash + "_" + c.Name + ".cfg"
	content = []byte(jujuManagedHeader +
		"define service {\n" +
		"    use                             active-service\n" +
		"    host_name                       " + hostname + "\n" +
		"    service_description             " + c.Description + "\n" +
		"    check_command                   check_nrpe!" + c.Name + "\n" +
		"    servicegroups                   " + servicegroups + "\n" +
		"}\n")
	return path, content
}

func isNagiosList(s string) bool {
	for _, name := range strings.Split(s, ",") {
		if !isNagiosName(name) {
			return false
		}
	}
	return true
}

// NRPERemoteContext reads the nrpe unit's nagios_hostname and
// nagios_host_context ("" when not sent). Its context, when set, overrides
// ours, as the reactive interface's get_remote did. The nrpe charm builds
// nagios_hostname as "<nagios_host_context>-<principal unit or host name>"
// from its own free-form nagios_host_context option (charm-nrpe
// hooks/nrpe_helpers.py, PrincipalRelation.nagios_hostname and
// provide_data), so either may hold anything its operator typed: a value
// that is not a nagios name is ignored (reported in ignored, by key only)
// and the default used instead.
func NRPERemoteContext(unit string, bag map[string]string) (hostname, context string, ignored []Ignored) {
	read := func(key string) string {
		v := strings.TrimSpace(bag[key])
		if v != "" && !isNagiosName(v) {
			ignored = append(ignored, Ignored{Unit: unit, Key: key,
				Reason: "not a nagios object name (letters, digits, '.', '-', '_', at most 253)"})
			return ""
		}
		return v
	}
	hostname = read(keyNagiosHostname)
	context = read(keyNagiosHostContext)
	return hostname, context, ignored
}

// NRPEBag is the monitors key we publish, as charmhelpers' NRPE.write
// dumps it ({"monitors": {"remote": {"nrpe": {<name>: {"command":
// <name>}}}}}, block-style YAML, keys sorted). It only names the checks,
// so it does not change when a check's command does: see NRPETouch.
func NRPEBag(checks ...NRPECheck) map[string]string {
	nrpe := map[string]map[string]string{}
	for _, c := range checks {
		nrpe[c.Name] = map[string]string{"command": c.Name}
	}
	doc := map[string]any{"monitors": map[string]any{"remote": map[string]any{"nrpe": nrpe}}}
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		panic("relation: cannot encode a map of strings as YAML: " + err.Error())
	}
	enc.Close()
	return map[string]string{keyMonitors: b.String()}
}

// NRPETouch is the reactive interface's timestamp key. The nrpe charm
// restarts its daemon on relation-changed, which is what makes it read a
// rewritten check file; so publish NRPETouch(now) whenever a check file
// changes, and only then, or the bag would churn on every hook.
func NRPETouch(now time.Time) map[string]string {
	return map[string]string{keyTimestamp: isoformat(now)}
}

// isoformat formats t as Python's datetime.isoformat() does for a naive
// local time, the reactive interface's timestamp format.
func isoformat(t time.Time) string {
	if t.Nanosecond()/1000 == 0 {
		return t.Format("2006-01-02T15:04:05")
	}
	return t.Format("2006-01-02T15:04:05.000000")
}

package remote

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// The haproxy charm's (legacy, and the ops rewrite's "legacy" module)
// handling of the http interface: units that publish a `services` YAML
// stanza define services; units that publish only hostname/port become
// servers of the first service; the config is one frontend and one
// backend per service. HaproxyConfig follows it without sharing any code
// with our provider side.

// Options copied to both frontend and backend, and options that only a
// frontend takes; every other service option goes to the backend.
var (
	haproxyDupeOptions     = []string{"mode tcp", "option tcplog", "mode http", "option httplog"}
	haproxyFrontendOptions = []string{
		"acl", "backlog", "bind", "capture cookie", "capture request header",
		"capture response header", "clitimeout", "default_backend", "http-request",
		"maxconn", "monitor fail", "monitor-net", "monitor-uri",
		"option accept-invalid-http-request", "option clitcpka", "option contstats",
		"option dontlog-normal", "option dontlognull", "option http-use-proxy-header",
		"option log-separate-errors", "option logasap", "option socket-stats",
		"option tcp-smart-accept", "rate-limit sessions", "redirect",
		"tcp-request content accept", "tcp-request content reject",
		"tcp-request inspect-delay", "timeout client", "timeout clitimeout", "use_backend",
	}
)

// haproxyDefaultServices is what the charm proxies when no unit sends a
// services stanza.
const haproxyDefaultServices = `
- service_name: haproxy_service
  service_host: "0.0.0.0"
  service_port: 80
  service_options: [balance leastconn, cookie SRVNAME insert]
  server_options: maxconn 100 cookie S{i} check
`

// haproxyGlobal is the charm's default global and defaults sections,
// minus what a foreground test daemon cannot use (syslog, daemon mode,
// dropping to the haproxy user).
const haproxyGlobal = `global
    maxconn 4096
    spread-checks 0

defaults
    log global
    mode http
    option httplog
    option dontlognull
    retries 3
    timeout queue 20000
    timeout client 50000
    timeout connect 5000
    timeout server 50000
`

type haproxyServer struct {
	Name, Address, Port, Options string
}

type haproxyService struct {
	Name, Host    string
	Port          int
	Options       []string
	ServerOptions string
	Servers       []haproxyServer
}

// HaproxyConfig renders haproxy.cfg from the unit bags of one http
// relation (unit name → bag), as the haproxy charm does.
func HaproxyConfig(bags map[string]map[string]string) (string, error) {
	units := make([]string, 0, len(bags))
	for u := range bags {
		units = append(units, u)
	}
	sort.Strings(units)
	var services []*haproxyService
	byName := map[string]*haproxyService{}
	add := func(doc string) error {
		parsed, err := parseHaproxyServices(doc)
		if err != nil {
			return err
		}
		for _, s := range parsed {
			if old := byName[s.Name]; old != nil {
				// The first definition wins; servers are unioned.
				for _, srv := range s.Servers {
					if !containsServer(old.Servers, srv) {
						old.Servers = append(old.Servers, srv)
					}
				}
				continue
			}
			byName[s.Name] = s
			services = append(services, s)
		}
		return nil
	}
	anyStanza := false
	for _, u := range units {
		if _, ok := bags[u]["services"]; ok {
			anyStanza = true
		}
	}
	if !anyStanza {
		if err := add(haproxyDefaultServices); err != nil {
			return "", err
		}
	}
	for _, u := range units {
		if doc, ok := bags[u]["services"]; ok {
			if err := add(doc); err != nil {
				return "", fmt.Errorf("services of %s: %w", u, err)
			}
		}
	}
	if len(services) == 0 {
		return "", errors.New("no services")
	}
	// Units without a stanza but with port and private-address join the
	// first service.
	for _, u := range units {
		bag := bags[u]
		if _, ok := bag["services"]; ok {
			continue
		}
		port, addr := bag["port"], bag["private-address"]
		if port == "" || addr == "" {
			continue
		}
		s := services[0]
		s.Servers = append(s.Servers, haproxyServer{
			Name: strings.ReplaceAll(u, "/", "-") + "-" + port, Address: addr, Port: port, Options: s.ServerOptions,
		})
	}
	var b strings.Builder
	b.WriteString(haproxyGlobal)
	hasServers := false
	for _, s := range services {
		if len(s.Servers) == 0 {
			continue
		}
		hasServers = true
		writeHaproxyService(&b, s)
	}
	if !hasServers {
		return "", errors.New("no backend servers")
	}
	return b.String(), nil
}

func containsServer(list []haproxyServer, s haproxyServer) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func writeHaproxyService(b *strings.Builder, s *haproxyService) {
	var fe, be []string
	for _, o := range haproxyDupeOptions {
		if hasPrefixIn(s.Options, o) {
			fe, be = append(fe, o), append(be, o)
		}
	}
	for _, o := range s.Options {
		if matchesAny(strings.TrimSpace(o), haproxyFrontendOptions) {
			fe = appendNew(fe, o)
		} else {
			be = appendNew(be, o)
		}
	}
	fmt.Fprintf(b, "\nfrontend haproxy-%d\n    bind %s:%d\n    default_backend %s\n", s.Port, s.Host, s.Port, s.Name)
	for _, o := range fe {
		fmt.Fprintf(b, "    %s\n", strings.TrimSpace(o))
	}
	fmt.Fprintf(b, "\nbackend %s\n", s.Name)
	for _, o := range be {
		fmt.Fprintf(b, "    %s\n", strings.TrimSpace(o))
	}
	for i, srv := range s.Servers {
		line := fmt.Sprintf("    server %s %s:%s", srv.Name, srv.Address, srv.Port)
		if srv.Options != "" {
			line += " " + srv.Options
		}
		// The charm runs every server line through str.format(i=i).
		b.WriteString(strings.ReplaceAll(line, "{i}", strconv.Itoa(i)) + "\n")
	}
}

// hasPrefixIn is the charm's any(map(o.startswith, options)): some option
// is a prefix of o.
func hasPrefixIn(options []string, o string) bool {
	for _, opt := range options {
		if strings.HasPrefix(strings.TrimSpace(o), opt) {
			return true
		}
	}
	return false
}

func matchesAny(o string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(o, p) {
			return true
		}
	}
	return false
}

func appendNew(list []string, o string) []string {
	for _, x := range list {
		if x == o {
			return list
		}
	}
	return append(list, o)
}

// parseHaproxyServices reads a services stanza as yaml.safe_load would
// give it to the charm: a list of services whose servers are
// [name, address, port, options] lists.
func parseHaproxyServices(doc string) ([]*haproxyService, error) {
	var raw []map[string]any
	if err := yaml.Unmarshal([]byte(doc), &raw); err != nil {
		return nil, fmt.Errorf("cannot parse services YAML: %w", err)
	}
	var out []*haproxyService
	for _, m := range raw {
		s := &haproxyService{}
		name, ok := m["service_name"].(string)
		if !ok || name == "" {
			return nil, errors.New("a service has no service_name")
		}
		s.Name = name
		s.Host, _ = m["service_host"].(string)
		if s.Host == "" {
			s.Host = "0.0.0.0"
		}
		switch p := m["service_port"].(type) {
		case int:
			s.Port = p
		case string:
			n, err := strconv.Atoi(p)
			if err != nil {
				return nil, fmt.Errorf("service %s: bad service_port %q", name, p)
			}
			s.Port = n
		default:
			return nil, fmt.Errorf("service %s: no service_port", name)
		}
		switch o := m["service_options"].(type) {
		case string:
			s.Options = commaSplit(o)
		case []any:
			for _, x := range o {
				str, ok := x.(string)
				if !ok {
					return nil, fmt.Errorf("service %s: service option %v is not a string", name, x)
				}
				s.Options = append(s.Options, str)
			}
		}
		switch o := m["server_options"].(type) {
		case string:
			s.ServerOptions = strings.Join(commaSplit(o), " ")
		case []any:
			s.ServerOptions = joinAny(o)
		}
		servers, _ := m["servers"].([]any)
		for _, x := range servers {
			entry, ok := x.([]any)
			if !ok || len(entry) != 4 {
				return nil, fmt.Errorf("service %s: server %v is not [name, address, port, options]", name, x)
			}
			srv := haproxyServer{Name: fmt.Sprint(entry[0]), Address: fmt.Sprint(entry[1]), Port: fmt.Sprint(entry[2])}
			switch o := entry[3].(type) {
			case nil:
			case string:
				srv.Options = o
			case []any:
				srv.Options = joinAny(o)
			default:
				return nil, fmt.Errorf("service %s: server %s options %v", name, srv.Name, o)
			}
			s.Servers = append(s.Servers, srv)
		}
		out = append(out, s)
	}
	return out, nil
}

func commaSplit(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func joinAny(list []any) string {
	parts := make([]string, len(list))
	for i, x := range list {
		parts[i] = fmt.Sprint(x)
	}
	return strings.Join(parts, " ")
}

var haproxyFileOption = regexp.MustCompile(`\b(crt|ca-file|crl-file)\s+(\S+)`)

// HaproxyReferencedFiles lists the files a rendered config names in
// server or bind options (crt, ca-file, crl-file), path → option: the
// haproxy machine must provide them before haproxy starts.
func HaproxyReferencedFiles(cfg string) map[string]string {
	out := map[string]string{}
	for _, m := range haproxyFileOption.FindAllStringSubmatch(cfg, -1) {
		out[m[2]] = m[1]
	}
	return out
}

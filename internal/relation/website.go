package relation

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// http interface, provider side (our website endpoint; haproxy requires
// it). All keys are raw. The leader publishes a haproxy "services" stanza
// naming every registry unit; the other units publish no stanza and no
// port, or haproxy would add them as servers of a default service.

// Keys of our unit bag on the website relation.
const (
	keyHostname       = "hostname"
	keyPrivateAddress = "private-address"
	keyPort           = "port"
	keyServices       = "services"
	// keyAllServices was set by early reactive revisions by mistake; the
	// reference deletes it and so do we.
	keyAllServices = "all_services"
)

// Server options, as the reference wrote them, except that TLS passes
// through: the reference's leading "ssl" made haproxy open its own TLS
// session to the registry, and in mode tcp the client's handshake then
// travelled inside it, so no TLS client could pull through the proxy.
const (
	serverOpts = "check inter 2000 rise 2 fall 5 maxconn 4096"
	// haproxy checks a TLS backend over TLS with its own default.pem as
	// client certificate and verifies us against ca-file, a path on the
	// haproxy machine; the traffic itself is passed through untouched.
	serverTLSOpts = "check-ssl crt /var/lib/haproxy/default.pem ca-file %s verify required"
)

// WebsiteServices renders the haproxy "services" YAML for one service listening
// on 0.0.0.0:<port of the first backend>. Backends come in any order; the
// lowest unit number is the primary and the others are "backup", because
// each unit's filesystem storage is its own. With activeActive (shared
// object storage and http secret, so any unit can serve any request) no
// server is a backup.
//
// With tls the service runs in "mode tcp" (haproxy passes TLS through) and
// every server gets the ssl options with caPath as ca-file; the http
// health check still applies, sent over TLS by check-ssl. The output is
// YAML that haproxy's yaml.safe_load reads as a list of one service whose
// servers are [name, address, port, options] lists, name being the unit
// name with "/" replaced by "-".
func WebsiteServices(name string, backends []PeerBackend, tls bool, caPath string, activeActive bool) (string, error) {
	if err := checkServicesInput(name, backends, tls, caPath); err != nil {
		return "", err
	}
	byUnit := map[string]PeerBackend{}
	for _, b := range backends {
		byUnit[b.Unit] = b
	}
	mode := "mode http"
	if tls {
		mode = "mode tcp"
	}
	var servers []*yaml.Node
	for i, unit := range sortedUnits(byUnit) {
		b := byUnit[unit]
		opts := serverOpts
		if i > 0 && !activeActive {
			opts += " backup"
		}
		if tls {
			opts += " " + fmt.Sprintf(serverTLSOpts, caPath)
		}
		servers = append(servers, flowSeq(
			str(strings.ReplaceAll(unit, "/", "-")), str(b.Address), integer(b.Port), str(opts)))
	}
	service := mapping(
		"service_name", str(name),
		"service_host", str("0.0.0.0"),
		"service_port", integer(backends[0].Port),
		"service_options", seq(str(mode), str("balance leastconn"), str("option httpchk GET / HTTP/1.0")),
		"servers", seq(servers...),
	)
	return encodeYAML(seq(service))
}

// checkServicesInput refuses what haproxy could not take: the stanza is
// turned into config lines split on spaces, and the haproxy charm runs
// each server line through Python's str.format, so braces break it.
func checkServicesInput(name string, backends []PeerBackend, tls bool, caPath string) error {
	if len(backends) == 0 {
		return errors.New("cannot render haproxy services: no backends")
	}
	if !isConfigWord(name) {
		return fmt.Errorf("cannot render haproxy services: bad service name %q", name)
	}
	if tls && !isConfigWord(caPath) {
		return fmt.Errorf("cannot render haproxy services: bad ca-file path %q", caPath)
	}
	port := backends[0].Port
	for _, b := range backends {
		if !isConfigWord(b.Unit) || !isHost(b.Address) {
			return fmt.Errorf("cannot render haproxy services: bad backend %q at %q", b.Unit, b.Address)
		}
		if b.Port != port || port < 1 || port > 65535 {
			return fmt.Errorf("cannot render haproxy services: backend %s port %d (all must share one valid port)", b.Unit, b.Port)
		}
	}
	return nil
}

// isConfigWord reports whether s stays one word of one haproxy config
// line: printable, no space of any kind, no quote, comment or brace.
func isConfigWord(s string) bool {
	if s == "" || !utf8.ValidString(s) || strings.ContainsAny(s, "{}#\"'\\") {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

func integer(n int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(n)}
}

func seq(items ...*yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: items}
}

func flowSeq(items ...*yaml.Node) *yaml.Node {
	n := seq(items...)
	n.Style = yaml.FlowStyle
	return n
}

// mapping keeps keys in the order given, the reference's order.
func mapping(kv ...any) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for i := 0; i < len(kv); i += 2 {
		n.Content = append(n.Content, str(kv[i].(string)), kv[i+1].(*yaml.Node))
	}
	return n
}

func encodeYAML(n *yaml.Node) (string, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return "", fmt.Errorf("cannot encode YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return "", fmt.Errorf("cannot encode YAML: %w", err)
	}
	return buf.String(), nil
}

// WebsiteLeaderBag is what the leader publishes, as interface-http's configure()
// plus set_remote(services=...) wrote it: hostname and private-address are
// our ingress address, port our registry port, services the stanza. It
// also deletes all_services, left behind by early reactive revisions.
func WebsiteLeaderBag(hostname string, port int, services string) map[string]string {
	return map[string]string{
		keyHostname:       hostname,
		keyPrivateAddress: hostname,
		keyPort:           strconv.Itoa(port),
		keyServices:       services,
		keyAllServices:    "",
	}
}

// WebsiteFollowerBag deletes (empty value = delete in relation-set) what only the
// leader may publish, as the reference's validate_follower_reverseproxy
// does: a follower advertising a port would become a haproxy server
// outside the stanza, without the backup flag. Juju keeps private-address.
func WebsiteFollowerBag() map[string]string {
	return map[string]string{
		keyHostname:    "",
		keyPort:        "",
		keyServices:    "",
		keyAllServices: "",
	}
}

// WebsiteProxyAddress is the address of the lowest related proxy unit, as
// the reference's get_netloc took it (hookenv.ingress_address:
// ingress-address, else private-address), or "" when none is known.
// Juju sets both keys, but the proxy charm may overwrite them (the haproxy
// operator, canonical/haproxy-operator src/http_interface.py, writes its
// own public-address into the same bag), and the address becomes our
// registry_netloc, a SAN of our certificate and a host in every worker's
// containerd configuration: an address that is not an IP address or host
// name (isHost) is ignored, reported in ignored, and the next one tried.
func WebsiteProxyAddress(remote map[string]map[string]string) (addr string, ignored []Ignored) {
	for _, unit := range sortedUnits(remote) {
		a, bad := hostIn(unit, remote[unit], "ingress-address", keyPrivateAddress)
		ignored = append(ignored, bad...)
		if a != "" {
			return a, ignored
		}
	}
	return "", ignored
}

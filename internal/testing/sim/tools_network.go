package sim

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// network-get [-r ID] [--format] <binding> [--ingress-address]
// [--bind-address] [--egress-subnets]
func networkGet(c *call) error {
	if c.p.has("relation") {
		if _, err := c.relation(); err != nil {
			return err
		}
	}
	if len(c.p.args) == 0 {
		return usagef("no arguments specified")
	}
	if err := tooMany(c.p.args, 1); err != nil {
		return err
	}
	binding := c.p.args[0]
	if !c.m.hasBinding(binding) {
		return fmt.Errorf("no network config found for binding %q", binding)
	}
	addr := c.unit().address
	picked := map[string]any{}
	if c.p.has("ingress-address") {
		picked["ingress-address"] = addr
	}
	if c.p.has("bind-address") || c.p.has("primary-address") {
		picked["bind-address"] = addr
	}
	if c.p.has("egress-subnets") {
		picked["egress-subnets"] = []string{addr + "/32"}
	}
	switch len(picked) {
	case 0:
		return c.emit("smart", networkInfo(addr, c.p.get("format") == "json"))
	case 1:
		for _, v := range picked {
			return c.emit("smart", v)
		}
	}
	return c.emit("smart", picked)
}

// networkInfo is network-get's full structure; YAML also carries the
// pre-2.9 keys (macaddress, interfacename, address).
func networkInfo(addr string, jsonOut bool) map[string]any {
	a := map[string]any{"hostname": "", "value": addr, "cidr": cidrOf(addr)}
	b := map[string]any{"mac-address": "00:16:3e:00:00:01", "interface-name": "eth0",
		"addresses": []any{a}}
	if !jsonOut {
		a["address"] = addr
		b["macaddress"], b["interfacename"] = b["mac-address"], b["interface-name"]
	}
	return map[string]any{
		"bind-addresses":    []any{b},
		"egress-subnets":    []string{addr + "/32"},
		"ingress-addresses": []string{addr},
	}
}

func cidrOf(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil || !ip.Is4() {
		return ""
	}
	p, _ := ip.Prefix(24)
	return p.String()
}

// hasBinding: endpoints and extra-bindings are bindings.
func (m *Model) hasBinding(name string) bool {
	meta := m.ch.Meta()
	_, ok := meta.CombinedRelations()[name]
	_, extra := meta.ExtraBindings[name]
	return ok || extra
}

// open-port / close-port [--endpoints ep1,ep2] <port>[/<proto>] |
// <from>-<to>[/<proto>] | icmp. Buffered until the hook exits 0.
func openPort(c *call) error  { return portChange(c, true) }
func closePort(c *call) error { return portChange(c, false) }

func portChange(c *call, open bool) error {
	if len(c.p.args) == 0 {
		return usagef("no port or range specified")
	}
	if err := tooMany(c.p.args, 1); err != nil {
		return err
	}
	port, err := normalisePort(c.p.args[0])
	if err != nil {
		return usageError{err}
	}
	c.hc.ports = append(c.hc.ports, portOp{open: open, port: port})
	return nil
}

// normalisePort turns "5000", "5000/TCP", "1000-2000/udp", "icmp" into
// Juju's "5000/tcp" form, with jujuc's messages for bad input.
func normalisePort(s string) (string, error) {
	arg := strings.ToLower(s)
	if arg == "icmp" {
		return "icmp", nil
	}
	m := portArg.FindStringSubmatch(arg)
	if m == nil {
		return "", fmt.Errorf("expected <port>[/<protocol>] or <from>-<to>[/<protocol>] or icmp; got %q", s)
	}
	from, _ := strconv.Atoi(m[1])
	to, proto := from, "tcp"
	if m[2] != "" {
		to, _ = strconv.Atoi(m[2])
	}
	if m[3] != "" {
		proto = m[3]
	}
	switch {
	case from > to:
		return "", fmt.Errorf("invalid port range %d-%d/%s; expected fromPort <= toPort", from, to, proto)
	case proto == "icmp":
		return "", fmt.Errorf(`protocol "icmp" doesn't support any ports; got "%v"`, from)
	case from < 1 || to > 65535:
		return "", fmt.Errorf(`port must be in the range [1, 65535]; got "%v"`, max(from, to))
	case proto != "tcp" && proto != "udp":
		return "", fmt.Errorf(`protocol must be "tcp", "udp", or "icmp"; got %q`, proto)
	case from == to:
		return fmt.Sprintf("%d/%s", from, proto), nil
	}
	return fmt.Sprintf("%d-%d/%s", from, to, proto), nil
}

var portArg = regexp.MustCompile(`^([0-9]+)(?:-([0-9]+))?(?:/([a-z0-9]+))?$`)

// comparePorts orders by first port number, then protocol; icmp last.
func comparePorts(a, b string) int {
	na, nb := portNumber(a), portNumber(b)
	if na != nb {
		return na - nb
	}
	return strings.Compare(a, b)
}

func portNumber(p string) int {
	if p == "icmp" {
		return 1 << 20
	}
	n, _, _ := strings.Cut(p, "/")
	n, _, _ = strings.Cut(n, "-")
	i, _ := strconv.Atoi(n)
	return i
}

// opened-ports [--endpoints] [--format]. Only committed ports: the ones
// opened earlier in the same hook are not listed.
func openedPorts(c *call) error {
	if err := tooMany(c.p.args, 0); err != nil {
		return err
	}
	out := []string{}
	for _, p := range c.unit().ports {
		if c.p.has("endpoints") {
			p += " (*)"
		}
		out = append(out, p)
	}
	return c.emit("smart", out)
}

package juju

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Port is a port or port range and its protocol (tcp, udp or icmp).
type Port struct {
	Number   int
	Protocol string // empty means tcp
	To       int    // last port of a range; 0 for a single port
}

// String renders the port as the port tools take it: "5000/tcp",
// "1000-2000/udp", "icmp".
func (p Port) String() string {
	proto := p.Protocol
	if proto == "" {
		proto = "tcp"
	}
	if proto == "icmp" {
		return proto
	}
	if p.To != 0 && p.To != p.Number {
		return fmt.Sprintf("%d-%d/%s", p.Number, p.To, proto)
	}
	return fmt.Sprintf("%d/%s", p.Number, proto)
}

// ParsePort reads a port as opened-ports prints it: "5000/tcp",
// "1000-2000/udp", "icmp", optionally followed by " (endpoints)".
func ParsePort(s string) (Port, error) {
	spec, _, _ := strings.Cut(strings.TrimSpace(s), " ")
	if spec == "icmp" {
		return Port{Protocol: "icmp"}, nil
	}
	nums, proto, ok := strings.Cut(spec, "/")
	if !ok {
		proto = "tcp"
	}
	from, to, isRange := strings.Cut(nums, "-")
	p := Port{Protocol: proto}
	var err error
	if p.Number, err = strconv.Atoi(from); err != nil {
		return Port{}, fmt.Errorf("cannot parse port %q: %w", s, err)
	}
	if isRange {
		if p.To, err = strconv.Atoi(to); err != nil {
			return Port{}, fmt.Errorf("cannot parse port %q: %w", s, err)
		}
	}
	return p, nil
}

// OpenPort opens a port on the unit's machine (effective while the
// application is exposed), committed when the hook exits 0: open-port 5000/tcp.
func (c *Client) OpenPort(ctx context.Context, p Port) error {
	_, err := c.run(ctx, "open-port", p.String())
	return err
}

// ClosePort closes a port opened earlier: close-port 5000/tcp.
func (c *Client) ClosePort(ctx context.Context, p Port) error {
	_, err := c.run(ctx, "close-port", p.String())
	return err
}

// OpenedPorts lists the ports this unit has opened, not counting changes
// made earlier in the same hook: opened-ports --format=json.
func (c *Client) OpenedPorts(ctx context.Context) ([]Port, error) {
	var specs []string
	if err := c.runJSON(ctx, &specs, "opened-ports", "--format=json"); err != nil {
		return nil, err
	}
	ports := make([]Port, 0, len(specs))
	for _, s := range specs {
		p, err := ParsePort(s)
		if err != nil {
			return nil, err
		}
		ports = append(ports, p)
	}
	return ports, nil
}

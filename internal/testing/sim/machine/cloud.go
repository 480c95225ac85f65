package machine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Options configure a Cloud.
type Options struct {
	// Subnet of the cloud's segment; default 10.213.0.0/24. Every cloud
	// is its own L2 segment in its own namespaces, so clouds of parallel
	// tests may use the same subnet without clashing.
	Subnet netip.Prefix
	// StateDir holds the machines' state (overlay upper dirs, logs,
	// sockets). It must not be under an overlaid directory; default a
	// new directory in os.TempDir().
	StateDir string
}

// Cloud is one private L2 segment: a bridge in a namespace of its own
// (so the host gets no address or route), a "client" namespace the test
// process dials from, and the machines attached to it.
type Cloud struct {
	opts   Options
	prefix string // namespace name prefix, unique on the host
	bridge string // namespace holding br0
	client string // namespace the test dials from
	agent  string // dir of the simmachine binary

	mu       sync.Mutex
	machines []*Machine
	next     netip.Addr
	closed   bool
	ownState bool
}

var cloudSeq atomic.Int64

// NewCloud creates a cloud for a test and removes it (machines,
// namespaces, links, mounts, processes) when the test ends. It skips the
// test when not root or when ip(8) is missing.
func NewCloud(t testing.TB, opts ...Options) *Cloud {
	t.Helper()
	if reason := Unsupported(); reason != "" {
		t.Skip(reason)
	}
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.StateDir == "" {
		o.StateDir = t.TempDir()
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	return c
}

// Unsupported says why machines cannot run here, or "" if they can.
func Unsupported() string {
	if os.Geteuid() != 0 {
		return "simulated machines need root (network and mount namespaces)"
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return "simulated machines need ip(8) from iproute2"
	}
	return ""
}

// New creates a cloud; the caller must Close it.
func New(o Options) (*Cloud, error) {
	if !o.Subnet.IsValid() {
		o.Subnet = netip.MustParsePrefix("10.213.0.0/24")
	}
	agent, err := agentDir()
	if err != nil {
		return nil, err
	}
	sweepStale()
	if d := overlaid(o.StateDir); d != "" {
		return nil, fmt.Errorf("cannot use state dir %s: it is under %s, which machines overlay", o.StateDir, d)
	}
	if d := overlaid(agent); d != "" {
		return nil, fmt.Errorf("cannot use agent dir %s: it is under %s, which machines overlay (set TMPDIR)", agent, d)
	}
	c := &Cloud{opts: o, agent: agent}
	if c.opts.StateDir == "" {
		if c.opts.StateDir, err = os.MkdirTemp("", "simcloud-"); err != nil {
			return nil, fmt.Errorf("cannot create cloud state dir: %w", err)
		}
		c.ownState = true
	}
	c.prefix = fmt.Sprintf("sm%d-%d", os.Getpid(), cloudSeq.Add(1))
	c.bridge, c.client = c.prefix+"-br", c.prefix+"-cl"
	c.next = o.Subnet.Masked().Addr().Next().Next() // .1 is the client
	if err := c.setup(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (c *Cloud) setup() error {
	if err := ip("", "netns add "+c.bridge); err != nil {
		return err
	}
	if err := ip(c.bridge, "link add br0 type bridge", "link set br0 up", "link set lo up"); err != nil {
		return err
	}
	return c.attach(c.client, "vcl", c.ClientAddr())
}

// attach creates netns with a veth "eth0" bridged into the segment.
func (c *Cloud) attach(netns, veth string, addr netip.Addr) error {
	err := ip("", "netns add "+netns,
		fmt.Sprintf("link add name %s netns %s type veth peer name eth0 netns %s", veth, c.bridge, netns))
	if err != nil {
		return err
	}
	if err := ip(c.bridge, fmt.Sprintf("link set %s master br0 up", veth)); err != nil {
		return err
	}
	return ip(netns, fmt.Sprintf("addr add %s/%d dev eth0", addr, c.opts.Subnet.Bits()),
		"link set eth0 up", "link set lo up")
}

// ClientAddr is the test process's own address on the segment, used by
// DialContext and Listen.
func (c *Cloud) ClientAddr() netip.Addr { return c.opts.Subnet.Masked().Addr().Next() }

// Subnet is the segment's prefix.
func (c *Cloud) Subnet() netip.Prefix { return c.opts.Subnet }

// DialContext dials from the cloud's client namespace, so Go clients in
// the test process (http.Transport.DialContext, go-containerregistry)
// reach machines by address. A machine name may be used as host.
func (c *Cloud) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	addr, err := c.resolve(addr)
	if err != nil {
		return nil, err
	}
	return dialIn(ctx, c.client, network, addr)
}

// Listen listens in the client namespace, for test servers that the
// machines reach at ClientAddr.
func (c *Cloud) Listen(network, addr string) (net.Listener, error) {
	return listenIn(c.client, network, addr)
}

func (c *Cloud) resolve(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("cannot dial %q: %w", addr, err)
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return addr, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.machines {
		if m.name == host {
			return net.JoinHostPort(m.addr.String(), port), nil
		}
	}
	return "", fmt.Errorf("cannot dial %q: no machine named %q in the cloud", addr, host)
}

// Namespaces lists the network namespaces the cloud created (for tests
// that check that nothing is left behind).
func (c *Cloud) Namespaces() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	ns := []string{c.bridge, c.client}
	for _, m := range c.machines {
		ns = append(ns, m.netns)
	}
	return ns
}

// Close powers off every machine and deletes every namespace.
func (c *Cloud) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	machines := c.machines
	c.mu.Unlock()
	var errs []error
	for _, m := range machines {
		errs = append(errs, m.close())
	}
	for _, ns := range []string{c.client, c.bridge} {
		if _, err := os.Stat(netnsPath(ns)); err == nil {
			errs = append(errs, ip("", "netns del "+ns))
		}
	}
	if c.ownState {
		errs = append(errs, os.RemoveAll(c.opts.StateDir))
	}
	return errors.Join(errs...)
}

func (c *Cloud) stateDir(name string) string { return filepath.Join(c.opts.StateDir, name) }

// StateDir is the directory holding the machines' state.
func (c *Cloud) StateDir() string { return c.opts.StateDir }

// overlaid returns the overlaid directory p is under, or "".
func overlaid(p string) string {
	if p == "" {
		return ""
	}
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	for _, d := range overlayDirs {
		if p == d || strings.HasPrefix(p, d+"/") {
			return d
		}
	}
	return ""
}

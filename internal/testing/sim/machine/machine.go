package machine

import (
	"bufio"
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
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Machine is one simulated host: an agent process that is PID 1 of its
// own PID namespace, in its own mount namespace (overlays over
// overlayDirs) and in its own network namespace on the cloud's segment.
type Machine struct {
	cloud  *Cloud
	name   string
	addr   netip.Addr
	netns  string
	veth   string // its peer's name in the bridge namespace
	state  string // host path of the state dir
	client *agentClient

	power sync.Mutex    // serialises power changes
	agent *exec.Cmd     // nil while powered off
	done  chan struct{} // closed when the agent process has exited
}

// NewMachine creates and boots a machine with the next address.
func (c *Cloud) NewMachine(name string) (*Machine, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, errors.New("cannot create machine: cloud is closed")
	}
	for _, m := range c.machines {
		if m.name == name {
			c.mu.Unlock()
			return nil, fmt.Errorf("cannot create machine %q: name in use", name)
		}
	}
	addr := c.next
	c.next = c.next.Next()
	n := len(c.machines)
	m := &Machine{cloud: c, name: name, addr: addr, netns: fmt.Sprintf("%s-m%d", c.prefix, n), state: c.stateDir(name)}
	c.machines = append(c.machines, m)
	c.mu.Unlock()
	if !c.opts.Subnet.Contains(addr) {
		return nil, fmt.Errorf("cannot create machine %q: subnet %s is full", name, c.opts.Subnet)
	}
	if err := os.MkdirAll(m.state, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create machine %q: %w", name, err)
	}
	m.client = newAgentClient(filepath.Join(m.state, "agent.sock"))
	m.veth = fmt.Sprintf("v%d", n)
	if err := c.attach(m.netns, m.veth, addr); err != nil {
		return nil, fmt.Errorf("cannot create machine %q: %w", name, err)
	}
	if err := m.boot(); err != nil {
		return nil, fmt.Errorf("cannot create machine %q: %w", name, err)
	}
	return m, nil
}

// Name is the machine's name (and host name).
func (m *Machine) Name() string { return m.name }

// Addr is the machine's address on the cloud's segment.
func (m *Machine) Addr() netip.Addr { return m.addr }

// Netns is the name of the machine's network namespace (ip -n NAME).
func (m *Machine) Netns() string { return m.netns }

// StateDir is the host directory holding the machine's overlays and logs.
func (m *Machine) StateDir() string { return m.state }

// BinDir is the host (and machine) directory holding systemctl.
func (m *Machine) BinDir() string { return filepath.Join(m.cloud.agent, "bin") }

// boot starts the agent: it forks from a thread inside the machine's
// network namespace, into new mount, PID and UTS namespaces, and waits
// for the agent to report ready (its mounts are up and enabled units
// started) on a pipe.
func (m *Machine) boot() error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	log, err := os.OpenFile(filepath.Join(m.state, "agent.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		w.Close()
		return err
	}
	defer log.Close()
	cmd := exec.Command(filepath.Join(m.cloud.agent, "simmachine"), "agent", "--state", m.state, "--name", m.name)
	cmd.Stdout, cmd.Stderr, cmd.ExtraFiles = log, log, []*os.File{w}
	cmd.Env = []string{"PATH=" + servicePath}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWUTS,
		Pdeathsig:  syscall.SIGKILL, // the agent, and so the machine, dies with the test
	}
	err = inNetns(m.netns, cmd.Start)
	w.Close()
	if err != nil {
		return fmt.Errorf("cannot start agent: %w", err)
	}
	m.agent, m.done = cmd, make(chan struct{})
	go func(done chan struct{}) { cmd.Wait(); close(done) }(m.done)
	status, _ := bufio.NewReader(r).ReadString('\n')
	if !strings.HasPrefix(string(status), "ready") {
		cmd.Process.Kill()
		<-m.done
		logData, _ := os.ReadFile(filepath.Join(m.state, "agent.log"))
		return fmt.Errorf("agent failed: %s%s", status, logData)
	}
	return nil
}

// Reboot powers the machine off (every process killed, every socket
// closed) and boots it again on the same disks: what is enabled starts.
func (m *Machine) Reboot() error {
	if err := m.PowerOff(); err != nil {
		return err
	}
	return m.PowerOn()
}

// PowerOn boots a machine that was powered off.
func (m *Machine) PowerOn() error {
	m.power.Lock()
	defer m.power.Unlock()
	if m.agent != nil {
		return fmt.Errorf("cannot power on machine %q: it is running", m.name)
	}
	if err := m.boot(); err != nil {
		return fmt.Errorf("cannot boot machine %q: %w", m.name, err)
	}
	return nil
}

// SetLink takes the machine's network link down (false) or up (true),
// as a pulled cable: its address stays, packets stop.
func (m *Machine) SetLink(up bool) error {
	state := "down"
	if up {
		state = "up"
	}
	return ip(m.cloud.bridge, fmt.Sprintf("link set %s %s", m.veth, state))
}

// PowerOff kills every process of the machine, closes its sockets and
// stops its agent; its disks (overlay upper layers) stay. Killing PID 1
// of the namespace takes everything left with it.
func (m *Machine) PowerOff() error {
	m.power.Lock()
	defer m.power.Unlock()
	if m.agent == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m.client.call(ctx, "/shutdown", struct{}{}, nil)
	select {
	case <-m.done:
	case <-time.After(10 * time.Second):
		m.agent.Process.Kill()
		<-m.done
	}
	m.agent = nil
	m.client.forget()
	return nil
}

// close powers off and removes the machine's namespace.
func (m *Machine) close() error {
	err := m.PowerOff()
	if _, serr := os.Stat(netnsPath(m.netns)); serr == nil {
		err = errors.Join(err, ip("", "netns del "+m.netns))
	}
	return err
}

// Listen listens inside the machine's network namespace, for servers the
// test runs in-process as if on the machine.
func (m *Machine) Listen(network, addr string) (net.Listener, error) {
	return listenIn(m.netns, network, addr)
}

// DialContext dials from inside the machine's network namespace (to
// reach its 127.0.0.1, for instance).
func (m *Machine) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return dialIn(ctx, m.netns, network, addr)
}

// WriteFile writes a file inside the machine (through its overlay),
// creating parent directories.
func (m *Machine) WriteFile(path string, data []byte, mode os.FileMode) error {
	return m.client.call(context.Background(), "/write-file", fileRequest{Path: path, Data: data, Mode: uint32(mode.Perm())}, nil)
}

// ReadFile reads a file inside the machine.
func (m *Machine) ReadFile(path string) ([]byte, error) {
	var resp fileRequest
	if err := m.client.call(context.Background(), "/read-file", fileRequest{Path: path}, &resp); err != nil {
		return nil, err
	}
	return resp.Data, nil
}

// Path returns the host path of p in the machine's upper layer: what the
// machine changed, readable after it is powered off. p must be under one
// of the overlaid directories; files the machine did not change are not
// there (read them with ReadFile).
func (m *Machine) Path(p string) string {
	for _, d := range overlayDirs {
		if p == d || strings.HasPrefix(p, d+"/") {
			base := strings.ReplaceAll(strings.Trim(d, "/"), "/", "_")
			return filepath.Join(m.state, "fs", base, "upper", strings.TrimPrefix(p, d))
		}
	}
	return p // not overlaid: the same file as on the host
}

// ServiceLog returns what a unit's processes wrote (and the manager's
// notes about them), across reboots.
func (m *Machine) ServiceLog(unit string) string {
	data, _ := os.ReadFile(filepath.Join(m.state, "journal", unitName(unit)+".log"))
	return string(data)
}

// Systemctl runs the systemctl stand-in as a hook would.
func (m *Machine) Systemctl(ctx context.Context, args ...string) (Result, error) {
	var resp runResponse
	err := m.client.call(ctx, "/systemctl", systemctlRequest{Args: args}, &resp)
	return Result(resp), err
}

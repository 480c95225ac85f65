package machine

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Main is the simmachine binary. It is three programs by name: the
// machine agent ("simmachine agent"), the exec wrapper it runs services
// through ("simmachine exec-wrapper"), and, when called as "systemctl",
// the systemctl stand-in that talks to the agent of its machine.
func Main(args []string) int {
	switch filepath.Base(args[0]) {
	case "systemctl":
		return systemctlMain(args[1:])
	case "journalctl":
		return journalctlMain(args[1:])
	}
	if len(args) > 1 {
		switch args[1] {
		case "agent":
			return agentMain(args[2:])
		case "exec-wrapper":
			return wrapperMain(args[2:])
		}
	}
	fmt.Fprintln(os.Stderr, "usage: simmachine agent|exec-wrapper ... (or run as systemctl)")
	return 2
}

// overlayDirs are the directories a machine gets its own copy of.
// /tmp, /proc, /sys and /dev stay shared (proc is remounted for the
// machine's PID namespace).
var overlayDirs = []string{"/etc", "/srv", "/opt", "/var", "/usr/local", "/root", "/run"}

// agent is PID 1 of a machine: it owns its mounts, runs what the test
// asks, and is the machine's service manager.
type agent struct {
	state  string // the machine's state dir (host path, visible inside)
	reaper *reaper
	mgr    *manager

	mu      sync.Mutex
	daemons map[int]*proc
}

// agentMain runs in fresh mount, PID and UTS namespaces, inside the
// machine's network namespace; the Machine started it so. Readiness (or
// the reason for failing) is written to fd 3.
func agentMain(args []string) int {
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	state := fs.String("state", "", "machine state directory")
	name := fs.String("name", "", "machine host name")
	if err := fs.Parse(args); err != nil || *state == "" {
		return 2
	}
	// Inherited descriptors are not close-on-exec: without this, every
	// service started at boot would hold the readiness pipe open.
	unix.CloseOnExec(3)
	ready := os.NewFile(3, "ready")
	a, ls, err := startAgent(*state, *name)
	if err != nil {
		fmt.Fprintf(ready, "error: %v\n", err)
		return 1
	}
	a.mgr.boot()
	fmt.Fprintln(ready, "ready")
	ready.Close()
	srv := &http.Server{Handler: a.handler()}
	for _, l := range ls[1:] {
		go srv.Serve(l)
	}
	err = srv.Serve(ls[0])
	fmt.Fprintf(os.Stderr, "simmachine: %v\n", err)
	return 1
}

func startAgent(state, name string) (*agent, []net.Listener, error) {
	if os.Getpid() != 1 {
		return nil, nil, errors.New("cannot run the agent outside a new PID namespace")
	}
	if err := setupMounts(state); err != nil {
		return nil, nil, err
	}
	if name != "" {
		if err := setHostname(name); err != nil {
			return nil, nil, err
		}
	}
	self, err := os.Executable()
	if err != nil {
		return nil, nil, fmt.Errorf("cannot find own binary: %w", err)
	}
	a := &agent{state: state, reaper: newReaper(), daemons: map[int]*proc{}}
	logDir := filepath.Join(state, "journal")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("cannot create %s: %w", logDir, err)
	}
	a.mgr = newManager(a.reaper, logDir, self)
	ls, err := listenControl(state)
	return a, ls, err
}

// listenControl listens on the state dir socket (for the test) and on
// the abstract socket private to the machine's network namespace (for
// systemctl, which gets no hint of where it runs).
func listenControl(state string) ([]net.Listener, error) {
	sock := filepath.Join(state, "agent.sock")
	os.Remove(sock)
	l1, err := net.Listen("unix", sock)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s: %w", sock, err)
	}
	l2, err := net.Listen("unix", abstractSocket)
	if err != nil {
		l1.Close()
		return nil, fmt.Errorf("cannot listen on %s: %w", abstractSocket, err)
	}
	return []net.Listener{l1, l2}, nil
}

// setupMounts gives the machine its own view of the file system: private
// propagation, no references to other machines' network namespaces,
// overlays whose upper layers live in the state dir (so they survive a
// reboot), and a /proc for its PID namespace.
func setupMounts(state string) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("cannot make / private: %w", err)
	}
	detachUnder("/run/netns")
	for _, d := range overlayDirs {
		if err := overlay(state, d); err != nil {
			return err
		}
	}
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("cannot mount /proc: %w", err)
	}
	return nil
}

func overlay(state, dir string) error {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil
	}
	base := filepath.Join(state, "fs", strings.ReplaceAll(strings.Trim(dir, "/"), "/", "_"))
	upper, work := filepath.Join(base, "upper"), filepath.Join(base, "work")
	fresh := false
	if _, err := os.Stat(upper); os.IsNotExist(err) {
		fresh = true
	}
	for _, d := range []string{upper, work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("cannot create %s: %w", d, err)
		}
	}
	if fresh && dir == "/etc" {
		if err := opaqueDir(filepath.Join(upper, "systemd", "system")); err != nil {
			return err
		}
	}
	if fresh {
		if err := freshen(dir, upper); err != nil {
			return err
		}
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", dir, upper, work)
	if err := unix.Mount("overlay", dir, "overlay", 0, opts); err != nil {
		return fmt.Errorf("cannot mount overlay on %s: %w", dir, err)
	}
	return nil
}

// opaqueDir hides the host's units (and their enablement links) from the
// machine: it boots with only what its charm installs.
func opaqueDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cannot create %s: %w", dir, err)
	}
	if err := unix.Setxattr(dir, "trusted.overlay.opaque", []byte("y"), 0); err != nil {
		return fmt.Errorf("cannot make %s opaque: %w", dir, err)
	}
	return nil
}

// detachUnder lazily unmounts every mount at or below dir, deepest first.
func detachUnder(dir string) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var points []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && (fields[4] == dir || strings.HasPrefix(fields[4], dir+"/")) {
			points = append(points, fields[4])
		}
	}
	f.Close()
	for i := len(points) - 1; i >= 0; i-- {
		unix.Unmount(points[i], unix.MNT_DETACH)
	}
}

// setHostname names the machine, in the kernel and in its /etc, so that
// it resolves its own name as an Ubuntu machine does (127.0.1.1).
func setHostname(name string) error {
	if err := unix.Sethostname([]byte(name)); err != nil {
		return fmt.Errorf("cannot set host name: %w", err)
	}
	if err := os.WriteFile("/etc/hostname", []byte(name+"\n"), 0o644); err != nil {
		return fmt.Errorf("cannot write /etc/hostname: %w", err)
	}
	hosts, _ := os.ReadFile("/etc/hosts")
	entry := "127.0.1.1\t" + name + "\n"
	if strings.Contains(string(hosts), entry) {
		return nil
	}
	if err := os.WriteFile("/etc/hosts", append(hosts, entry...), 0o644); err != nil {
		return fmt.Errorf("cannot write /etc/hosts: %w", err)
	}
	return nil
}

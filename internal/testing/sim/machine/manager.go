package machine

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// unitDir is the only place units are loaded from. The machine's overlay
// makes it opaque, so units the host has installed (docker, haproxy...)
// are not seen, let alone started at boot.
const unitDir = "/etc/systemd/system"

// manager is the systemd stand-in: it loads the unit files the charm
// wrote and supervises one main process per service.
type manager struct {
	reaper  *reaper
	logDir  string // host-visible directory of per-unit logs
	wrapper string // this binary, run as "exec-wrapper"

	jobs  sync.Mutex // serialises every state change (systemd's job queue)
	mu    sync.Mutex // guards units, held briefly
	units map[string]*unitState
}

// unitState is the runtime state of one unit, apart from its definition.
type unitState struct {
	name       string
	unit       *Unit  // nil when no file was found
	loadErr    error  // why the file could not be parsed
	active     string // inactive, activating, active, deactivating, failed
	sub        string // dead, running, exited, auto-restart, listening, failed
	main       *proc
	nrestarts  int
	gen        int // bumped by every explicit start/stop; stale timers give up
	result     string
	exitCode   int
	since      time.Time
	status     string      // STATUS= from sd_notify
	starts     []time.Time // recent automatic restarts, for the start limit
	listeners  []*os.File
	watch      *socketWatch
	invocation string // INVOCATION_ID of the current activation
}

func newManager(r *reaper, logDir, wrapper string) *manager {
	return &manager{reaper: r, logDir: logDir, wrapper: wrapper, units: map[string]*unitState{}}
}

// unitName adds ".service" to a bare name, as systemctl does.
func unitName(name string) string {
	if strings.Contains(name, ".") && filepath.Ext(name) != "" {
		switch filepath.Ext(name) {
		case ".service", ".socket", ".target", ".timer", ".mount", ".path":
			return name
		}
	}
	return name + ".service"
}

// get returns the state of name, loading its file on first use as
// systemd loads units on demand.
func (m *manager) get(name string) *unitState {
	m.mu.Lock()
	defer m.mu.Unlock()
	us := m.units[name]
	if us == nil {
		us = &unitState{name: name, active: "inactive", sub: "dead"}
		m.units[name] = us
		us.unit, us.loadErr = loadUnit(name)
	}
	return us
}

func loadUnit(name string) (*Unit, error) {
	data, err := os.ReadFile(filepath.Join(unitDir, name))
	if err != nil {
		return nil, err
	}
	return ParseUnit(name, data)
}

// daemonReload re-reads every unit file; running processes carry on.
func (m *manager) daemonReload() {
	m.jobs.Lock()
	defer m.jobs.Unlock()
	names := map[string]bool{}
	entries, _ := os.ReadDir(unitDir)
	for _, e := range entries {
		if !e.IsDir() {
			names[e.Name()] = true
		}
	}
	m.mu.Lock()
	for n := range m.units {
		names[n] = true
	}
	m.mu.Unlock()
	for n := range names {
		u, err := loadUnit(n)
		us := m.get(n)
		m.mu.Lock()
		us.unit, us.loadErr = u, err
		m.mu.Unlock()
	}
}

func (m *manager) setState(us *unitState, active, sub string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if us.active != active {
		us.since = time.Now()
	}
	us.active, us.sub = active, sub
}

// start starts a unit and what it Requires/Wants. Callers hold m.jobs.
func (m *manager) start(name string, seen map[string]bool) error {
	if seen[name] {
		return nil
	}
	seen[name] = true
	us := m.get(name)
	if us.unit == nil {
		if strings.HasSuffix(name, ".target") {
			return nil
		}
		return fmt.Errorf("Unit %s not found.", name)
	}
	deps := append(append([]string(nil), us.unit.Requires...), us.unit.Wants...)
	deps = append(deps, us.unit.Service.Sockets...)
	for _, d := range deps {
		if err := m.start(d, seen); err != nil && contains(us.unit.Requires, d) {
			return fmt.Errorf("dependency %s failed: %w", d, err)
		}
	}
	m.mu.Lock()
	us.gen++
	m.mu.Unlock()
	if us.unit.Kind == "socket" {
		return m.startSocket(us)
	}
	return m.startService(us)
}

// stop stops a unit, and first the active units that Require= it, as
// systemd propagates a stop. Callers hold m.jobs.
func (m *manager) stop(name string) error {
	us := m.get(name)
	if us.unit == nil && !strings.HasSuffix(name, ".target") {
		return fmt.Errorf("Unit %s not loaded.", name)
	}
	for _, r := range m.activeRequirers(name) {
		if err := m.stop(r); err != nil {
			return err
		}
	}
	m.mu.Lock()
	us.gen++
	m.mu.Unlock()
	if us.unit != nil && us.unit.Kind == "socket" {
		m.stopSocket(us)
		return nil
	}
	return m.stopService(us)
}

// restart restarts a unit and the active units that Require= it.
func (m *manager) restart(name string) error {
	requirers := m.activeRequirers(name)
	if err := m.stop(name); err != nil {
		return err
	}
	if err := m.start(name, map[string]bool{}); err != nil {
		return err
	}
	for _, r := range requirers {
		if err := m.start(r, map[string]bool{}); err != nil {
			return err
		}
	}
	return nil
}

// activeRequirers lists the running units whose Requires= names name.
func (m *manager) activeRequirers(name string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for n, us := range m.units {
		if us.unit != nil && contains(us.unit.Requires, name) && (us.active == "active" || us.main != nil) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// boot starts every unit linked into a .wants or .requires directory:
// sockets first, then services in After= order.
func (m *manager) boot() {
	m.jobs.Lock()
	defer m.jobs.Unlock()
	var names []string
	dirs, _ := filepath.Glob(filepath.Join(unitDir, "*.wants"))
	reqs, _ := filepath.Glob(filepath.Join(unitDir, "*.requires"))
	for _, d := range append(dirs, reqs...) {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			names = append(names, e.Name())
		}
	}
	for _, n := range m.bootOrder(names) {
		if err := m.start(n, map[string]bool{}); err != nil {
			fmt.Fprintf(os.Stderr, "simmachine: boot: cannot start %s: %v\n", n, err)
		}
	}
}

// bootOrder puts sockets first (so services find their sockets), then
// orders by After=/Before= among the units booted, by name otherwise.
func (m *manager) bootOrder(names []string) []string {
	sort.Strings(names)
	names = dedupe(names)
	after := map[string][]string{} // unit -> units it must follow
	for _, n := range names {
		if u := m.get(n).unit; u != nil {
			after[n] = append(after[n], u.After...)
			for _, b := range u.Before {
				after[b] = append(after[b], n)
			}
		}
	}
	var order []string
	done := map[string]bool{}
	var visit func(n string, path map[string]bool)
	visit = func(n string, path map[string]bool) {
		if done[n] || path[n] { // a cycle: systemd breaks it too
			return
		}
		path[n] = true
		for _, a := range after[n] {
			if contains(names, a) {
				visit(a, path)
			}
		}
		done[n] = true
		order = append(order, n)
	}
	for _, kind := range []string{".socket", ""} {
		for _, n := range names {
			if kind == "" || strings.HasSuffix(n, kind) {
				visit(n, map[string]bool{})
			}
		}
	}
	return order
}

func dedupe(sorted []string) []string {
	out := sorted[:0]
	for i, s := range sorted {
		if i == 0 || s != sorted[i-1] {
			out = append(out, s)
		}
	}
	return out
}

// shutdown kills every process and closes every socket, as at power-off.
func (m *manager) shutdown() {
	m.jobs.Lock()
	defer m.jobs.Unlock()
	m.mu.Lock()
	for _, us := range m.units {
		us.gen++
		for _, l := range us.listeners {
			l.Close()
		}
		us.listeners = nil
	}
	m.mu.Unlock()
	m.reaper.killAll()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// waitOrKill waits for p up to timeout, then kills its group.
func waitOrKill(p *proc, timeout time.Duration) {
	if timeout <= 0 {
		timeout = DefaultTimeoutStopSec
	}
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.signal(unix.SIGKILL, true)
		<-p.done
	}
}

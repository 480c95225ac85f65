package sim

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

// Status is a workload or application status.
type Status struct {
	Name    string         // maintenance, blocked, waiting, active, unknown, error
	Message string         // free text
	Data    map[string]any // status-data; Juju fills it only for error
	Since   time.Time
}

func (s Status) clone() Status {
	s.Data = maps.Clone(s.Data)
	return s
}

// LogLine is one juju-log call.
type LogLine struct {
	Level   string // DEBUG, INFO, WARNING, ERROR, ...
	Message string // with the "<endpoint>:<id>: " prefix in relation hooks
	Hook    string // the hook or action that logged it
}

// unit is one unit of the application under test.
type unit struct {
	name    string
	address string
	machine string
	status  Status
	// charmStatus: the charm has called status-set, so the agent no longer
	// sets the workload status itself.
	charmStatus bool
	version     string
	ports       []string // committed, "5000/tcp", sorted
	logs        []LogLine
	state       map[string]string // charm state (state-set)
	storage     []string          // storage instance ids
	failed      *HookRun          // the hook that put the unit in error state
	failedEv    Event             // and its event, for Resolve
	removed     bool
}

// Unit is a handle on one unit for reading its state in tests.
type Unit struct {
	m    *Model
	name string
}

// Unit returns a handle on a unit of ours; it reads live state.
func (m *Model) Unit(name string) Unit { return Unit{m: m, name: name} }

func (u Unit) with(f func(*unit)) {
	u.m.mu.Lock()
	defer u.m.mu.Unlock()
	if st, ok := u.m.units[u.name]; ok {
		f(st)
	}
}

// Name is the unit's name.
func (u Unit) Name() string { return u.name }

// Exists says whether the unit was added and not removed.
func (u Unit) Exists() bool {
	ok := false
	u.with(func(s *unit) { ok = !s.removed })
	return ok
}

// Status is the unit's workload status; "error" while a hook failure is
// unresolved, as juju status shows it.
func (u Unit) Status() Status {
	var s Status
	u.with(func(st *unit) {
		s = st.status.clone()
		if st.failed != nil {
			s = Status{Name: "error", Message: fmt.Sprintf("hook failed: %q", st.failed.Hook), Since: s.Since}
		}
	})
	return s
}

// WorkloadVersion is the last application-version-set by this unit.
func (u Unit) WorkloadVersion() string {
	var v string
	u.with(func(st *unit) { v = st.version })
	return v
}

// OpenedPorts are the committed open ports, e.g. ["5000/tcp"].
func (u Unit) OpenedPorts() []string {
	var p []string
	u.with(func(st *unit) { p = slices.Clone(st.ports) })
	return p
}

// Logs are the unit's juju-log lines, oldest first.
func (u Unit) Logs() []LogLine {
	var l []LogLine
	u.with(func(st *unit) { l = slices.Clone(st.logs) })
	return l
}

// State is the unit's committed charm state (state-set).
func (u Unit) State() map[string]string {
	var s map[string]string
	u.with(func(st *unit) { s = maps.Clone(st.state) })
	return s
}

// Address is the unit's private (and ingress) address.
func (u Unit) Address() string {
	var a string
	u.with(func(st *unit) { a = st.address })
	return a
}

// Storage lists the unit's attached storage ids, e.g. ["registry-data/0"].
func (u Unit) Storage() []string {
	var s []string
	u.with(func(st *unit) { s = slices.Clone(st.storage) })
	return s
}

// IsLeader says whether the unit holds leadership.
func (u Unit) IsLeader() bool {
	u.m.mu.Lock()
	defer u.m.mu.Unlock()
	return u.m.leader == u.name
}

// Failed is the hook that put the unit in error state, or nil.
func (u Unit) Failed() *HookRun {
	var h *HookRun
	u.with(func(st *unit) {
		if st.failed != nil {
			c := *st.failed
			h = &c
		}
	})
	return h
}

// SetAddress changes the unit's address and, as Juju does, the address
// keys of its bags in every relation. Juju then fires config-changed:
// call SetConfig(ctx, nil) for that.
func (u Unit) SetAddress(addr string) {
	u.with(func(st *unit) {
		st.address = addr
		for _, r := range u.m.relations {
			if _, ok := r.unitData[u.name]; ok && !r.removed {
				r.seed(u.name, addr)
			}
		}
	})
}

// storageInstance is one attached storage instance of a unit.
type storageInstance struct {
	id       string // "registry-data/0"
	name     string // "registry-data"
	kind     string // filesystem or block
	location string
	unit     string
}

// SetUnitStatus sets the unit's workload status from outside the charm,
// as the unit agent does around some hooks (juju's uniter,
// operation/runhook.go: "installing charm software" before install,
// "stopping charm software" before stop): a charm must not assume the
// status it set last is what Juju shows.
func (m *Model) SetUnitStatus(unitName string, s Status) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if u, ok := m.units[unitName]; ok {
		if s.Since.IsZero() {
			s.Since = m.opts.Now()
		}
		u.status = s
	}
}

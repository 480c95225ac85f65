package sim

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// HookRun records one hook or action that ran (or could not run).
type HookRun struct {
	Unit          string
	Hook          string // hook name, or action name when Action
	Action        bool
	Relation      string // "cert-provider:5" for relation hooks
	RemoteUnit    string
	RemoteApp     string
	DepartingUnit string
	Storage       string
	ContextID     string
	ExitCode      int
	Stderr        string // the charm's stderr, kept to explain failures
}

func (h HookRun) String() string {
	s := h.Unit + " " + h.Hook
	if h.RemoteUnit != "" {
		s += " (" + h.RemoteUnit + ")"
	}
	return s
}

// HookError is a hook that exited non-zero: the unit is in error state
// until Resolve.
type HookError struct{ Run HookRun }

func (e *HookError) Error() string {
	msg := strings.TrimSpace(e.Run.Stderr)
	if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
		msg = msg[i+1:]
	}
	err := fmt.Sprintf("hook %q failed on %s: exit status %d", e.Run.Hook, e.Run.Unit, e.Run.ExitCode)
	if msg != "" {
		err += ": " + msg
	}
	return err
}

// Hooks returns the hooks run since mark (0 for all), in order.
func (m *Model) Hooks(since int) []HookRun {
	m.mu.Lock()
	defer m.mu.Unlock()
	if since > len(m.hooks) {
		return nil
	}
	return slices.Clone(m.hooks[since:])
}

// HookMark is the number of hooks run so far.
func (m *Model) HookMark() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.hooks)
}

// HookNames lists the hook names of runs on unit ("" for every unit), with
// the remote unit in parentheses when there is one: handy for asserting
// Juju's order.
func HookNames(runs []HookRun, unit string) []string {
	var out []string
	for _, h := range runs {
		if unit == "" || h.Unit == unit {
			out = append(out, h.String()[len(h.Unit)+1:])
		}
	}
	return out
}

// runHook runs one hook on unit through the executor, then commits or
// discards its changes by exit code and queues what they trigger.
func (m *Model) runHook(ctx context.Context, unitName string, ev Event) error {
	m.mu.Lock()
	m.beforeHook(unitName, ev)
	hc, err := m.newHookContext(unitName, ev)
	if err == nil {
		m.agentStatus(unitName, ev.Hook, false)
	}
	m.mu.Unlock()
	if err != nil {
		return err
	}
	res, err := m.dispatch(ctx, hc)
	run := hc.record(res)
	if err != nil {
		hc.Discard()
		run.ExitCode, run.Stderr = -1, err.Error()
		m.endHook(hc, run, nil)
		return fmt.Errorf("cannot run hook %q on %s: %w", ev.Hook, unitName, err)
	}
	if res.ExitCode != 0 {
		hc.Discard()
		m.endHook(hc, run, nil)
		return &HookError{Run: run}
	}
	changes := hc.Commit()
	m.mu.Lock()
	m.agentStatus(unitName, ev.Hook, true)
	m.mu.Unlock()
	m.endHook(hc, run, changes)
	return m.notify(ctx, changes)
}

func (m *Model) dispatch(ctx context.Context, hc *HookContext) (Result, error) {
	m.mu.Lock()
	e := m.opts.Executor
	m.mu.Unlock()
	if e == nil {
		return Result{}, errors.New("no Executor in the model's Options")
	}
	ctx = context.WithValue(ctx, modelKey{}, m)
	return e.Dispatch(ctx, hc.unit, hc.Env())
}

func (hc *HookContext) record(res Result) HookRun {
	ev := hc.ev
	return HookRun{Unit: hc.unit, Hook: ev.Name(), Action: ev.Action != "", Relation: ev.Relation,
		RemoteUnit: ev.RemoteUnit, RemoteApp: ev.RemoteApp, DepartingUnit: ev.DepartingUnit,
		Storage: ev.Storage, ContextID: hc.id, ExitCode: res.ExitCode, Stderr: string(res.Stderr)}
}

// endHook records the run, puts a failed unit in error state and queues
// the hooks its immediate and committed changes cause on other units.
func (m *Model) endHook(hc *HookContext, run HookRun, changes []RelationChange) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hooks = append(m.hooks, run)
	if run.ExitCode != 0 && !run.Action {
		r := run
		m.units[hc.unit].failed, m.units[hc.unit].failedEv = &r, hc.ev
	}
	if hc.leaderChanged {
		for _, u := range m.liveUnits() {
			if u != m.leader {
				m.enqueue(u, Event{Hook: "leader-settings-changed"})
			}
		}
	}
	for _, ch := range changes {
		if ch.Peer {
			m.queuePeerChanged(ch)
		}
	}
}

// queuePeerChanged: a peer hears of another unit's write through
// -changed; app bag writes reach every other unit with no remote unit.
func (m *Model) queuePeerChanged(ch RelationChange) {
	r := m.relations[ch.RelationID]
	for _, u := range m.liveUnits() {
		if u == ch.Unit || r.broken[u] {
			continue
		}
		ev := Event{Hook: r.endpoint + "-relation-changed", Relation: r.key(), RemoteApp: m.app}
		switch {
		case ch.App && r.created[u]:
			m.enqueue(u, ev)
		case !ch.App && r.joined[u][ch.Unit]:
			ev.RemoteUnit = ch.Unit
			m.enqueue(u, ev)
		}
	}
}

// agentStatus sets the workload statuses the unit agent sets while the
// charm has not set one itself: "installing charm software" before
// install, "unknown" once start succeeded (juju PRs 1985, 7370).
func (m *Model) agentStatus(unitName, hook string, after bool) {
	u := m.units[unitName]
	if u.charmStatus {
		return
	}
	switch {
	case hook == "install" && !after:
		u.status = Status{Name: "maintenance", Message: "installing charm software", Since: m.opts.Now()}
	case hook == "start" && after:
		u.status = Status{Name: "unknown", Since: m.opts.Now()}
	}
}

// beforeHook updates the unit's view of relation membership the way the
// uniter does before the hook runs: a joining unit is listed in -joined,
// a departing one is gone in -departed.
func (m *Model) beforeHook(unitName string, ev Event) {
	if ev.Relation == "" {
		return
	}
	r, err := m.relationByArg(ev.Relation)
	if err != nil {
		return
	}
	switch {
	case strings.HasSuffix(ev.Hook, "-relation-created"):
		r.created[unitName] = true
	case strings.HasSuffix(ev.Hook, "-relation-joined"):
		if r.joined[unitName] == nil {
			r.joined[unitName] = map[string]bool{}
		}
		r.joined[unitName][ev.RemoteUnit] = true
	case strings.HasSuffix(ev.Hook, "-relation-departed"):
		delete(r.joined[unitName], ev.RemoteUnit)
	case strings.HasSuffix(ev.Hook, "-relation-broken"):
		r.broken[unitName] = true
		delete(r.joined, unitName)
	}
}

// RelationWatcher reacts to our committed relation writes: the place for
// a simulated remote charm (easyrsa answering a certificate request). It
// may call SetRemoteData and friends; their hooks are queued behind the
// current ones, as Juju would run them.
type RelationWatcher func(ctx context.Context, ch RelationChange) error

// OnRelationChanged registers w for every committed change of our bags.
func (m *Model) OnRelationChanged(w RelationWatcher) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.watchers = append(m.watchers, w)
}

func (m *Model) notify(ctx context.Context, changes []RelationChange) error {
	m.mu.Lock()
	ws := slices.Clone(m.watchers)
	m.mu.Unlock()
	var errs []error
	for _, ch := range changes {
		for _, w := range ws {
			if err := w(ctx, ch); err != nil {
				errs = append(errs, fmt.Errorf("relation watcher on %s: %w", ch.Key, err))
			}
		}
	}
	return errors.Join(errs...)
}

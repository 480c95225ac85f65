package sim

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
)

// sequencer is the model's hook queue. Juju runs a unit's hooks one at a
// time in order; the simulator runs all units' hooks from one queue, so
// runs are deterministic. Hooks caused by other hooks (peer -changed,
// leader-settings-changed, a remote simulation's answer) queue behind.
type sequencer struct {
	queue    []queued
	draining bool
}

// queued is a hook to run on unit, or bookkeeping (fn) to do in order.
// Both wait while their unit is in error state, as Juju's uniter does.
type queued struct {
	unit string
	ev   Event
	fn   func() // called under the model lock
}

// enqueue adds a hook; the model lock is held.
func (m *Model) enqueue(unit string, ev Event) {
	m.seq.queue = append(m.seq.queue, queued{unit: unit, ev: ev})
}

// enqueueFn adds bookkeeping for unit ("" for none); the lock is held.
func (m *Model) enqueueFn(unit string, fn func()) {
	m.seq.queue = append(m.seq.queue, queued{unit: unit, fn: fn})
}

// run drains the queue and returns every hook failure joined. When called
// while draining (a RelationWatcher calling SetRemoteData), it returns at
// once: the outer drain runs the queued hooks.
func (m *Model) run(ctx context.Context) error {
	m.mu.Lock()
	if m.seq.draining {
		m.mu.Unlock()
		return nil
	}
	m.seq.draining = true
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.seq.draining = false
		m.mu.Unlock()
	}()
	var errs []error
	for {
		if err := ctx.Err(); err != nil {
			return errors.Join(append(errs, fmt.Errorf("cannot run hooks: %w", err))...)
		}
		q, ok := m.next()
		if !ok {
			return errors.Join(append(errs, m.blocked()...)...)
		}
		if q.fn != nil {
			continue // done by next
		}
		if err := m.runHook(ctx, q.unit, q.ev); err != nil {
			errs = append(errs, err)
		}
	}
}

// next pops the first item whose unit can run; bookkeeping is done here,
// under the lock. Hooks of removed units are dropped.
func (m *Model) next() (queued, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := 0; i < len(m.seq.queue); i++ {
		q := m.seq.queue[i]
		u := m.units[q.unit]
		if q.unit != "" && (u == nil || u.removed) {
			m.seq.queue = slices.Delete(m.seq.queue, i, i+1)
			i--
			continue
		}
		if u != nil && u.failed != nil {
			continue
		}
		m.seq.queue = slices.Delete(m.seq.queue, i, i+1)
		if q.fn != nil {
			q.fn()
		}
		return q, true
	}
	return queued{}, false
}

// blocked reports the units whose queued hooks wait for Resolve, so a
// sequence never looks done while hooks are held back.
func (m *Model) blocked() []error {
	m.mu.Lock()
	defer m.mu.Unlock()
	counts := map[string]int{}
	for _, q := range m.seq.queue {
		if q.fn == nil {
			counts[q.unit]++
		}
	}
	var errs []error
	for _, u := range slices.Sorted(maps.Keys(counts)) {
		errs = append(errs, fmt.Errorf("%s is in error state: %d queued hooks wait for Resolve", u, counts[u]))
	}
	return errs
}

// Pending lists the hooks queued but not run, e.g. behind a unit in error
// state.
func (m *Model) Pending() []HookRun {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []HookRun
	for _, q := range m.seq.queue {
		if q.fn == nil {
			out = append(out, HookRun{Unit: q.unit, Hook: q.ev.Name(), Relation: q.ev.Relation,
				RemoteUnit: q.ev.RemoteUnit, RemoteApp: q.ev.RemoteApp})
		}
	}
	return out
}

// Resolve clears the unit's error state, like `juju resolve`: with retry
// the failed hook runs again first; then the unit's queued hooks run.
func (m *Model) Resolve(ctx context.Context, unitName string, retry bool) error {
	m.mu.Lock()
	u := m.units[unitName]
	if u == nil || u.failed == nil {
		m.mu.Unlock()
		return fmt.Errorf("cannot resolve %s: unit is not in error state", unitName)
	}
	ev := u.failedEv
	u.failed = nil
	if retry {
		m.seq.queue = slices.Insert(m.seq.queue, 0, queued{unit: unitName, ev: ev})
	}
	m.mu.Unlock()
	return m.run(ctx)
}

// RunHook queues one hook on unit and runs the queue: for events the
// sequences do not cover.
func (m *Model) RunHook(ctx context.Context, unitName string, ev Event) error {
	m.mu.Lock()
	m.enqueue(unitName, ev)
	m.mu.Unlock()
	return m.run(ctx)
}

package sim

import (
	"maps"
	"slices"
)

// RelationChange is a committed change to one of our application's bags
// on a relation: what a remote charm (or a peer) would be told about.
type RelationChange struct {
	RelationID int
	Key        string // "cert-provider:5"
	Endpoint   string
	RemoteApp  string
	Peer       bool
	Unit       string            // our unit that wrote; set for app bags too
	App        bool              // the application bag changed, not Unit's
	Data       map[string]string // the whole bag after the change
}

// Commit applies the context's buffered changes, as Juju does when the
// hook exits 0, and returns the relation bags that really changed. The
// context is finished: its tools fail afterwards. Commit is idempotent.
func (hc *HookContext) Commit() []RelationChange {
	m := hc.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if hc.done {
		return nil
	}
	hc.finish()
	changes := hc.commitRelations()
	u := m.units[hc.unit]
	for _, op := range hc.ports {
		u.ports = applyPort(u.ports, op)
	}
	for k, v := range hc.stateSet {
		if u.state == nil {
			u.state = map[string]string{}
		}
		if v == nil {
			delete(u.state, k)
		} else {
			u.state[k] = *v
		}
	}
	return changes
}

// Discard drops the buffered changes, as Juju does when the hook fails.
// Immediate effects (status-set, leader-set, juju-log, action-log) stay.
func (hc *HookContext) Discard() {
	hc.m.mu.Lock()
	defer hc.m.mu.Unlock()
	hc.finish()
}

func (hc *HookContext) finish() {
	hc.done = true
	delete(hc.m.contexts, hc.id)
}

func (hc *HookContext) commitRelations() []RelationChange {
	var out []RelationChange
	for _, id := range slices.Sorted(maps.Keys(hc.relWrites)) {
		r, w := hc.m.relations[id], hc.relWrites[id]
		if w.unit != nil && applyBag(r.unitData, hc.unit, w.unit) {
			out = append(out, hc.change(r, false, r.unitData[hc.unit]))
		}
		if w.app != nil && applyBag(r.appData, hc.m.app, w.app) {
			out = append(out, hc.change(r, true, r.appData[hc.m.app]))
		}
	}
	return out
}

func (hc *HookContext) change(r *relation, app bool, bag map[string]string) RelationChange {
	return RelationChange{RelationID: r.id, Key: r.key(), Endpoint: r.endpoint,
		RemoteApp: r.remoteApp, Peer: r.peer, Unit: hc.unit, App: app, Data: maps.Clone(bag)}
}

// applyBag writes w into bags[owner] ("" deletes) and reports a change.
func applyBag(bags map[string]map[string]string, owner string, w map[string]string) bool {
	bag := bags[owner]
	if bag == nil {
		bag = map[string]string{}
		bags[owner] = bag
	}
	before := maps.Clone(bag)
	overlay(bag, w)
	return !maps.Equal(before, bag)
}

// overlay applies relation-set semantics: an empty value deletes.
func overlay(bag, w map[string]string) {
	for k, v := range w {
		if v == "" {
			delete(bag, k)
		} else {
			bag[k] = v
		}
	}
}

func applyPort(ports []string, op portOp) []string {
	i := slices.Index(ports, op.port)
	switch {
	case op.open && i < 0:
		ports = append(ports, op.port)
		slices.SortFunc(ports, comparePorts)
	case !op.open && i >= 0:
		ports = slices.Delete(ports, i, i+1)
	}
	return ports
}

package sim

import (
	"context"
	"fmt"
	"slices"
)

// Relate integrates our endpoint with remoteApp, whose units the test
// declares, and returns the relation id. Each of our units runs
// -relation-created, then -joined and -changed for every remote unit.
func (m *Model) Relate(ctx context.Context, endpoint, remoteApp string, units ...RemoteUnit) (int, error) {
	m.mu.Lock()
	r, err := m.newRelation(endpoint, remoteApp)
	if err != nil {
		m.mu.Unlock()
		return -1, err
	}
	for _, ru := range units {
		if err := m.addRemoteUnit(r, ru); err != nil {
			m.mu.Unlock()
			return -1, err
		}
	}
	m.relations[r.id] = r
	for _, u := range m.liveUnits() {
		r.seed(u, m.units[u].address)
		m.enqueue(u, Event{Hook: endpoint + "-relation-created", Relation: r.key()})
		for _, ru := range r.remoteUnits {
			m.queueJoin(u, r, ru)
		}
	}
	m.mu.Unlock()
	return r.id, m.run(ctx)
}

func (m *Model) newRelation(endpoint, remoteApp string) (*relation, error) {
	meta := m.ch.Meta()
	spec, ok := meta.Provides[endpoint]
	if !ok {
		spec, ok = meta.Requires[endpoint]
	}
	if !ok {
		return nil, fmt.Errorf("cannot relate %s:%s: no such provides or requires endpoint", m.app, endpoint)
	}
	if remoteApp == "" || remoteApp == m.app {
		return nil, fmt.Errorf("cannot relate %s:%s to %q: not a remote application", m.app, endpoint, remoteApp)
	}
	if len(m.units) == 0 {
		return nil, fmt.Errorf("cannot relate %s:%s: deploy first", m.app, endpoint)
	}
	r := newRelation(m.nextRelID, endpoint, spec.Interface, remoteApp, false)
	r.since = m.opts.Now()
	m.nextRelID++
	if m.remoteApps[remoteApp] == nil {
		m.remoteApps[remoteApp] = &remoteApplication{name: remoteApp, units: map[string]string{}}
	}
	return r, nil
}

// addRemoteUnit puts a remote unit in r with its seeded bag; the lock is
// held.
func (m *Model) addRemoteUnit(r *relation, ru RemoteUnit) error {
	if appOf(ru.Name) != r.remoteApp || unitNumber(ru.Name) < 0 {
		return fmt.Errorf("cannot add %q to %s: not a unit of %s", ru.Name, r.key(), r.remoteApp)
	}
	if slices.Contains(r.remoteUnits, ru.Name) {
		return fmt.Errorf("cannot add %q to %s: already there", ru.Name, r.key())
	}
	app := m.remoteApps[r.remoteApp]
	addr := ru.Address
	if addr == "" {
		addr = app.units[ru.Name]
	}
	if addr == "" {
		addr = fmt.Sprintf("127.0.20.%d", m.remoteAddrs()+1)
	}
	app.units[ru.Name] = addr
	r.seed(ru.Name, addr)
	overlay(r.unitData[ru.Name], ru.Data)
	r.remoteUnits = append(r.remoteUnits, ru.Name)
	slices.SortFunc(r.remoteUnits, compareUnits)
	return nil
}

func (m *Model) remoteAddrs() int {
	n := 0
	for _, a := range m.remoteApps {
		n += len(a.units)
	}
	return n
}

// liveRelation finds a relation that is not removed; the lock is held.
func (m *Model) liveRelation(id int) (*relation, error) {
	r := m.relations[id]
	if r == nil || r.removed {
		return nil, fmt.Errorf("relation %d not found", id)
	}
	return r, nil
}

// SetRemoteData changes a remote unit's bag (an empty value deletes) and,
// if it changed, runs -changed on our units that have seen it join.
func (m *Model) SetRemoteData(ctx context.Context, relID int, remoteUnit string, data map[string]string) error {
	m.mu.Lock()
	r, err := m.liveRelation(relID)
	if err == nil && (r.peer || !slices.Contains(r.remoteUnits, remoteUnit)) {
		err = fmt.Errorf("%q is not a remote unit of %s", remoteUnit, r.key())
	}
	if err != nil {
		m.mu.Unlock()
		return fmt.Errorf("cannot set remote data: %w", err)
	}
	if applyBag(r.unitData, remoteUnit, data) {
		for _, u := range m.liveUnits() {
			if r.joined[u][remoteUnit] {
				m.enqueue(u, Event{Hook: r.endpoint + "-relation-changed", Relation: r.key(),
					RemoteUnit: remoteUnit, RemoteApp: r.remoteApp})
			}
		}
	}
	m.mu.Unlock()
	return m.run(ctx)
}

// SetRemoteAppData changes the remote application's bag and, if it
// changed, runs -changed with no remote unit on our units.
func (m *Model) SetRemoteAppData(ctx context.Context, relID int, data map[string]string) error {
	m.mu.Lock()
	r, err := m.liveRelation(relID)
	if err == nil && r.peer {
		err = fmt.Errorf("%s is a peer relation: the charm writes its app bag", r.key())
	}
	if err != nil {
		m.mu.Unlock()
		return fmt.Errorf("cannot set remote app data: %w", err)
	}
	if applyBag(r.appData, r.remoteApp, data) {
		for _, u := range m.liveUnits() {
			if r.created[u] && !r.broken[u] {
				m.enqueue(u, Event{Hook: r.endpoint + "-relation-changed", Relation: r.key(),
					RemoteApp: r.remoteApp})
			}
		}
	}
	m.mu.Unlock()
	return m.run(ctx)
}

// AddRemoteUnit adds a unit to the remote side of relation relID (the
// remote application scaled out): -joined and -changed on our units.
func (m *Model) AddRemoteUnit(ctx context.Context, relID int, ru RemoteUnit) error {
	m.mu.Lock()
	r, err := m.liveRelation(relID)
	if err == nil && r.peer {
		err = fmt.Errorf("%s is a peer relation: use AddUnit", r.key())
	}
	if err == nil {
		err = m.addRemoteUnit(r, ru)
	}
	if err != nil {
		m.mu.Unlock()
		return err
	}
	for _, u := range m.liveUnits() {
		if r.created[u] && !r.broken[u] {
			m.queueJoin(u, r, ru.Name)
		}
	}
	m.mu.Unlock()
	return m.run(ctx)
}

// RemoveRemoteUnit takes a unit out of the remote side: -departed on our
// units. Its data stays readable while the relation lives.
func (m *Model) RemoveRemoteUnit(ctx context.Context, relID int, remoteUnit string) error {
	m.mu.Lock()
	r, err := m.liveRelation(relID)
	if err == nil && !slices.Contains(r.remoteUnits, remoteUnit) {
		err = fmt.Errorf("%q is not a remote unit of %s", remoteUnit, r.key())
	}
	if err != nil {
		m.mu.Unlock()
		return fmt.Errorf("cannot remove remote unit: %w", err)
	}
	r.remoteUnits = slices.DeleteFunc(r.remoteUnits, func(s string) bool { return s == remoteUnit })
	for _, u := range m.liveUnits() {
		if r.joined[u][remoteUnit] {
			m.queueDepart(u, r, remoteUnit, remoteUnit)
		}
	}
	m.mu.Unlock()
	return m.run(ctx)
}

func (m *Model) queueDepart(unitName string, r *relation, remote, departing string) {
	m.enqueue(unitName, Event{Hook: r.endpoint + "-relation-departed", Relation: r.key(),
		RemoteUnit: remote, RemoteApp: appOf(remote), DepartingUnit: departing})
}

// Unrelate removes relation relID: on each of our units, -departed for
// every remote unit, then -broken. Afterwards relation-ids omits it.
func (m *Model) Unrelate(ctx context.Context, relID int) error {
	m.mu.Lock()
	r, err := m.liveRelation(relID)
	if err == nil && r.peer {
		err = fmt.Errorf("%s is a peer relation", r.key())
	}
	if err != nil {
		m.mu.Unlock()
		return fmt.Errorf("cannot remove relation: %w", err)
	}
	for _, u := range m.liveUnits() {
		for _, ru := range r.members(u) {
			m.queueDepart(u, r, ru, ru)
		}
		if r.created[u] {
			m.enqueue(u, Event{Hook: r.endpoint + "-relation-broken", Relation: r.key(), RemoteApp: r.remoteApp})
		}
	}
	m.enqueueFn("", func() { r.removed, r.remoteUnits = true, nil })
	m.mu.Unlock()
	return m.run(ctx)
}

// RemoveUnit removes one of our units (§4.2): on it, -departed for every
// member of each relation (JUJU_DEPARTING_UNIT is itself) and -broken for
// non-peer relations, then stop, storage-detaching, remove. Then its
// peers run -departed, and if it led, another unit is elected.
func (m *Model) RemoveUnit(ctx context.Context, name string) error {
	m.mu.Lock()
	if u := m.units[name]; u == nil || u.removed {
		m.mu.Unlock()
		return fmt.Errorf("cannot remove %s: no such unit", name)
	}
	for _, r := range m.liveRelations() {
		if !r.created[name] || r.broken[name] {
			continue
		}
		for _, ru := range r.members(name) {
			m.queueDepart(name, r, ru, name)
		}
		if !r.peer {
			m.enqueue(name, Event{Hook: r.endpoint + "-relation-broken", Relation: r.key(), RemoteApp: r.remoteApp})
		}
	}
	m.enqueue(name, Event{Hook: "stop"})
	for _, id := range m.units[name].storage {
		m.enqueue(name, Event{Hook: m.storage[id].name + "-storage-detaching", Storage: id})
	}
	m.enqueue(name, Event{Hook: "remove"})
	m.enqueueFn(name, func() { m.forgetUnit(name) })
	m.mu.Unlock()
	return m.run(ctx)
}

// forgetUnit marks a unit gone once its teardown ran, tells its peers and
// moves leadership; the lock is held.
func (m *Model) forgetUnit(name string) {
	m.units[name].removed = true
	for _, r := range m.liveRelations() {
		if !r.peer {
			continue
		}
		for _, u := range m.liveUnits() {
			if r.joined[u][name] {
				m.queueDepart(u, r, name, name)
			}
		}
	}
	if live := m.liveUnits(); m.leader == name {
		m.leader = ""
		if len(live) > 0 {
			m.elect(live[0])
		}
	}
}

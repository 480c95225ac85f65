package sim

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/juju/charm/v12"
)

// Deploy adds n units and runs Juju's deploy sequence on each (§4.2):
// storage-attached → install → -relation-created (peers) → leader-elected
// (leader) or leader-settings-changed → config-changed → start; then peer
// -joined/-changed between every pair when n > 1. The first unit leads.
func (m *Model) Deploy(ctx context.Context, n int) error {
	m.mu.Lock()
	if len(m.units) > 0 || n < 1 {
		m.mu.Unlock()
		return fmt.Errorf("cannot deploy %d units of %s: deploy once, with at least one unit", n, m.app)
	}
	m.createPeerRelations()
	var names []string
	for range n {
		names = append(names, m.addUnit())
	}
	m.leader = names[0]
	for _, u := range names {
		m.queueSetup(u)
	}
	m.queuePeerJoins(names)
	m.mu.Unlock()
	return m.run(ctx)
}

// AddUnit adds one unit, runs its setup sequence, joins it to its peers
// and to the existing relations' remote units, and returns its name.
func (m *Model) AddUnit(ctx context.Context) (string, error) {
	m.mu.Lock()
	if len(m.units) == 0 {
		m.mu.Unlock()
		return "", fmt.Errorf("cannot add a unit of %s: not deployed", m.app)
	}
	name := m.addUnit()
	m.queueSetup(name)
	m.queuePeerJoins([]string{name})
	for _, r := range m.liveRelations() {
		if r.peer {
			continue
		}
		for _, ru := range r.remoteUnits {
			m.queueJoin(name, r, ru)
		}
	}
	m.mu.Unlock()
	return name, m.run(ctx)
}

func (m *Model) createPeerRelations() {
	meta := m.ch.Meta()
	for _, ep := range slices.Sorted(maps.Keys(meta.Peers)) {
		r := newRelation(m.nextRelID, ep, meta.Peers[ep].Interface, m.app, true)
		r.since = m.opts.Now()
		m.relations[r.id] = r
		m.nextRelID++
	}
}

// addUnit creates a unit with its address, machine, storage, and its
// seeded bag in every relation; the lock is held.
func (m *Model) addUnit() string {
	n := m.nextUnit
	m.nextUnit++
	name := fmt.Sprintf("%s/%d", m.app, n)
	u := &unit{name: name, address: m.opts.UnitAddress(name), machine: strconv.Itoa(n),
		status: Status{Name: "waiting", Message: "agent initializing", Since: m.opts.Now()}}
	m.units[name] = u
	m.attachStorage(u)
	for _, r := range m.liveRelations() {
		r.seed(name, u.address)
	}
	return name
}

func (m *Model) attachStorage(u *unit) {
	stores := m.ch.Meta().Storage
	for _, sname := range slices.Sorted(maps.Keys(stores)) {
		st := stores[sname]
		count := max(st.CountMin, m.deployStorage[sname])
		if st.CountMax >= 0 {
			count = min(count, st.CountMax)
		}
		for range count {
			id := fmt.Sprintf("%s/%d", sname, m.nextStore[sname])
			m.nextStore[sname]++
			s := &storageInstance{id: id, name: sname, kind: string(st.Type), unit: u.name,
				location: st.Location}
			if st.Type == charm.StorageBlock {
				s.location = "/dev/loop" + strconv.Itoa(len(m.storage))
			}
			if m.opts.StorageLocation != nil {
				s.location = m.opts.StorageLocation(u.name, sname)
			}
			m.storage[id] = s
			u.storage = append(u.storage, id)
		}
	}
}

// queueSetup queues a new unit's hooks up to start.
func (m *Model) queueSetup(name string) {
	for _, id := range m.units[name].storage {
		m.enqueue(name, Event{Hook: m.storage[id].name + "-storage-attached", Storage: id})
	}
	m.enqueue(name, Event{Hook: "install"})
	for _, r := range m.liveRelations() {
		m.enqueue(name, Event{Hook: r.endpoint + "-relation-created", Relation: r.key()})
	}
	if m.leader == name {
		m.enqueue(name, Event{Hook: "leader-elected"})
	} else {
		m.enqueue(name, Event{Hook: "leader-settings-changed"})
	}
	m.enqueue(name, Event{Hook: "config-changed"})
	m.enqueue(name, Event{Hook: "start"})
}

// queuePeerJoins joins the new units with every other unit, both ways.
func (m *Model) queuePeerJoins(newUnits []string) {
	all := m.liveUnits()
	for _, r := range m.liveRelations() {
		if !r.peer {
			continue
		}
		for _, a := range all {
			for _, b := range all {
				if a != b && (slices.Contains(newUnits, a) || slices.Contains(newUnits, b)) {
					m.queueJoin(a, r, b)
				}
			}
		}
	}
}

// queueJoin: -joined then -changed for remote on unit.
func (m *Model) queueJoin(unitName string, r *relation, remote string) {
	ev := Event{Relation: r.key(), RemoteUnit: remote, RemoteApp: appOf(remote)}
	ev.Hook = r.endpoint + "-relation-joined"
	m.enqueue(unitName, ev)
	ev.Hook = r.endpoint + "-relation-changed"
	m.enqueue(unitName, ev)
}

func (m *Model) liveRelations() []*relation {
	var out []*relation
	for _, id := range slices.Sorted(maps.Keys(m.relations)) {
		if r := m.relations[id]; !r.removed {
			out = append(out, r)
		}
	}
	return out
}

// SetConfig sets options like `juju config`: values are checked and
// coerced by the charm's config.yaml (nil resets to the default), then
// config-changed runs on every unit. SetConfig(ctx, nil) just fires
// config-changed, as an address change or agent restart does.
func (m *Model) SetConfig(ctx context.Context, values map[string]any) error {
	m.mu.Lock()
	settings, err := m.ch.Config().ValidateSettings(charm.Settings(values))
	if err == nil {
		err = checkSecretOptions(m.ch.Config(), settings)
	}
	if err != nil {
		m.mu.Unlock()
		return fmt.Errorf("cannot set config of %s: %w", m.app, err)
	}
	for k, v := range settings {
		if v == nil {
			delete(m.config, k)
		} else {
			m.config[k] = v
		}
	}
	m.queueAll("config-changed")
	m.mu.Unlock()
	return m.run(ctx)
}

func (m *Model) queueAll(hook string) {
	for _, u := range m.liveUnits() {
		m.enqueue(u, Event{Hook: hook})
	}
}

// UpdateStatus runs update-status on every unit.
func (m *Model) UpdateStatus(ctx context.Context) error {
	m.mu.Lock()
	m.queueAll("update-status")
	m.mu.Unlock()
	return m.run(ctx)
}

// SetLeader moves leadership: leader-elected on the new leader,
// leader-settings-changed on the others.
func (m *Model) SetLeader(ctx context.Context, name string) error {
	m.mu.Lock()
	if u := m.units[name]; u == nil || u.removed {
		m.mu.Unlock()
		return fmt.Errorf("cannot make %s leader: no such unit", name)
	}
	m.elect(name)
	m.mu.Unlock()
	return m.run(ctx)
}

func (m *Model) elect(name string) {
	m.leader = name
	for _, u := range m.liveUnits() {
		if u == name {
			m.enqueue(u, Event{Hook: "leader-elected"})
		} else {
			m.enqueue(u, Event{Hook: "leader-settings-changed"})
		}
	}
}

// UpgradeCharm refreshes to the charm at dir: upgrade-charm →
// config-changed → leader-settings-changed (non-leaders) → start.
func (m *Model) UpgradeCharm(ctx context.Context, dir string) error {
	ch, err := charm.ReadCharm(dir)
	if err != nil {
		return fmt.Errorf("cannot read charm %q: %w", dir, err)
	}
	m.mu.Lock()
	m.ch, m.opts.CharmDir = ch, dir
	for _, u := range m.liveUnits() {
		m.enqueue(u, Event{Hook: "upgrade-charm"})
		m.enqueue(u, Event{Hook: "config-changed"})
		if u != m.leader {
			m.enqueue(u, Event{Hook: "leader-settings-changed"})
		}
		m.enqueue(u, Event{Hook: "start"})
	}
	m.mu.Unlock()
	return m.run(ctx)
}

// PreSeriesUpgrade runs pre-series-upgrade on unit, towards base
// ("ubuntu@24.04").
func (m *Model) PreSeriesUpgrade(ctx context.Context, unitName, base string) error {
	return m.RunHook(ctx, unitName, Event{Hook: "pre-series-upgrade", TargetBase: base})
}

// PostSeriesUpgrade runs post-series-upgrade on unit, after the upgrade
// to base.
func (m *Model) PostSeriesUpgrade(ctx context.Context, unitName, base string) error {
	return m.RunHook(ctx, unitName, Event{Hook: "post-series-upgrade", TargetBase: base})
}

// DeployStorage asks for count instances of the named storage on every
// unit added from now on, as `juju deploy --storage name=…` (or
// add-unit --storage) does; without it a unit gets the charm's minimum.
func (m *Model) DeployStorage(name string, count int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.deployStorage == nil {
		m.deployStorage = map[string]int{}
	}
	m.deployStorage[name] = count
}

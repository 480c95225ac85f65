package sim

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// RemoteUnit is a unit of a remote application, as a test declares it.
type RemoteUnit struct {
	Name    string            // "easyrsa/0"
	Address string            // defaults to 127.0.20.<k>
	Data    map[string]string // its initial unit data on the relation
}

type remoteApplication struct {
	name  string
	units map[string]string // unit → address
}

// relation is one relation of our application, peer or not.
type relation struct {
	id        int
	endpoint  string // ours
	iface     string
	remoteApp string // our own app for the peer relation
	peer      bool

	unitData map[string]map[string]string // every unit ever in it, ours and remote
	appData  map[string]map[string]string // ours and the remote app's

	remoteUnits []string                   // remote units in the relation now (not peers)
	joined      map[string]map[string]bool // our unit → remote units it has seen join
	created     map[string]bool            // our units that ran -created
	broken      map[string]bool            // our units that ran -broken
	removed     bool
	since       time.Time
}

// Key is the relation's id as Juju shows it: "cert-provider:5".
func (r *relation) key() string { return r.endpoint + ":" + strconv.Itoa(r.id) }

func newRelation(id int, endpoint, iface, remote string, peer bool) *relation {
	return &relation{
		id: id, endpoint: endpoint, iface: iface, remoteApp: remote, peer: peer,
		unitData: map[string]map[string]string{},
		appData:  map[string]map[string]string{remote: {}},
		joined:   map[string]map[string]bool{},
		created:  map[string]bool{},
		broken:   map[string]bool{},
	}
}

// seed gives a unit's bag the keys Juju always sets.
func (r *relation) seed(unit, addr string) {
	bag := r.unitData[unit]
	if bag == nil {
		bag = map[string]string{}
		r.unitData[unit] = bag
	}
	bag["private-address"] = addr
	bag["ingress-address"] = addr
	bag["egress-subnets"] = addr + "/32"
}

// members is the unit's view of relation-list: remote units it has seen
// join, sorted by unit number.
func (r *relation) members(unit string) []string {
	out := slices.Collect(maps.Keys(r.joined[unit]))
	slices.SortFunc(out, compareUnits)
	return out
}

func compareUnits(a, b string) int {
	if c := strings.Compare(appOf(a), appOf(b)); c != 0 {
		return c
	}
	return unitNumber(a) - unitNumber(b)
}

// RelationInfo describes a relation for tests.
type RelationInfo struct {
	ID          int
	Key         string // "cert-provider:5"
	Endpoint    string
	Interface   string
	RemoteApp   string
	Peer        bool
	RemoteUnits []string
}

// Relations lists the live relations, peers included, by id.
func (m *Model) Relations() []RelationInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []RelationInfo
	for _, id := range slices.Sorted(maps.Keys(m.relations)) {
		r := m.relations[id]
		if r.removed {
			continue
		}
		out = append(out, r.info(m))
	}
	return out
}

func (r *relation) info(m *Model) RelationInfo {
	remote := slices.Clone(r.remoteUnits)
	if r.peer {
		remote = m.liveUnits()
	}
	return RelationInfo{ID: r.id, Key: r.key(), Endpoint: r.endpoint, Interface: r.iface,
		RemoteApp: r.remoteApp, Peer: r.peer, RemoteUnits: remote}
}

// Relation describes relation id; ok is false for an unknown id.
func (m *Model) Relation(id int) (info RelationInfo, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.relations[id]
	if r == nil {
		return RelationInfo{}, false
	}
	return r.info(m), true
}

// PeerRelation is the id of the relation on a peer endpoint, or -1.
func (m *Model) PeerRelation(endpoint string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.relations {
		if r.peer && r.endpoint == endpoint && !r.removed {
			return r.id
		}
	}
	return -1
}

// RelationData is a copy of the committed unit bag of unit (ours or remote)
// on relation id; nil if the unit never joined it.
func (m *Model) RelationData(id int, unit string) map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r := m.relations[id]; r != nil {
		return maps.Clone(r.unitData[unit])
	}
	return nil
}

// RelationAppData is a copy of the committed application bag of app (ours
// or the remote one) on relation id.
func (m *Model) RelationAppData(id int, app string) map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r := m.relations[id]; r != nil {
		return maps.Clone(r.appData[app])
	}
	return nil
}

// relationByArg resolves a -r value: "endpoint:N" or "N". Juju 3.6 reads
// only the number after the last colon.
func (m *Model) relationByArg(s string) (*relation, error) {
	num := s
	if i := strings.LastIndex(s, ":"); i >= 0 {
		num = s[i+1:]
	}
	id, err := strconv.Atoi(num)
	if err != nil || id < 0 {
		return nil, fmt.Errorf("invalid relation id")
	}
	r := m.relations[id]
	if r == nil || r.removed {
		return nil, fmt.Errorf("relation not found")
	}
	return r, nil
}

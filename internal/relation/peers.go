package relation

import (
	"sort"
	"strconv"
	"strings"
)

// The peer relation (interface peer-discovery) publishes nothing: Juju's
// own keys in each peer's bag are all we read.

// PeerBackend is one registry unit as a load balancer sees it.
type PeerBackend struct {
	Unit    string // Juju unit name, e.g. "docker-registry/0"
	Address string // address the unit serves on
	Port    int
}

// PeerAddresses lists every registry unit, ourselves included, with the
// address the reference charm used: charmhelpers peer_ips reads each peer's
// private-address; ingress-address is the fallback for a bag without one.
// Peers whose bag carries no address yet are left out, since there is
// nothing to route to, and so are peers whose address is not an IP address
// or host name (isHost; reported in ignored): the address goes into the
// haproxy stanza, and one bad peer must not cost the others their place in
// it. The list is in unit-number order, so the oldest unit comes first
// (the reference sorted names as strings, making "docker-registry/10" older
// than "docker-registry/2").
func PeerAddresses(self, selfAddr string, peers map[string]map[string]string, port int) (backends []PeerBackend, ignored []Ignored) {
	addrs := map[string]string{}
	for _, unit := range SortUnits(keysOf(peers)) {
		a, bad := peerAddress(unit, peers[unit])
		ignored = append(ignored, bad...)
		if a != "" {
			addrs[unit] = a
		}
	}
	if selfAddr != "" {
		addrs[self] = selfAddr
	}
	for _, unit := range SortUnits(keysOf(addrs)) {
		backends = append(backends, PeerBackend{Unit: unit, Address: addrs[unit], Port: port})
	}
	return backends, ignored
}

func peerAddress(unit string, bag map[string]string) (string, []Ignored) {
	var ignored []Ignored
	for _, key := range []string{"private-address", "ingress-address"} {
		a := strings.TrimSpace(bag[key])
		if a == "" {
			continue
		}
		if isHost(a) {
			return a, ignored
		}
		ignored = append(ignored, Ignored{Unit: unit, Key: key, Reason: "not an IP address or host name"})
	}
	return "", ignored
}

// SortUnits sorts unit names by application, then by unit number
// ("app/2" before "app/10"), returning a new slice. Names without a
// number sort after numbered ones of the same application, by name.
func SortUnits(units []string) []string {
	out := append([]string(nil), units...)
	sort.SliceStable(out, func(i, j int) bool { return unitLess(out[i], out[j]) })
	return out
}

func unitLess(a, b string) bool {
	appA, numA, okA := splitUnit(a)
	appB, numB, okB := splitUnit(b)
	if appA != appB {
		return appA < appB
	}
	if okA != okB {
		return okA
	}
	if okA && numA != numB {
		return numA < numB
	}
	return a < b
}

func splitUnit(unit string) (app string, num int, ok bool) {
	i := strings.LastIndexByte(unit, '/')
	if i < 0 {
		return unit, 0, false
	}
	n, err := strconv.Atoi(unit[i+1:])
	if err != nil || n < 0 {
		return unit[:i], 0, false
	}
	return unit[:i], n, true
}

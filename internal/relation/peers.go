package relation

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
	for _, unit := range sortedUnits(peers) {
		a, bad := hostIn(unit, peers[unit], "private-address", "ingress-address")
		ignored = append(ignored, bad...)
		if a != "" {
			addrs[unit] = a
		}
	}
	if selfAddr != "" {
		addrs[self] = selfAddr
	}
	for _, unit := range sortedUnits(addrs) {
		backends = append(backends, PeerBackend{Unit: unit, Address: addrs[unit], Port: port})
	}
	return backends, ignored
}

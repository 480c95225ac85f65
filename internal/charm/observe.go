package charm

import (
	"context"
	"os"
	"strings"
	"time"

	"github.com/canonical/docker-registry-charm/internal/config"
	"github.com/canonical/docker-registry-charm/internal/juju"
)

// Endpoint names from metadata.yaml.
const (
	epPeer     = "peer"
	epCerts    = "cert-provider"
	epClients  = "docker-registry"
	epWebsite  = "website"
	epNRPE     = "nrpe-external-master"
	httpSecret = "http-secret"
)

// Bag is one relation data bag.
type Bag = map[string]string

// Relation is what the reconcile needs of one relation: our own unit's bag
// (to publish only what differs), the remote units' bags when the protocol
// reads them, and for the peer relation our application's bag.
type Relation struct {
	ID     string
	Units  []string
	Remote map[string]Bag
	Local  Bag
	App    Bag
}

// Observed is the whole observed state: Juju's model as this unit sees it
// plus what is on the machine.
type Observed struct {
	Unit, App string
	Event     juju.Event
	Config    config.Config
	Leader    bool
	// LeaderData is read only to adopt the http-secret of a unit upgraded
	// from the reactive charm, which kept it there.
	LeaderData Bag

	PrivateAddress, PublicAddress, Hostname string

	Peer        *Relation
	Certs       []Relation
	Clients     []Relation
	Websites    []Relation
	NRPE        []Relation
	OpenedPorts []juju.Port

	Host HostState
	// Now is when the observation was made.
	Now time.Time
}

// HostState is what the reconcile reads from the machine itself.
type HostState struct {
	State    LocalState
	Htpasswd []byte
	// TLSFiles are the files at tls-*-path, read when no source of ours
	// provides TLS (an operator may have placed them by hand).
	TLSFiles TLSMaterial
	// NRPECheck is the nagios check file this unit last wrote, if any.
	NRPECheck []byte
}

// TLSMaterial is PEM text of a serving certificate, its key and its CA.
type TLSMaterial struct{ Cert, Key, CA []byte }

// observe reads everything the reconcile depends on. It asks Juju only for
// what the protocols in use need: remote bags are read for relations whose
// remote data matters (certificates, proxies, nagios, peers).
func (c *Charm) observe(ctx context.Context) (*Observed, error) {
	j := c.Juju
	o := &Observed{Unit: j.Env.UnitName, App: j.Env.AppName, Event: j.Env.Event(), Now: c.now()}
	if err := j.ConfigGetAll(ctx, &o.Config); err != nil {
		return nil, err
	}
	var err error
	if o.Leader, err = j.IsLeader(ctx); err != nil {
		return nil, err
	}
	if o.PrivateAddress, err = j.UnitGet(ctx, "private-address"); err != nil {
		return nil, err
	}
	o.Hostname, _ = os.Hostname()
	if err := c.observeRelations(ctx, o); err != nil {
		return nil, err
	}
	if len(o.Certs) > 0 {
		// Only certificate requests use the public address.
		if o.PublicAddress, err = j.UnitGet(ctx, "public-address"); err != nil {
			return nil, err
		}
	}
	if o.Peer == nil || o.Peer.App[httpSecret] == "" {
		if o.LeaderData, err = j.LeaderGet(ctx); err != nil {
			return nil, err
		}
	}
	if o.OpenedPorts, err = j.OpenedPorts(ctx); err != nil {
		return nil, err
	}
	o.Host, err = c.observeHost(o.Config)
	return o, err
}

func (c *Charm) observeRelations(ctx context.Context, o *Observed) error {
	peers, err := c.relations(ctx, epPeer, false, true)
	if err != nil {
		return err
	}
	if len(peers) > 0 {
		o.Peer = &peers[0]
		if o.Peer.App, err = c.Juju.RelationGet(ctx, o.Peer.ID, o.App, true); err != nil {
			return err
		}
	}
	if o.Certs, err = c.relations(ctx, epCerts, true, true); err != nil {
		return err
	}
	// Clients publish nothing we read: only our own bag matters.
	if o.Clients, err = c.relations(ctx, epClients, true, false); err != nil {
		return err
	}
	if o.Websites, err = c.relations(ctx, epWebsite, true, true); err != nil {
		return err
	}
	o.NRPE, err = c.relations(ctx, epNRPE, true, true)
	return err
}

// relations reads every relation of an endpoint: our unit's bag when we
// publish on it, the remote units and their bags when withRemote.
func (c *Charm) relations(ctx context.Context, endpoint string, withLocal, withRemote bool) ([]Relation, error) {
	j := c.Juju
	ids, err := j.RelationIDs(ctx, endpoint)
	if err != nil {
		return nil, err
	}
	rels := make([]Relation, 0, len(ids))
	for _, id := range ids {
		r := Relation{ID: id, Remote: map[string]Bag{}, Local: Bag{}}
		if withLocal {
			if r.Local, err = j.RelationGet(ctx, id, j.Env.UnitName, false); err != nil {
				return nil, err
			}
		}
		if withRemote {
			if err := c.readRemote(ctx, &r); err != nil {
				return nil, err
			}
		}
		rels = append(rels, r)
	}
	return rels, nil
}

func (c *Charm) readRemote(ctx context.Context, r *Relation) error {
	units, err := c.Juju.RelationList(ctx, r.ID)
	if err != nil {
		return err
	}
	r.Units = units
	for _, u := range units {
		// A unit departing during this hook may vanish between list and
		// get; Juju keeps departed units' data readable, so an error here
		// is real.
		bag, err := c.Juju.RelationGet(ctx, r.ID, u, false)
		if err != nil {
			return err
		}
		r.Remote[u] = bag
	}
	return nil
}

func (c *Charm) observeHost(cfg config.Config) (HostState, error) {
	var h HostState
	var err error
	if h.State, err = loadState(c.Paths.StateFile()); err != nil {
		return h, err
	}
	h.Htpasswd, _ = os.ReadFile(c.Paths.Htpasswd())
	for _, p := range h.State.NRPEFiles {
		if strings.HasPrefix(p, "/etc/nagios/") {
			h.NRPECheck, _ = os.ReadFile(c.Paths.At(p))
		}
	}
	if cfg.TLSCertPath != "" && cfg.TLSKeyPath != "" {
		h.TLSFiles.Cert, _ = os.ReadFile(c.Paths.At(cfg.TLSCertPath))
		h.TLSFiles.Key, _ = os.ReadFile(c.Paths.At(cfg.TLSKeyPath))
	}
	if cfg.TLSCAPath != "" {
		h.TLSFiles.CA, _ = os.ReadFile(c.Paths.At(cfg.TLSCAPath))
	}
	return h, nil
}

package charm

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/canonical/docker-registry-charm/internal/config"
	"github.com/canonical/docker-registry-charm/internal/files"
	"github.com/canonical/docker-registry-charm/internal/juju"
	"github.com/canonical/docker-registry-charm/internal/pki"
	"github.com/canonical/docker-registry-charm/internal/service"
)

// Endpoint names from metadata.yaml.
const (
	epPeer     = "peer"
	epCerts    = "cert-provider"
	epClients  = "docker-registry"
	epWebsite  = "website"
	epNRPE     = "nrpe-external-master"
	epCOSAgent = "cos-agent"
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
	// RemoteApp is the remote application's bag, where a v4
	// tls-certificates provider answers (plan_tlsv4.go).
	RemoteApp Bag
}

// Observed is the whole observed state: Juju's model as this unit sees it
// plus what is on the machine.
type Observed struct {
	Unit, App string
	// Model and ModelUUID name the model, for the Juju topology COS needs.
	Model, ModelUUID string
	Config           config.Config
	// Leader is asked only when plan needs it (observeLeadership); false
	// otherwise.
	Leader bool
	// LeaderData is read only to adopt the http-secret of a unit upgraded
	// from the reactive charm, which kept it there.
	LeaderData Bag

	PrivateAddress, PublicAddress, Hostname string
	// CertKey is the unit's own key for cert-provider's CSR flavour,
	// read (made if need be) while a cert-provider relation exists.
	CertKey *CertKey

	Peer        *Relation
	Certs       []Relation
	Clients     []Relation
	Websites    []Relation
	NRPE        []Relation
	COSAgents   []Relation
	OpenedPorts []juju.Port

	Host HostState
	// Now is when the observation was made.
	Now time.Time
	// Secrets says which options came from Juju secrets, and why any
	// could not be read.
	Secrets Secrets
	// remoteApps is State.RemoteApps, for the relation readers, which run
	// while the machine's state is being read into Host.
	remoteApps map[string]string
	// Answers: the registry answered as last configured when observed
	// (false when it was not to serve).
	Answers bool
	// StorageRefused is what the object storage the options name
	// answered when asked to let the registry in (observeStorage), in
	// operator terms; "" when it did, or was not asked.
	StorageRefused string
}

// HostState is what the reconcile reads from the machine itself.
type HostState struct {
	State    LocalState
	Htpasswd []byte
	// TLSFiles are the files at tls-*-path, read when no source of ours
	// provides TLS (an operator may have placed them by hand).
	TLSFiles pki.Material
	// NRPECheck is the nagios check file this unit last wrote, if any.
	NRPECheck []byte
	// ForeignTLS are tls-*-path files outside the charm's own config
	// directory that exist and that the charm did not write: it must
	// never overwrite or remove them (as root, any file would do).
	ForeignTLS []string
	// Previous is what the reactive charm left (migrate.go).
	Previous Previous
	// Account is the registry's system user, when it exists already.
	Account *service.Account
	// Files are the files the charm manages (managedPaths) as they are,
	// by machine path; nil for a missing one.
	Files map[string]*FileState
	// Self is the identity of the running charm binary (zero in tests
	// that run no workload), and Installed whether the copy the service
	// runs exists.
	Self      files.Identity
	Installed bool
}

// observe reads everything the reconcile depends on. It asks Juju only for
// what the protocols in use need. Each hook tool is a process and a round
// trip to the agent, so independent questions go out at once and each
// endpoint's follow-up questions go out as soon as its own relation ids
// are known, not when the slowest first answer is in.
func (c *Charm) observe(ctx context.Context) (*Observed, error) {
	j := c.Juju
	o := &Observed{Unit: j.Env.UnitName, App: j.Env.AppName, Model: j.Env.ModelName, ModelUUID: j.Env.ModelUUID, Now: c.now()}
	o.Hostname, _ = os.Hostname()
	// Leadership matters only to make the http secret and to publish
	// the website stanza: asked then, once, as soon as that is known.
	leader := sync.OnceValues(func() (bool, error) { return j.IsLeader(ctx) })
	// The state file first (one small read): what earlier hooks learnt
	// lets the relation readers ask fewer questions in a row.
	st, err := loadState(c.Paths.StateFile())
	if err != nil {
		return nil, err
	}
	o.Host.State, o.remoteApps = st, st.RemoteApps
	var g group
	g.Go(func() error { return c.observeMachine(ctx, o) })
	g.Go(func() (err error) { o.PrivateAddress, err = j.UnitGet(ctx, "private-address"); return })
	g.Go(func() (err error) { o.OpenedPorts, err = j.OpenedPorts(ctx); return })
	var peers []Relation
	c.observeRelations(ctx, &g, o, &peers, leader)
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if len(peers) > 0 {
		o.Peer = &peers[0]
	}
	if err := c.observeLeadership(ctx, o, leader); err != nil {
		return nil, err
	}
	c.observeStorage(ctx, o)
	return o, nil
}

// observeMachine reads the config (with the Juju secrets it names), then
// what the machine holds for it: the state file, the managed files, the
// running registry's answer, what the reactive charm left.
func (c *Charm) observeMachine(ctx context.Context, o *Observed) error {
	if err := c.Juju.ConfigGetAll(ctx, &o.Config); err != nil {
		return err
	}
	if err := c.observeSecrets(ctx, o); err != nil {
		return err
	}
	var err error
	if o.Host, err = c.observeHost(o.Config, o.Host.State); err != nil {
		return err
	}
	if last := o.Host.State.Last; last != nil && last.Configured && !o.Host.State.Stopped {
		o.Answers = c.Workload.Answers(ctx, last.Probe)
	}
	o.Host.Previous, err = c.observePrevious(ctx, o.Config.RegistryName, o.Host.State)
	return err
}

// observeRelations starts, in g, reading every endpoint the protocols
// need: each endpoint's follow-up questions go out as soon as its own
// relation ids are known.
func (c *Charm) observeRelations(ctx context.Context, g *group, o *Observed, peers *[]Relation, leader func() (bool, error)) {
	j := c.Juju
	g.Go(func() error {
		if err := c.observeEndpoint(ctx, o, epPeer, relSpec{app: true}, peers); err != nil {
			return err
		}
		if len(*peers) > 0 && (*peers)[0].App[httpSecret] != "" {
			return nil
		}
		go leader() //nolint:errcheck // asked again by observeLeadership, answered from memory
		// Only to adopt a secret the reactive charm left in leader data.
		var err error
		o.LeaderData, err = j.LeaderGet(ctx)
		return err
	})
	g.Go(func() error {
		ids, err := j.RelationIDs(ctx, epCerts)
		if err != nil || len(ids) == 0 {
			return err
		}
		// The public address goes into certificate requests only.
		var g group
		g.Go(func() (err error) { o.PublicAddress, err = j.UnitGet(ctx, "public-address"); return })
		g.Go(func() (err error) { o.CertKey, err = c.observeCertKey(); return })
		g.Go(func() error {
			return c.readEndpoint(ctx, o, ids, relSpec{local: true, remote: true, remoteApp: true}, &o.Certs)
		})
		return g.Wait()
	})
	// Clients publish nothing we read.
	g.Go(func() error { return c.observeEndpoint(ctx, o, epClients, relSpec{local: true}, &o.Clients) })
	g.Go(func() error {
		ids, err := j.RelationIDs(ctx, epWebsite)
		if err != nil || len(ids) == 0 {
			return err
		}
		go leader() //nolint:errcheck // asked again by observeLeadership, answered from memory
		return c.readEndpoint(ctx, o, ids, relSpec{local: true, remote: true}, &o.Websites)
	})
	g.Go(func() error { return c.observeEndpoint(ctx, o, epNRPE, relSpec{local: true, remote: true}, &o.NRPE) })
	// The collector publishes only tracing receivers, which we do not use.
	g.Go(func() error { return c.observeEndpoint(ctx, o, epCOSAgent, relSpec{local: true}, &o.COSAgents) })
}

// observeLeadership reads leadership where plan needs it: with no http
// secret shared yet, and with a website relation, whose stanza only the
// leader publishes from its peers' addresses. Otherwise Leader stays
// false and nothing in plan depends on it; a unit of a three-unit
// application is so spared is-leader, relation-list and two relation-get
// processes in every hook.
func (c *Charm) observeLeadership(ctx context.Context, o *Observed, leader func() (bool, error)) error {
	if len(o.Websites) == 0 && o.Peer != nil && o.Peer.App[httpSecret] != "" {
		return nil
	}
	var err error
	if o.Leader, err = leader(); err != nil || !o.Leader || len(o.Websites) == 0 || o.Peer == nil {
		return err
	}
	return c.readRemote(ctx, o.Peer)
}

// relSpec says what to read of an endpoint's relations: our unit's bag
// when we publish there, the remote bags when the protocol reads them,
// our application's bag (the peer relation's shared settings), the
// remote application's bag (a v4 certificates provider's answers).
type relSpec struct{ local, remote, app, remoteApp bool }

// observeEndpoint reads the relations of one endpoint into *out.
func (c *Charm) observeEndpoint(ctx context.Context, o *Observed, ep string, spec relSpec, out *[]Relation) error {
	ids, err := c.Juju.RelationIDs(ctx, ep)
	if err != nil {
		return err
	}
	return c.readEndpoint(ctx, o, ids, spec, out)
}

// readEndpoint reads the relations of one endpoint, by their ids, into *out.
func (c *Charm) readEndpoint(ctx context.Context, o *Observed, ids []string, spec relSpec, out *[]Relation) error {
	rels := make([]Relation, len(ids))
	var g group
	for i, id := range ids {
		rels[i] = Relation{ID: id, Remote: map[string]Bag{}, Local: Bag{}}
		r := &rels[i]
		if spec.local {
			g.Go(func() (err error) { r.Local, err = c.Juju.RelationGet(ctx, id, o.Unit, false); return })
		}
		known := spec.remoteApp && o.remoteApps[id] != ""
		if known {
			// A relation's remote application never changes: named
			// by an earlier hook, its bag is read at once.
			g.Go(func() (err error) { r.RemoteApp, err = c.Juju.RelationGet(ctx, id, o.remoteApps[id], true); return })
		}
		if spec.remote {
			g.Go(func() error {
				if err := c.readRemote(ctx, r); err != nil || !spec.remoteApp || known {
					return err
				}
				return c.readRemoteApp(ctx, r)
			})
		}
		if spec.app && i == 0 {
			g.Go(func() (err error) { r.App, err = c.Juju.RelationGet(ctx, id, o.App, true); return })
		}
	}
	if err := g.Wait(); err != nil {
		return err
	}
	*out = rels
	return nil
}

func (c *Charm) readRemote(ctx context.Context, r *Relation) error {
	units, err := c.Juju.RelationList(ctx, r.ID)
	if err != nil {
		return err
	}
	r.Units = units
	bags := make([]Bag, len(units))
	var g group
	for i, u := range units {
		// Juju keeps a departed unit's data readable for the life of the
		// relation, so an error here is real.
		g.Go(func() (err error) { bags[i], err = c.Juju.RelationGet(ctx, r.ID, u, false); return })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for i, u := range units {
		r.Remote[u] = bags[i]
	}
	return nil
}

func (c *Charm) observeHost(cfg config.Config, st LocalState) (HostState, error) {
	h := HostState{State: st}
	var err error
	if acc, ok, err := c.Machine.LookupAccount(); err != nil {
		return h, err
	} else if ok {
		h.Account = &acc
	}
	h.Files = map[string]*FileState{}
	for _, p := range managedPaths(cfg, h.State) {
		h.Files[p] = readFileState(c.Paths.At(p))
	}
	content := func(p string) []byte {
		if f := h.Files[p]; f != nil {
			return f.Content
		}
		return nil
	}
	h.Htpasswd = content(machineHtpasswd)
	if cfg.TLSCertPath != "" && cfg.TLSKeyPath != "" {
		h.TLSFiles.Cert, h.TLSFiles.Key = content(cfg.TLSCertPath), content(cfg.TLSKeyPath)
	}
	h.TLSFiles.CA = content(cfg.TLSCAPath)
	for _, p := range h.State.NRPEFiles {
		if strings.HasPrefix(p, "/etc/nagios/") {
			h.NRPECheck, _ = os.ReadFile(c.Paths.At(p))
		}
	}
	h.ForeignTLS = c.foreignTLS(cfg, h.State)
	if c.Self != "" {
		if h.Self, err = files.Identify(c.Self); err != nil {
			return h, err
		}
		h.Installed = files.Exists(c.Paths.Binary())
	}
	return h, nil
}

// readFileState reads a managed file; nil when it is missing or cannot be
// read (the write that follows then says why).
func readFileState(path string) *FileState {
	content, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil
	}
	f := &FileState{Content: content, Mode: fi.Mode()}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		f.UID, f.GID = int(sys.Uid), int(sys.Gid)
	}
	return f
}

// foreignTLS lists the tls-*-path files the charm may not touch. Files in
// its own config directory are its own (the reactive charm it replaces
// wrote its certificates there too).
func (c *Charm) foreignTLS(cfg config.Config, st LocalState) []string {
	var out []string
	for _, p := range []string{cfg.TLSCertPath, cfg.TLSKeyPath, cfg.TLSCAPath} {
		if p == "" || strings.HasPrefix(filepath.Clean(p), machineConfigDir+"/") || slices.Contains(st.TLSFiles, p) {
			continue
		}
		if _, err := os.Lstat(c.Paths.At(p)); err == nil {
			out = append(out, p)
		}
	}
	return out
}

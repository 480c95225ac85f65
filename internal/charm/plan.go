package charm

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/canonical/docker-registry-charm/internal/config"
	"github.com/canonical/docker-registry-charm/internal/files"
	"github.com/canonical/docker-registry-charm/internal/juju"
	"github.com/canonical/docker-registry-charm/internal/pki"
	"github.com/canonical/docker-registry-charm/internal/registryconf"
	"github.com/canonical/docker-registry-charm/internal/relation"
)

// TLS sources, in the order they win: config blobs, the cert-provider
// relation, then files an operator placed at tls-*-path by hand.
const (
	tlsFromConfig   = "config"
	tlsFromRelation = "relation"
	tlsFromFiles    = "files"
)

// Desired is everything the unit should look like after this hook,
// computed purely from Observed.
type Desired struct {
	// Problems are invalid options; when any, the registry keeps its
	// last good configuration and only status changes.
	Problems []config.Problem
	// Hold is a blocked or waiting status that does not depend on
	// whether the registry answers.
	Hold *juju.Status

	Secret    string
	NewSecret bool // the leader generated it in this hook

	TLS        *TLSPlan
	ClientPair *pki.Material // client cert/key from cert-provider, for push
	CSR        string        // this hook's v4 certificate signing request (plan_tlsv4.go)

	Registry     []byte // config.yml
	Htpasswd     []byte // nil: no basic auth
	HtpasswdKeep bool   // the file on disk already holds this user/password
	HtpasswdMemo string // for LocalState, once Htpasswd is on disk
	TokenBundle  []byte
	RedisCA      []byte // redis-tls-ca, decoded
	EnvFile      []byte
	Service      []byte
	Socket       []byte
	Ports        []juju.Port
	UnitBags     map[string]Bag // relation id → keys of our unit bag to set
	AppBags      map[string]Bag // relation id → keys of our app bag to set
	NRPE         *NRPEPlan
	Ready        string
	// Warning is what the active message says last: what related
	// workers need that they do not have.
	Warning        string
	Probe          Probe
	Netloc, Scheme string
	// CertExpires is when the served certificate expires (zero: http),
	// for the warning status gives ahead of it.
	CertExpires time.Time

	// Ignored are relation values refused as invalid, for juju-log.
	Ignored []relation.Ignored

	// Takeover is what to do with the reactive charm's leftovers
	// (migrate.go), and Progress the status to show while apply does
	// something slow (nil: nothing slow to do).
	Takeover Takeover
	Progress *juju.Status

	// Write are the files that differ from what observe found, to write
	// or remove; InstallBinary says the running binary is to be copied
	// where the service runs it; Changes is what the service must do
	// about both.
	Write         []WantFile
	InstallBinary bool
	Changes       Changes
	// Serving says whether the service should run; Tell is what it has
	// not been told yet, and Drive how apply tells it (plan_drive.go).
	Serving bool
	Tell    Changes
	Drive   Drive
	// OpenPorts and ClosePorts are what Juju is to open and close for
	// Ports, given the ports it has open.
	OpenPorts, ClosePorts []juju.Port
	// RemoteApps names each cert-provider relation's remote application,
	// remembered for the next hooks.
	RemoteApps map[string]string
}

// TLSPlan is the serving certificate and where it comes from.
type TLSPlan struct {
	Source   string
	Material pki.Material
	// ClientCAs is true when the registry verifies client certificates
	// against the CA (tls-client-auth with a CA present).
	ClientCAs bool
}

// plan computes the desired state. It does no I/O.
func plan(o *Observed, now time.Time, newSecret func() string) *Desired {
	d := &Desired{UnitBags: map[string]Bag{}, AppBags: map[string]Bag{}}
	d.Problems = o.validate()
	if o.Host.State.SeriesUpgrade {
		d.Hold = &juju.Status{Name: juju.StatusBlocked, Message: "Series upgrade in progress"}
	}
	if len(d.Problems) > 0 {
		d.Hold = holdIfNone(d.Hold, juju.StatusBlocked, o.problemStatus(d.Problems))
		return d
	}
	planSecret(o, d, newSecret)
	if d.Secret == "" {
		msg := "Waiting for the leader to share the registry's http secret"
		if o.Peer == nil {
			// Juju creates the peer relation right after install.
			msg = "Waiting for the peer relation to share the registry's http secret"
		}
		d.Hold = holdIfNone(d.Hold, juju.StatusWaiting, msg)
		return d
	}
	if hold, keep := planTLS(o, d, now); keep {
		// Fail closed: nothing is rendered, so the last good
		// configuration, with its certificate, keeps serving and the
		// workers keep their https data. The CSR still goes out: a
		// new one is how a v4 provider is asked for a usable answer.
		d.Hold = holdIfNone(d.Hold, hold.Name, hold.Message)
		planCSRBags(o, d)
		return d
	} else if hold != nil {
		d.Hold = holdIfNone(d.Hold, hold.Name, hold.Message)
	}
	if err := planRegistry(o, d); err != nil {
		// Every option was valid, so a render failure is a bug in the
		// charm: surface it rather than serve a half-built config.
		d.Hold = holdIfNone(d.Hold, juju.StatusBlocked, "Cannot render the registry configuration: "+err.Error())
		d.Registry = nil
		return d
	}
	if o.StorageRefused != "" {
		// Treated as an invalid option: the last good configuration
		// keeps serving, and only the peers hear of the http secret.
		msg := o.StorageRefused
		if o.Host.State.Last != nil && o.Host.State.Last.Configured {
			msg += " (serving the previous configuration)"
		}
		d.Hold = holdIfNone(d.Hold, juju.StatusBlocked, msg)
		d.Registry = nil
		onlyPeer(d, o)
		return d
	}
	planRelations(o, d)
	if o.Host.State.Stopped {
		d.Hold = holdIfNone(d.Hold, juju.StatusBlocked, fmt.Sprintf("%s service is stopped.", o.Config.RegistryName))
	}
	planTakeover(o, d)
	d.RemoteApps = remoteApps(o)
	d.OpenPorts, d.ClosePorts = portChanges(o.OpenedPorts, d.Ports)
	d.Write, d.Changes = fileChanges(o, planFiles(o, d))
	d.InstallBinary = binaryDiffers(o)
	d.Changes.Binary = d.InstallBinary
	planDrive(o, d)
	return d
}

func holdIfNone(cur *juju.Status, name juju.StatusName, msg string) *juju.Status {
	if cur != nil {
		return cur
	}
	return &juju.Status{Name: name, Message: msg}
}

// planSecret picks the http secret shared by all units (it signs upload
// state, so units behind one load balancer must agree). It lives in the
// peer relation's application bag, written through stdin, never argv; a
// secret the reactive charm left in leader data is adopted.
func planSecret(o *Observed, d *Desired, newSecret func() string) {
	if o.Peer != nil && o.Peer.App[httpSecret] != "" {
		d.Secret = o.Peer.App[httpSecret]
		return
	}
	d.Secret = o.LeaderData[httpSecret]
	if !o.Leader || o.Peer == nil {
		return
	}
	if d.Secret == "" {
		d.Secret, d.NewSecret = newSecret(), true
	}
	d.AppBags[o.Peer.ID] = Bag{httpSecret: d.Secret}
}

// planTLS picks the serving certificate. It fails closed: a certificate
// that is unusable (expired, not yet valid, for other names, not matching
// its key, garbage) never turns TLS off. It returns keep when the whole
// configuration must stay as it serves, with the status that says why.
// Before TLS ever served, a cert-provider that has not answered yet leaves
// the registry on http with a waiting status (there is nothing to keep).
func planTLS(o *Observed, d *Desired, now time.Time) (hold *juju.Status, keep bool) {
	cfg := o.Config
	served := o.Host.State.TLSSource != ""
	blocked := func(msg string) (*juju.Status, bool) {
		if served {
			msg += "; serving the last good certificate"
		}
		return &juju.Status{Name: juju.StatusBlocked, Message: msg}, true
	}
	if len(o.Host.ForeignTLS) > 0 && (cfg.TLSCertBlob != "" || len(o.Certs) > 0) {
		return blocked(fmt.Sprintf("tls-*-path names %s, which the charm did not write: remove the file or choose another path",
			strings.Join(o.Host.ForeignTLS, ", ")))
	}
	if cfg.TLSCertBlob != "" && cfg.TLSKeyBlob != "" {
		m, err := blobMaterial(cfg)
		if err == nil {
			err = useTLS(d, cfg, tlsFromConfig, m, now, o.names())
		}
		if err != nil {
			return blocked(fmt.Sprintf("tls-cert-blob/%s unusable (%v): set a valid pair", o.optionName("tls-key-blob"), err))
		}
		return nil, false
	}
	if hold, keep, answered := planTLSFromCSR(o, d, now, served, blocked); answered {
		return hold, keep
	}
	if issued, ok := issuedCert(o); ok {
		m := pki.Material{Cert: []byte(issued.ServerCert), Key: []byte(issued.ServerKey), CA: []byte(issued.CA)}
		if err := useTLS(d, cfg, tlsFromRelation, m, now, []string{o.PrivateAddress}); err != nil {
			return blocked(fmt.Sprintf("Certificate from %s is unusable (%v): renew it on the provider", epCerts, err))
		}
		if issued.ClientCert != "" && issued.ClientKey != "" {
			d.ClientPair = &pki.Material{Cert: []byte(issued.ClientCert), Key: []byte(issued.ClientKey)}
		}
		return nil, false
	}
	if len(o.Certs) > 0 {
		msg := fmt.Sprintf("Waiting for a server certificate from %s", epCerts)
		if served {
			return &juju.Status{Name: juju.StatusWaiting, Message: msg + "; serving the last good certificate"}, true
		}
		return &juju.Status{Name: juju.StatusWaiting, Message: msg + "; serving http"}, false
	}
	if !served && len(o.Host.TLSFiles.Cert) > 0 && len(o.Host.TLSFiles.Key) > 0 {
		// Files an operator put at tls-*-path, as the reactive charm
		// honoured them. We do not own them: never rewrite or remove.
		if err := useTLS(d, cfg, tlsFromFiles, o.Host.TLSFiles, now, o.names()); err != nil {
			return blocked(fmt.Sprintf("Certificate at tls-cert-path is unusable (%v): replace the files", err))
		}
	}
	// No source of TLS is configured or related: http is the operator's
	// choice (blobs cleared, cert-provider removed).
	return nil, false
}

// names are the names and addresses clients may reach this unit by; a
// certificate from config or files must cover one of them.
func (o *Observed) names() []string {
	return []string{o.PrivateAddress, o.PublicAddress, o.Hostname, httpHostName(o.Config.HTTPHost)}
}

func issuedCert(o *Observed) (relation.TLSCertsIssued, bool) {
	for _, r := range o.Certs {
		if issued, ok := relation.ReadTLSCertsIssued(unitNameForCerts(o.Unit), r.Remote); ok {
			return issued, true
		}
	}
	return relation.TLSCertsIssued{}, false
}

func blobMaterial(cfg config.Config) (pki.Material, error) {
	var m pki.Material
	var err error
	if m.Cert, err = registryconf.DecodeBlob(cfg.TLSCertBlob); err != nil {
		return m, fmt.Errorf("tls-cert-blob: %w", err)
	}
	if m.Key, err = registryconf.DecodeBlob(cfg.TLSKeyBlob); err != nil {
		return m, fmt.Errorf("tls-key-blob: %w", err)
	}
	if cfg.TLSCABlob != "" {
		if m.CA, err = registryconf.DecodeBlob(cfg.TLSCABlob); err != nil {
			return m, fmt.Errorf("tls-ca-blob: %w", err)
		}
	}
	return m, nil
}

func useTLS(d *Desired, cfg config.Config, source string, m pki.Material, now time.Time, addrs []string) error {
	if err := registryconf.CheckServing(m, now, addrs); err != nil {
		return err
	}
	clean := pki.Material{Cert: registryconf.NormalizePEM(m.Cert), Key: registryconf.NormalizePEM(m.Key)}
	if len(m.CA) > 0 {
		clean.CA = registryconf.NormalizePEM(m.CA)
	}
	if leaf, err := pki.ParseCertificates(clean.Cert); err == nil {
		d.CertExpires = leaf[0].NotAfter
	}
	d.TLS = &TLSPlan{
		Source:    source,
		Material:  clean,
		ClientCAs: len(clean.CA) > 0 && cfg.TLSClientAuth != config.ClientAuthNone,
	}
	return nil
}

// unitNameForCerts is the requirer's unit_name in tls-certificates:
// the unit name with "/" replaced by "_".
func unitNameForCerts(unit string) string {
	b := []byte(unit)
	for i := range b {
		if b[i] == '/' {
			b[i] = '_'
		}
	}
	return string(b)
}

func planPorts(cfg config.Config) []juju.Port {
	ports := []juju.Port{{Number: cfg.RegistryPort, Protocol: "tcp"}}
	if cfg.PrometheusMetrics {
		ports = append(ports, juju.Port{Number: cfg.DebugPort, Protocol: "tcp"})
	}
	return ports
}

// httpHostName returns http-host's host name, for certificate SANs.
func httpHostName(httpHost string) string {
	if httpHost == "" {
		return ""
	}
	u, err := url.Parse(httpHost)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

func hostPort(host string, port int) string {
	return net.JoinHostPort(host, fmt.Sprint(port))
}

// binaryDiffers says whether the running charm binary must be copied to
// the stable path the service runs (the charm directory is replaced on
// upgrade-charm and removed with the unit). Hashing two binaries of tens
// of megabytes would dominate every hook, so a binary whose identity
// (inode, size, mtime) is the one installed last time is trusted to be
// unchanged; the copy is synced to disk before that identity is recorded.
func binaryDiffers(o *Observed) bool {
	return o.Host.Self != (files.Identity{}) && (o.Host.Self != o.Host.State.InstalledFrom || !o.Host.Installed)
}

// remoteApps names the remote application of each cert-provider relation,
// for the next hooks (LocalState.RemoteApps); a relation gone is dropped.
func remoteApps(o *Observed) map[string]string {
	m := map[string]string{}
	for _, r := range o.Certs {
		if len(r.Units) > 0 {
			m[r.ID] = appOfUnit(r.Units[0])
		} else if app := o.Host.State.RemoteApps[r.ID]; app != "" {
			m[r.ID] = app
		}
	}
	return m
}

// portChanges are the ports to open and to close for want, given those
// open: each in a stable order.
func portChanges(opened, want []juju.Port) (open, shut []juju.Port) {
	wanted := map[string]bool{}
	for _, p := range want {
		wanted[p.String()] = true
	}
	have := map[string]bool{}
	for _, p := range opened {
		have[p.String()] = true
		if !wanted[p.String()] {
			shut = append(shut, p)
		}
	}
	for _, p := range want {
		if !have[p.String()] {
			open = append(open, p)
			have[p.String()] = true // a port wanted twice is opened once
		}
	}
	byName := func(a, b juju.Port) int { return strings.Compare(a.String(), b.String()) }
	slices.SortFunc(open, byName)
	slices.SortFunc(shut, byName)
	return open, shut
}

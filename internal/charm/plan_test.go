package charm

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/canonical/docker-registry-charm/internal/juju"
	"github.com/canonical/docker-registry-charm/internal/pki"
	"github.com/canonical/docker-registry-charm/internal/registry"
	"github.com/canonical/docker-registry-charm/internal/relation"
	"github.com/canonical/docker-registry-charm/internal/service"
	"github.com/canonical/docker-registry-charm/internal/testing/charmconfig"
)

// Pure state transitions: an Observed in, a Desired out, no process and no
// file. Every hold plan decides has a row here; the simulator-backed tests
// cover sequences of hooks, the end-to-end suites the real daemons.

var planNow = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)

func baseObserved(t *testing.T) *Observed {
	return &Observed{
		Unit: "docker-registry/0", App: "docker-registry", Config: charmconfig.Defaults(t), Leader: true,
		PrivateAddress: "10.0.0.5", PublicAddress: "10.0.0.5", Hostname: "juju-5",
		Peer: &Relation{ID: "peer:1", App: Bag{httpSecret: "shared"}, Local: Bag{}},
		Now:  planNow,
	}
}

// planCert is a certificate for the unit's address in baseObserved, valid
// from an hour before planNow to notAfter, whatever day the test runs.
func planCert(t *testing.T, notAfter time.Time) (certPEM, keyPEM []byte) {
	t.Helper()
	return selfSignedFrom(t, "10.0.0.5", planNow.Add(-time.Hour), notAfter)
}

// v4Answered is a cert-provider relation in the CSR flavour whose
// provider answered the unit's published CSR with entry (a JSON object
// without its CSR field), and the unit's key.
func v4Answered(t *testing.T, o *Observed, entry string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	o.CertKey = &CertKey{Signer: key}
	csr, err := relation.NewTLSCertsV4CSR(certRequest(o, ""), key, nil)
	if err != nil {
		t.Fatal(err)
	}
	q, _ := json.Marshal(csr)
	o.Certs = []Relation{{ID: "cert-provider:3", Units: []string{"vault/0"}, Remote: map[string]Bag{"vault/0": {}},
		Local:     relation.TLSCertsV4Bag(csr),
		RemoteApp: Bag{"certificates": `[{"certificate_signing_request": ` + string(q) + `, ` + entry + `}]`}}}
}

func TestPlanHolds(t *testing.T) {
	for _, tc := range []struct {
		name     string
		mutate   func(o *Observed)
		hold     juju.StatusName // "" : none
		message  string          // prefix
		rendered bool            // a registry configuration is rendered
	}{
		{"defaults", func(*Observed) {}, "", "", true},
		{"series upgrade", func(o *Observed) { o.Host.State.SeriesUpgrade = true }, juju.StatusBlocked, "Series upgrade in progress", true},
		{"invalid option", func(o *Observed) { o.Config.RegistryName = "a\nExecStartPre=+/bin/sh" }, juju.StatusBlocked, "Invalid charm config: registry-name", false},
		{"no peer relation yet", func(o *Observed) { o.Peer, o.Leader = nil, false }, juju.StatusWaiting, "Waiting for the peer relation", false},
		{"leader has not shared the secret", func(o *Observed) { o.Peer.App, o.Leader = Bag{}, false }, juju.StatusWaiting, "Waiting for the leader", false},
		{"stopped by the stop action", func(o *Observed) { o.Host.State.Stopped = true }, juju.StatusBlocked, "registry service is stopped.", true},
		{"cert-provider has not answered, TLS never served", func(o *Observed) {
			o.Certs = []Relation{{ID: "cert-provider:3", Units: []string{"easyrsa/0"}, Remote: map[string]Bag{"easyrsa/0": {}}}}
		}, juju.StatusWaiting, "Waiting for a server certificate from cert-provider; serving http", true},
		{"cert-provider lost its answer after TLS served", func(o *Observed) {
			o.Certs = []Relation{{ID: "cert-provider:3", Units: []string{"easyrsa/0"}, Remote: map[string]Bag{"easyrsa/0": {}}}}
			o.Host.State.TLSSource = tlsFromRelation
		}, juju.StatusWaiting, "Waiting for a server certificate from cert-provider; serving the last good certificate", false},
		{"garbage certificate in config", func(o *Observed) {
			o.Config.TLSCertBlob, o.Config.TLSKeyBlob = "bm90IGEgY2VydGlmaWNhdGU=", "bm90IGEga2V5"
		}, juju.StatusBlocked, "Invalid charm config: tls-cert-blob", false},
		{"object storage refused the registry", func(o *Observed) {
			o.StorageRefused = "S3 storage refused the credentials: check storage-s3-accesskey and storage-s3-secretkey"
			o.Host.State.Last = &Summary{Configured: true}
		}, juju.StatusBlocked, "S3 storage refused the credentials: check storage-s3-accesskey and storage-s3-secretkey (serving the previous configuration)", false},
		{"tls-*-path names a file the charm did not write", func(o *Observed) {
			cert, key := planCert(t, planNow.Add(30*24*time.Hour))
			o.Config.TLSCertBlob, o.Config.TLSKeyBlob = base64.StdEncoding.EncodeToString(cert), base64.StdEncoding.EncodeToString(key)
			o.Host.ForeignTLS = []string{"/etc/shadow"}
		}, juju.StatusBlocked, "tls-*-path names /etc/shadow, which the charm did not write", false},
		{"expired certificate in config", func(o *Observed) {
			cert, key := planCert(t, planNow.Add(-time.Minute*10))
			o.Config.TLSCertBlob, o.Config.TLSKeyBlob = base64.StdEncoding.EncodeToString(cert), base64.StdEncoding.EncodeToString(key)
		}, juju.StatusBlocked, "tls-cert-blob/tls-key-blob unusable (", false},
		{"expired certificate in config, after TLS served", func(o *Observed) {
			cert, key := planCert(t, planNow.Add(-time.Minute*10))
			o.Config.TLSCertBlob, o.Config.TLSKeyBlob = base64.StdEncoding.EncodeToString(cert), base64.StdEncoding.EncodeToString(key)
			o.Host.State.TLSSource = tlsFromConfig
		}, juju.StatusBlocked, "tls-cert-blob/tls-key-blob unusable (", false},
		{"cert-provider (reactive flavour) issued an expired certificate", func(o *Observed) {
			cert, key := planCert(t, planNow.Add(-time.Minute*10))
			o.Certs = []Relation{{ID: "cert-provider:3", Units: []string{"easyrsa/0"}, Remote: map[string]Bag{"easyrsa/0": {
				"ca": string(cert), "docker-registry_0.server.cert": string(cert), "docker-registry_0.server.key": string(key)}}}}
		}, juju.StatusBlocked, "Certificate from cert-provider is unusable (", false},
		{"cert-provider (CSR flavour) revoked, TLS never served", func(o *Observed) {
			v4Answered(t, o, `"revoked": true`)
		}, juju.StatusWaiting, "Certificate from cert-provider was revoked; waiting for the provider to issue a new one; serving http", true},
		{"cert-provider (CSR flavour) revoked after TLS served", func(o *Observed) {
			v4Answered(t, o, `"revoked": true`)
			o.Host.State.TLSSource = tlsFromRelation
		}, juju.StatusBlocked, "Certificate from cert-provider was revoked; waiting for the provider to issue a new one; serving the last good certificate", false},
		{"cert-provider (CSR flavour) answered garbage", func(o *Observed) {
			v4Answered(t, o, `"certificate": "not a certificate", "ca": "x"`)
		}, juju.StatusBlocked, "Certificate from cert-provider is unusable (the certificate does not parse)", false},
		{"expired certificate an operator put at tls-cert-path", func(o *Observed) {
			cert, key := planCert(t, planNow.Add(-time.Minute*10))
			o.Host.TLSFiles = pki.Material{Cert: cert, Key: key}
		}, juju.StatusBlocked, "Certificate at tls-cert-path is unusable (", false},
		{"the reactive charm's container keeps its images inside docker", func(o *Observed) {
			o.Host.Previous = Previous{DockerAsked: true, Container: &service.Container{
				Name: "registry", Binds: map[string]string{"/etc/docker/registry/config.yml": "/etc/docker/registry/config.yml"}}}
		}, juju.StatusBlocked, `The previous charm's container "registry" keeps its images inside docker: docker cp registry:/var/lib/registry/. /srv/registry`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := baseObserved(t)
			tc.mutate(o)
			d := plan(o, planNow, func() string { return "new" })
			switch {
			case tc.hold == "" && d.Hold != nil:
				t.Errorf("hold %s %q, want none", d.Hold.Name, d.Hold.Message)
			case tc.hold != "" && (d.Hold == nil || d.Hold.Name != tc.hold || !strings.HasPrefix(d.Hold.Message, tc.message)):
				t.Errorf("hold %+v, want %s %q…", d.Hold, tc.hold, tc.message)
			}
			if got := d.Registry != nil; got != tc.rendered {
				t.Errorf("registry rendered = %v, want %v", got, tc.rendered)
			}
		})
	}
}

func TestStatusFor(t *testing.T) {
	const gib = 1 << 30
	ready := &Summary{Ready: "Ready at 10.0.0.5:5000 (https).", Probe: Probe{Port: 5000}, Configured: true}
	with := func(f func(*Summary)) *Summary { s := *ready; f(&s); return &s }
	up := Outcome{Serving: true, Healthy: true}
	for _, tc := range []struct {
		name    string
		sum     *Summary
		out     Outcome
		status  juju.StatusName
		message string // prefix
	}{
		{"serving", ready, up, juju.StatusActive, "Ready at 10.0.0.5:5000 (https)."},
		{"disk use", ready, Outcome{Serving: true, Healthy: true, Disk: Disk{Size: 200 * gib, Avail: 58 * gib}}, juju.StatusActive,
			"Ready at 10.0.0.5:5000 (https). 71% of 200 GiB used."},
		{"disk full", ready, Outcome{Serving: true, Healthy: true, Disk: Disk{Size: 200 * gib, Avail: 6 * gib}}, juju.StatusBlocked,
			"Data filesystem /srv/registry is 97% full"},
		{"certificate expires in 3 days", with(func(s *Summary) { s.CertExpires = planNow.Add(3*24*time.Hour + time.Hour) }), up,
			juju.StatusActive, "Ready at 10.0.0.5:5000 (https). TLS certificate expires in 3 days: renew it."},
		{"certificate expired", with(func(s *Summary) { s.CertExpires = planNow.Add(-time.Hour) }), up,
			juju.StatusActive, "Ready at 10.0.0.5:5000 (https). TLS certificate expires now (expired"},
		{"not answering yet", ready, Outcome{Serving: true}, juju.StatusWaiting, "Registry is not answering on port 5000 yet"},
		{"crash-looping", ready, Outcome{Serving: true, StartFailure: "cannot read registry configuration"}, juju.StatusBlocked,
			"registry service fails to start: cannot read registry configuration"},
		{"storage failing its health check", ready, Outcome{Serving: true, Healthy: true, Failing: []string{"storagedriver_s3"}},
			juju.StatusBlocked, "Registry storage fails its health check (storagedriver_s3)"},
		{"not running", ready, Outcome{}, juju.StatusMaintenance, "Registry is not running"},
		{"reload rejected", ready, Outcome{Serving: true, Healthy: true, Rejected: true}, juju.StatusBlocked,
			"Registry rejected its new configuration and serves the previous one"},
		{"reload rejected wins over a waiting hold", with(func(s *Summary) {
			s.Hold = &juju.Status{Name: juju.StatusWaiting, Message: "Waiting for a server certificate from cert-provider; serving http"}
		}), Outcome{Serving: true, Healthy: true, Rejected: true}, juju.StatusBlocked, "Registry rejected its new configuration"},
		{"port taken", ready, Outcome{PortBusy: 8080}, juju.StatusBlocked, "Cannot listen on registry-port 8080: is another program using it?"},
		{"blocked hold wins over health", with(func(s *Summary) {
			s.Hold = &juju.Status{Name: juju.StatusBlocked, Message: "Invalid charm config: registry-port"}
		}), Outcome{Serving: true, Failing: []string{"storagedriver_s3"}}, juju.StatusBlocked, "Invalid charm config: registry-port"},
		// Nothing serves at all: that is what the operator must see first
		// (an invalid option's detail is in juju debug-log).
		{"a service that does not start wins over a blocked hold", with(func(s *Summary) {
			s.Hold = &juju.Status{Name: juju.StatusBlocked, Message: "Invalid charm config: registry-port"}
		}), Outcome{Serving: true, StartFailure: "x"}, juju.StatusBlocked, "registry service fails to start: x"},
		{"waiting hold once serving", with(func(s *Summary) {
			s.Hold = &juju.Status{Name: juju.StatusWaiting, Message: "Waiting for a server certificate from cert-provider; serving http"}
		}), up, juju.StatusWaiting, "Waiting for a server certificate"},
		{"redis down", ready, Outcome{Serving: true, Healthy: true, Failing: []string{registry.RedisCheck}}, juju.StatusBlocked,
			"Redis cache does not answer (check redis-addresses and the server)"},
		{"the reactive charm's leftovers could not be taken over", ready, Outcome{Serving: true, Healthy: true,
			TakeoverFailed: `Cannot remove the previous charm's docker container "registry": remove it with docker rm -f registry`},
			juju.StatusBlocked, `Cannot remove the previous charm's docker container "registry"`},
		{"workers' warning comes after the disk and the certificate", with(func(s *Summary) {
			s.CertExpires = planNow.Add(3*24*time.Hour + time.Hour)
			s.Warning = " containerd workers need TLS: relate cert-provider or set tls-cert-blob and tls-key-blob."
		}), Outcome{Serving: true, Healthy: true, Disk: Disk{Size: 200 * gib, Avail: 58 * gib}}, juju.StatusActive,
			"Ready at 10.0.0.5:5000 (https). 71% of 200 GiB used. TLS certificate expires in 3 days: renew it. containerd workers need TLS"},
		{"hold while not running", with(func(s *Summary) {
			s.Hold = &juju.Status{Name: juju.StatusWaiting, Message: "Waiting for the leader"}
		}), Outcome{}, juju.StatusWaiting, "Waiting for the leader"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := statusFor(tc.sum, tc.out, planNow)
			if got.Name != tc.status || !strings.HasPrefix(got.Message, tc.message) {
				t.Errorf("status %s %q, want %s %q…", got.Name, got.Message, tc.status, tc.message)
			}
		})
	}
}

// What the reactive charm left, as observe found it, and what plan does
// with it (apply carries it out before anything starts: migrate.go).
func TestPlanTakeover(t *testing.T) {
	root := &Owner{0, 0}
	acc := &service.Account{Name: serviceUser, UID: 4242, GID: 4343}
	ours := &service.Container{ID: "c1", Name: "registry", Binds: map[string]string{"/srv/registry": "/var/lib/registry"}}
	foreign := &service.Container{ID: "c2", Name: "registry", Binds: map[string]string{"/data": "/var/lib/registry"}}
	for _, tc := range []struct {
		name string
		prev Previous
		acc  *service.Account
		want Takeover
	}{
		{"fresh machine", Previous{}, nil, Takeover{}},
		{"docker answered: no such container", Previous{DockerAsked: true}, nil, Takeover{Settled: true}},
		{"docker did not answer: asked again next hook", Previous{DockerErr: "timeout"}, nil, Takeover{}},
		{"the reactive charm's container on our data", Previous{DockerAsked: true, Container: ours}, nil, Takeover{Remove: ours}},
		{"someone else's container of that name", Previous{DockerAsked: true, Container: foreign}, nil, Takeover{Settled: true, Foreign: foreign}},
		{"root-owned data, user exists", Previous{DataOwner: root}, acc, Takeover{GiveData: true}},
		{"root-owned data, no user yet", Previous{DataOwner: root}, nil, Takeover{GiveData: true}},
		{"data already the user's", Previous{DataOwner: &Owner{4242, 4343}}, acc, Takeover{}},
		{"data the user's, group not", Previous{DataOwner: &Owner{4242, 0}}, acc, Takeover{GiveData: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := baseObserved(t)
			o.Host.Previous, o.Host.Account = tc.prev, tc.acc
			d := plan(o, planNow, func() string { return "new" })
			if d.Takeover != tc.want {
				t.Errorf("takeover %+v, want %+v", d.Takeover, tc.want)
			}
			if d.Hold != nil {
				t.Errorf("hold %+v, want none", d.Hold)
			}
			if (d.Progress != nil) != tc.want.GiveData {
				t.Errorf("progress status %+v with GiveData %v", d.Progress, tc.want.GiveData)
			} else if d.Progress != nil && d.Progress.Message != "Giving /srv/registry to user docker-registry" {
				t.Errorf("progress status %q", d.Progress.Message)
			}
		})
	}
}

// The remote application of each cert-provider relation is remembered, so
// that later hooks read its bag without first listing its units; a
// relation that is gone is forgotten.
func TestRemoteAppsRemembered(t *testing.T) {
	o := baseObserved(t)
	o.Host.State.RemoteApps = map[string]string{"cert-provider:3": "vault", "cert-provider:9": "easyrsa"}
	o.Certs = []Relation{
		{ID: "cert-provider:3"},                               // its units departed: still vault's
		{ID: "cert-provider:4", Units: []string{"lego-ca/1"}}, // new: learnt
	}
	got := plan(o, planNow, func() string { return "new" }).RemoteApps
	want := map[string]string{"cert-provider:3": "vault", "cert-provider:4": "lego-ca"}
	if !maps.Equal(got, want) {
		t.Errorf("remote apps %v, want %v", got, want)
	}
}

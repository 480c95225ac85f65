package charm

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/canonical/docker-registry-charm/internal/files"
	"github.com/canonical/docker-registry-charm/internal/juju"
)

// LocalState is what the unit remembers between hooks on its own disk:
// operator intent that Juju does not hold (stop/start, series upgrade) and
// the outcome of the last full reconcile. It holds no secrets, and nothing
// that helps guess one without the registry's http secret.
type LocalState struct {
	// Stopped is set by the stop action and cleared by start: the
	// registry stays down across hooks until the operator starts it.
	Stopped bool `json:"stopped,omitempty"`
	// SeriesUpgrade is set between pre- and post-series-upgrade.
	SeriesUpgrade bool `json:"series-upgrade,omitempty"`
	// TLSSource records who wrote the files at tls-*-path ("config" or
	// "relation"), so the charm removes only files it wrote and keeps
	// certificates an operator placed there by hand.
	TLSSource string `json:"tls-source,omitempty"`
	// TLSFiles are the tls-*-path files this charm wrote (machine
	// paths): the only ones it removes, and the only ones outside its
	// config directory it overwrites.
	TLSFiles []string `json:"tls-files,omitempty"`
	// NRPEFiles are the nagios files this unit wrote, removed with the
	// relation.
	NRPEFiles []string `json:"nrpe-files,omitempty"`
	// InstalledFrom identifies the charm binary last installed for the
	// service.
	InstalledFrom files.Identity `json:"installed-from"`
	// HtpasswdMemo says the htpasswd file on disk was verified to grant
	// the configured user and password (see htpasswdMemo).
	HtpasswdMemo string `json:"htpasswd-memo,omitempty"`
	// ReloadPending is set when the registry refused a reload: it still
	// serves the previous configuration and the next hook retries.
	ReloadPending bool `json:"reload-pending,omitempty"`
	// Pending is what files changed that systemd has not been told of
	// yet: recorded before they are written, cleared once the service
	// was reloaded or restarted, so a hook killed in between is followed
	// by one that finishes the job.
	// Kept in its own file (pending.go), cheaper to write than this one.
	// (A state file from the build before still holding some needs no
	// reading: that build's upgrade restarts the service anyway.)
	Pending Changes `json:"-"`
	// ReactiveContainerChecked is set once docker answered that the
	// reactive charm's registry container is gone, never was, or is
	// someone else's (see reactiveContainer): later hooks do not run
	// docker again.
	ReactiveContainerChecked bool `json:"reactive-container-checked,omitempty"`
	// GCHold is set while garbage-collect holds the registry read-only
	// (actions_gchold.go); a hook that finds it restores write mode.
	GCHold *GCHold `json:"gc-hold,omitempty"`
	// Last is the status computed by the last full reconcile; update-status
	// reuses it because nothing in Juju's model changes without a hook.
	Last *Summary `json:"last,omitempty"`
	// RemoteApps names the remote application of each cert-provider
	// relation, by relation id, as an earlier hook learnt it: its bag
	// is then read without first listing the relation's units.
	RemoteApps map[string]string `json:"remote-apps,omitempty"`
}

// Summary is the part of a reconcile's outcome that status depends on,
// apart from whether the registry answers right now.
type Summary struct {
	// Blocked or waiting status that does not depend on the workload.
	Hold *juju.Status `json:"hold,omitempty"`
	// Ready is the active message used when the registry answers.
	Ready string `json:"ready,omitempty"`
	// Warning ends the active message (Desired.Warning).
	Warning string `json:"warning,omitempty"`
	// Probe is where the registry should answer.
	Probe Probe `json:"probe"`
	// Status is the status last set, to avoid setting it again.
	Status juju.Status `json:"status"`
	// Configured is true once the registry has been rendered and started:
	// actions refuse to run before.
	Configured bool `json:"configured,omitempty"`
	// Netloc, Scheme and the client's view of the registry, for actions.
	Netloc string `json:"netloc,omitempty"`
	// Version is the workload version last reported to Juju.
	Version string `json:"version,omitempty"`
	Scheme  string `json:"scheme,omitempty"`
	// PortBusy is the registry-port the socket could not listen on in the
	// last full reconcile (0: none), which update-status keeps showing.
	PortBusy int `json:"port-busy,omitempty"`
	// TakeoverFailed is what of the reactive charm's leftovers the last
	// full reconcile could not take over ("": nothing), which
	// update-status keeps showing.
	TakeoverFailed string `json:"takeover-failed,omitempty"`
	// LocalData is set when the registry stores its data on the unit's
	// filesystem, whose use status reports.
	LocalData bool `json:"local-data,omitempty"`
	// CertExpires is when the served certificate expires; zero on http.
	CertExpires time.Time `json:"cert-expires,omitzero"`
}

func loadState(path string) (LocalState, error) {
	var s LocalState
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		s.Pending = readPending(pendingPath(path))
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("cannot read charm state: %w", err)
	}
	if err := json.Unmarshal(data, &s); err != nil {
		// A corrupt state file must not wedge every hook: start afresh,
		// the next full reconcile rebuilds it.
		s = LocalState{}
	}
	// What an earlier hook was about to tell systemd (pending.go).
	s.Pending = readPending(pendingPath(path))
	return s, nil
}

func saveState(path string, s LocalState) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("cannot encode charm state: %w", err)
	}
	_, err = files.Write(files.File{Path: path, Content: append(data, '\n'), Mode: 0o600})
	return err
}

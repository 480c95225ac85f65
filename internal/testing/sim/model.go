// Package sim simulates the Juju model around one application under test:
// its units, the remote applications it relates to, relation data, leader
// data, statuses, ports and actions, and every hook tool a charm may call
// (juju-contract §3), with Juju's commit rules and hook sequences (§4.2).
//
// The model does not know how the charm runs: an Executor dispatches each
// hook, either in-process (FuncExecutor) or as a real process whose hook
// tools reach the model through ServeTools and the jujutool forwarder.
package sim

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/juju/charm/v12"
)

// Options configure a Model. Only CharmDir is required.
type Options struct {
	CharmDir    string   // charm directory or packed .charm file
	App         string   // application name; defaults to the charm's name
	Executor    Executor // runs hooks; without one, sequences fail
	ModelName   string   // JUJU_MODEL_NAME; defaults to "test"
	ModelUUID   string   // JUJU_MODEL_UUID
	JujuVersion string   // JUJU_VERSION; defaults to "3.6.8"
	Proxy       Proxy    // the model's juju-*-proxy settings

	// UnitCharmDir is CHARM_DIR as the unit's hooks see it; defaults to
	// /var/lib/juju/agents/unit-<app>-<n>/charm.
	UnitCharmDir func(unit string) string
	// UnitAddress gives a new unit of ours its address; defaults to
	// 127.0.10.<n+1>, so nothing a test does by mistake leaves loopback.
	UnitAddress func(unit string) string
	// StorageLocation gives a filesystem storage instance its mount point;
	// defaults to the location in metadata.yaml.
	StorageLocation func(unit, storage string) string
	// Now stamps statuses and goal-state; defaults to time.Now.
	Now func() time.Time
}

// Proxy holds the model's proxy settings, passed to hooks as
// JUJU_CHARM_*_PROXY.
type Proxy struct{ HTTP, HTTPS, FTP, NoProxy string }

// Model is the Juju model of one application under test. All methods are
// safe for concurrent use: hook tools arrive from several processes.
type Model struct {
	mu   sync.Mutex
	opts Options
	app  string
	ch   charm.Charm

	config     charm.Settings // set by the operator, validated
	units      map[string]*unit
	nextUnit   int
	leader     string
	leaderData map[string]string
	appStatus  Status
	appVersion string

	remoteApps map[string]*remoteApplication
	relations  map[int]*relation
	nextRelID  int
	nextStore  map[string]int
	// deployStorage is how many instances of each storage new units get
	// (juju deploy --storage).
	deployStorage map[string]int
	storage       map[string]*storageInstance

	contexts map[string]*HookContext
	calls    []ToolCall
	hooks    []HookRun
	actions  []*ActionResult
	nextAct  int
	socket   string

	watchers []RelationWatcher
	seq      sequencer
	secrets  secretStore // user secrets and their consumers (secrets.go)
}

// NewModel reads the charm (dir or archive, checked as `juju deploy` does)
// and returns an empty model: no units until Deploy.
func NewModel(opts Options) (*Model, error) {
	ch, err := charm.ReadCharm(opts.CharmDir)
	if err != nil {
		return nil, fmt.Errorf("cannot read charm %q: %w", opts.CharmDir, err)
	}
	if opts.App == "" {
		opts.App = ch.Meta().Name
	}
	setDefaults(&opts)
	return &Model{
		opts:       opts,
		app:        opts.App,
		ch:         ch,
		config:     charm.Settings{},
		units:      map[string]*unit{},
		leaderData: map[string]string{},
		appStatus:  Status{Name: "unknown"},
		remoteApps: map[string]*remoteApplication{},
		relations:  map[int]*relation{},
		nextStore:  map[string]int{},
		storage:    map[string]*storageInstance{},
		contexts:   map[string]*HookContext{},
	}, nil
}

// MustNewModel is NewModel for tests whose charm fixture cannot be wrong.
func MustNewModel(opts Options) *Model {
	m, err := NewModel(opts)
	if err != nil {
		panic(err)
	}
	return m
}

func setDefaults(o *Options) {
	if o.ModelName == "" {
		o.ModelName = "test"
	}
	if o.ModelUUID == "" {
		o.ModelUUID = "9d0f6b1e-4c2a-4d8e-8a51-3f6c2b7d1e00"
	}
	if o.JujuVersion == "" {
		o.JujuVersion = "3.6.8"
	}
	if o.UnitCharmDir == nil {
		o.UnitCharmDir = func(u string) string {
			return "/var/lib/juju/agents/unit-" + strings.ReplaceAll(u, "/", "-") + "/charm"
		}
	}
	if o.UnitAddress == nil {
		o.UnitAddress = func(u string) string { return fmt.Sprintf("127.0.10.%d", unitNumber(u)+1) }
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// App is the name of the application under test.
func (m *Model) App() string { return m.app }

// Charm is the charm the model was built from (the newest after UpgradeCharm).
func (m *Model) Charm() charm.Charm {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ch
}

// Units lists our live units in order of creation.
func (m *Model) Units() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.liveUnits()
}

func (m *Model) liveUnits() []string {
	var out []string
	for name, u := range m.units {
		if !u.removed {
			out = append(out, name)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return unitNumber(a) - unitNumber(b) })
	return out
}

// Leader is the name of the leader unit, or "" before Deploy.
func (m *Model) Leader() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.leader
}

// LeaderData returns a copy of the application's leader settings.
func (m *Model) LeaderData() map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.leaderData)
}

// AppStatus is the application status last set by the leader.
func (m *Model) AppStatus() Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.appStatus.clone()
}

// AppVersion is the last application-version-set value of any unit.
func (m *Model) AppVersion() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.appVersion
}

// Config returns the effective configuration: defaults overlaid with the
// values set through SetConfig, as config-get --all sees it.
func (m *Model) Config() map[string]any {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.effectiveConfig()
}

func (m *Model) effectiveConfig() map[string]any {
	out := map[string]any(m.ch.Config().DefaultSettings())
	maps.Copy(out, m.config)
	return out
}

// unitNumber is the number after the slash; -1 for a malformed name.
func unitNumber(name string) int {
	_, n, ok := strings.Cut(name, "/")
	if !ok {
		return -1
	}
	i, err := strconv.Atoi(n)
	if err != nil {
		return -1
	}
	return i
}

// appOf is the application part of a unit name ("easyrsa/0" → "easyrsa").
func appOf(unit string) string {
	app, _, _ := strings.Cut(unit, "/")
	return app
}

// SetProxy changes the model's proxy settings (juju model-config
// juju-http-proxy=...); later hooks see them. Like Juju, it fires nothing
// by itself: call SetConfig(ctx, nil) for a config-changed.
func (m *Model) SetProxy(p Proxy) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.opts.Proxy = p
}

// SetExecutor replaces the executor for the hooks run from now on, e.g.
// to deploy in-process and then switch to real machines.
func (m *Model) SetExecutor(e Executor) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.opts.Executor = e
}

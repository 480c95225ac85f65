package sim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// Event says what a hook context runs: a hook (Hook) or an action (Action).
type Event struct {
	Hook   string // "install", "cert-provider-relation-changed"; empty for actions
	Action string // "push"; empty for hooks

	Relation      string // "cert-provider:5" in relation hooks
	RemoteUnit    string // empty in -created, -broken and app-data -changed
	RemoteApp     string // defaults to the relation's remote application
	DepartingUnit string // in -departed
	Storage       string // "registry-data/0" in storage hooks
	TargetBase    string // "ubuntu@24.04" in series upgrade hooks
	SecretID      string // "secret:<id>" in secret-changed
	SecretLabel   string // the unit's label for that secret, if it gave one

	ActionID     string         // defaults to a fresh number
	ActionParams map[string]any // validated and defaulted by RunAction
}

// Name is the hook or action name.
func (e Event) Name() string {
	if e.Action != "" {
		return e.Action
	}
	return e.Hook
}

// HookContext is one running hook or action of one unit: the environment
// it gets and the changes it buffers until it exits.
type HookContext struct {
	m    *Model
	id   string
	unit string
	ev   Event
	rel  *relation // the hook's relation, nil outside relation hooks

	// Buffered until Commit, dropped by Discard (juju-contract §3.1).
	relWrites map[int]*relWrites
	ports     []portOp
	results   map[string]any // action-set, nested by dotted keys
	stateSet  map[string]*string
	// Immediate, but remembered for the result and follow-up hooks.
	failed        bool
	failMsg       string
	actionLogs    []string
	leaderChanged bool
	done          bool
}

type relWrites struct {
	unit map[string]string // "" deletes
	app  map[string]string
}

type portOp struct {
	open bool
	port string // normalised, "5000/tcp"
}

// NewHookContext registers a context for unit running ev, as the uniter
// does before it starts the charm process. Unknown units, relations and
// storage are errors: the simulator never invents model state.
func (m *Model) NewHookContext(unitName string, ev Event) (*HookContext, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.newHookContext(unitName, ev)
}

func (m *Model) newHookContext(unitName string, ev Event) (*HookContext, error) {
	if u := m.units[unitName]; u == nil || u.removed {
		return nil, fmt.Errorf("cannot run %q: unit %q not in model", ev.Name(), unitName)
	}
	if (ev.Hook == "") == (ev.Action == "") {
		return nil, fmt.Errorf("cannot run on %s: event needs exactly one of Hook and Action", unitName)
	}
	hc := &HookContext{
		m: m, unit: unitName, ev: ev,
		id:        fmt.Sprintf("%s-%s-%d", unitName, ev.Name(), rand.Int64()),
		relWrites: map[int]*relWrites{},
		results:   map[string]any{},
		stateSet:  map[string]*string{},
	}
	if ev.Relation != "" {
		r, err := m.relationByArg(ev.Relation)
		if err != nil {
			return nil, fmt.Errorf("cannot run %q on %s: relation %q: %w", ev.Hook, unitName, ev.Relation, err)
		}
		hc.rel = r
		if hc.ev.RemoteApp == "" {
			hc.ev.RemoteApp = r.remoteApp
		}
	}
	if ev.Storage != "" && m.storage[ev.Storage] == nil {
		return nil, fmt.Errorf("cannot run %q on %s: storage %q not found", ev.Hook, unitName, ev.Storage)
	}
	if ev.Action != "" && hc.ev.ActionID == "" {
		m.nextAct++
		hc.ev.ActionID = fmt.Sprint(m.nextAct)
	}
	m.contexts[hc.id] = hc
	return hc, nil
}

// ID is JUJU_CONTEXT_ID.
func (hc *HookContext) ID() string { return hc.id }

// Unit is the unit the context runs on.
func (hc *HookContext) Unit() string { return hc.unit }

// Event is what the context runs.
func (hc *HookContext) Event() Event { return hc.ev }

// Env is the hook's environment exactly as Juju builds it (juju-contract
// §2), without PATH, which the Executor supplies. There is no HOME.
func (hc *HookContext) Env() []string {
	m := hc.m
	m.mu.Lock()
	defer m.mu.Unlock()
	u := m.units[hc.unit]
	charmDir := m.opts.UnitCharmDir(hc.unit)
	env := []string{
		"APT_LISTCHANGES_FRONTEND=none",
		"CHARM_DIR=" + charmDir,
		"CLOUD_API_VERSION=",
		"DEBIAN_FRONTEND=noninteractive",
		"JUJU_AGENT_SOCKET_ADDRESS=" + m.socketFor(hc.unit),
		"JUJU_AGENT_SOCKET_NETWORK=unix",
		"JUJU_API_ADDRESSES=127.0.0.1:17070",
		"JUJU_AVAILABILITY_ZONE=",
		"JUJU_CHARM_DIR=" + charmDir,
		"JUJU_CHARM_FTP_PROXY=" + m.opts.Proxy.FTP,
		"JUJU_CHARM_HTTPS_PROXY=" + m.opts.Proxy.HTTPS,
		"JUJU_CHARM_HTTP_PROXY=" + m.opts.Proxy.HTTP,
		"JUJU_CHARM_NO_PROXY=" + m.opts.Proxy.NoProxy,
		"JUJU_CONTEXT_ID=" + hc.id,
		"JUJU_HOOK_NAME=" + hc.ev.Hook,
		"JUJU_MACHINE_ID=" + u.machine,
		"JUJU_MODEL_NAME=" + m.opts.ModelName,
		"JUJU_MODEL_UUID=" + m.opts.ModelUUID,
		"JUJU_PRINCIPAL_UNIT=",
		"JUJU_SLA=unsupported",
		"JUJU_UNIT_NAME=" + hc.unit,
		"JUJU_VERSION=" + m.opts.JujuVersion,
		"LANG=C.UTF-8",
		"TERM=tmux-256color",
	}
	env = append(env, hc.eventEnv()...)
	slices.Sort(env)
	return env
}

// eventEnv holds the variables Juju sets only for some events.
func (hc *HookContext) eventEnv() []string {
	ev := hc.ev
	var env []string
	if ev.Action != "" {
		env = append(env, "JUJU_DISPATCH_PATH=actions/"+ev.Action,
			"JUJU_ACTION_NAME="+ev.Action,
			"JUJU_ACTION_UUID="+ev.ActionID,
			"JUJU_ACTION_TAG=action-"+ev.ActionID)
	} else {
		env = append(env, "JUJU_DISPATCH_PATH=hooks/"+ev.Hook)
	}
	if hc.rel != nil {
		env = append(env, "JUJU_RELATION="+hc.rel.endpoint,
			"JUJU_RELATION_ID="+hc.rel.key(),
			"JUJU_REMOTE_UNIT="+ev.RemoteUnit,
			"JUJU_REMOTE_APP="+ev.RemoteApp)
		if ev.DepartingUnit != "" {
			env = append(env, "JUJU_DEPARTING_UNIT="+ev.DepartingUnit)
		}
	}
	if s := hc.m.storage[ev.Storage]; s != nil {
		env = append(env, "JUJU_STORAGE_ID="+s.id,
			"JUJU_STORAGE_LOCATION="+s.location,
			"JUJU_STORAGE_KIND="+s.kind)
	}
	if ev.SecretID != "" {
		// JUJU_SECRET_REVISION is set only for the owner's hooks
		// (secret-remove, secret-expired), which user secrets never get.
		env = append(env, "JUJU_SECRET_ID="+ev.SecretID, "JUJU_SECRET_LABEL="+ev.SecretLabel)
	}
	if ev.TargetBase != "" {
		env = append(env, "JUJU_TARGET_BASE="+ev.TargetBase,
			"JUJU_TARGET_SERIES="+seriesOf(ev.TargetBase))
	}
	return env
}

// seriesOf maps an Ubuntu base to its series name for JUJU_TARGET_SERIES.
func seriesOf(base string) string {
	series := map[string]string{"20.04": "focal", "22.04": "jammy", "24.04": "noble"}
	_, ch, _ := strings.Cut(base, "@")
	return series[ch]
}

// EnvMap is Env as a map, for in-process charms.
func (hc *HookContext) EnvMap() map[string]string {
	out := map[string]string{}
	for _, kv := range hc.Env() {
		k, v, _ := strings.Cut(kv, "=")
		out[k] = v
	}
	return out
}

func (m *Model) socketFor(unit string) string {
	if m.socket != "" {
		return m.socket
	}
	return "@/var/lib/juju/agents/unit-" + strings.ReplaceAll(unit, "/", "-") + "/agent.socket"
}

package juju

import (
	"path"
	"strings"
)

// Env is the hook environment Juju gives the charm process, read once at
// start. Variables Juju sets only in some contexts (relation, action,
// storage hooks) are empty elsewhere.
type Env struct {
	UnitName    string // JUJU_UNIT_NAME, "docker-registry/0"
	AppName     string // derived from UnitName, "docker-registry"
	ModelName   string // JUJU_MODEL_NAME
	ModelUUID   string // JUJU_MODEL_UUID
	CharmDir    string // JUJU_CHARM_DIR, or CHARM_DIR
	ContextID   string // JUJU_CONTEXT_ID: the tools pass it back to the agent
	JujuVersion string // JUJU_VERSION, "3.6.4"

	DispatchPath string // JUJU_DISPATCH_PATH, "hooks/install" or "actions/push"
	HookName     string // JUJU_HOOK_NAME (empty for actions)
	ActionName   string // JUJU_ACTION_NAME
	ActionUUID   string // JUJU_ACTION_UUID

	RelationName  string // JUJU_RELATION: the endpoint, "cert-provider"
	RelationID    string // JUJU_RELATION_ID, "cert-provider:5"
	RemoteUnit    string // JUJU_REMOTE_UNIT; empty in -created, -broken and app-data -changed
	RemoteApp     string // JUJU_REMOTE_APP
	DepartingUnit string // JUJU_DEPARTING_UNIT, in -departed

	StorageID       string // JUJU_STORAGE_ID, "registry-data/0"
	StorageLocation string // JUJU_STORAGE_LOCATION
	StorageKind     string // JUJU_STORAGE_KIND, filesystem or block

	TargetBase string // JUJU_TARGET_BASE, in series upgrade hooks (3.x)

	SecretID       string // JUJU_SECRET_ID, "secret:cn4m…", in secret-* hooks
	SecretLabel    string // JUJU_SECRET_LABEL, the unit's label for it, if any
	SecretRevision string // JUJU_SECRET_REVISION, only when a revision applies

	CharmHTTPProxy  string // JUJU_CHARM_HTTP_PROXY
	CharmHTTPSProxy string // JUJU_CHARM_HTTPS_PROXY
	CharmNoProxy    string // JUJU_CHARM_NO_PROXY

	MachineID        string // JUJU_MACHINE_ID
	AvailabilityZone string // JUJU_AVAILABILITY_ZONE

	// argv0 is how the process was started; it names the hook when Juju
	// older than 2.8 ran hooks/<name> without JUJU_DISPATCH_PATH.
	argv0 string
}

// LoadEnv reads the environment through getenv (os.Getenv in production).
// argv0 is os.Args[0].
func LoadEnv(getenv func(string) string, argv0 string) Env {
	unit := getenv("JUJU_UNIT_NAME")
	app, _, _ := strings.Cut(unit, "/")
	charmDir := getenv("JUJU_CHARM_DIR")
	if charmDir == "" {
		charmDir = getenv("CHARM_DIR")
	}
	return Env{
		UnitName:         unit,
		AppName:          app,
		ModelName:        getenv("JUJU_MODEL_NAME"),
		ModelUUID:        getenv("JUJU_MODEL_UUID"),
		CharmDir:         charmDir,
		ContextID:        getenv("JUJU_CONTEXT_ID"),
		JujuVersion:      getenv("JUJU_VERSION"),
		DispatchPath:     getenv("JUJU_DISPATCH_PATH"),
		HookName:         getenv("JUJU_HOOK_NAME"),
		ActionName:       getenv("JUJU_ACTION_NAME"),
		ActionUUID:       getenv("JUJU_ACTION_UUID"),
		RelationName:     getenv("JUJU_RELATION"),
		RelationID:       getenv("JUJU_RELATION_ID"),
		RemoteUnit:       getenv("JUJU_REMOTE_UNIT"),
		RemoteApp:        getenv("JUJU_REMOTE_APP"),
		DepartingUnit:    getenv("JUJU_DEPARTING_UNIT"),
		StorageID:        getenv("JUJU_STORAGE_ID"),
		StorageLocation:  getenv("JUJU_STORAGE_LOCATION"),
		StorageKind:      getenv("JUJU_STORAGE_KIND"),
		TargetBase:       getenv("JUJU_TARGET_BASE"),
		SecretID:         getenv("JUJU_SECRET_ID"),
		SecretLabel:      getenv("JUJU_SECRET_LABEL"),
		SecretRevision:   getenv("JUJU_SECRET_REVISION"),
		CharmHTTPProxy:   getenv("JUJU_CHARM_HTTP_PROXY"),
		CharmHTTPSProxy:  getenv("JUJU_CHARM_HTTPS_PROXY"),
		CharmNoProxy:     getenv("JUJU_CHARM_NO_PROXY"),
		MachineID:        getenv("JUJU_MACHINE_ID"),
		AvailabilityZone: getenv("JUJU_AVAILABILITY_ZONE"),
		argv0:            argv0,
	}
}

// EventKind says whether the process runs a hook, an action, or neither
// (started by hand or by systemd).
type EventKind string

const (
	KindNone   EventKind = ""
	KindHook   EventKind = "hook"
	KindAction EventKind = "action"
)

// Event is what Juju asked the charm to handle.
type Event struct {
	Kind EventKind
	Name string // "config-changed", "push"; empty for KindNone
}

// Event decides the event from JUJU_DISPATCH_PATH, which Juju ≥ 2.8 sets for
// hooks and actions alike (JUJU_HOOK_NAME is empty for actions and missing
// on old agents). Without it, a process started through a hooks/<name> or
// actions/<name> link names its event by its own path.
func (e Env) Event() Event {
	if ev := eventFromPath(e.DispatchPath); ev.Kind != KindNone {
		return ev
	}
	return eventFromPath(e.argv0)
}

// eventFromPath reads "<hooks|actions>/<name>" from the last two elements
// of p, so relative and absolute paths both work.
func eventFromPath(p string) Event {
	p = path.Clean(p)
	dir, name := path.Split(p)
	if name == "" || name == "." || name == "/" {
		return Event{}
	}
	switch path.Base(strings.TrimSuffix(dir, "/")) {
	case "hooks":
		return Event{Kind: KindHook, Name: name}
	case "actions":
		return Event{Kind: KindAction, Name: name}
	}
	return Event{}
}

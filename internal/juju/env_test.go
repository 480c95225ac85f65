package juju_test

import (
	"testing"

	"github.com/canonical/docker-registry-charm/internal/juju"
)

func getenv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadEnv(t *testing.T) {
	env := juju.LoadEnv(getenv(map[string]string{
		"JUJU_UNIT_NAME":         "docker-registry/3",
		"JUJU_MODEL_NAME":        "k8s",
		"JUJU_MODEL_UUID":        "cdac5656-0000",
		"CHARM_DIR":              "/old",
		"JUJU_CHARM_DIR":         "/var/lib/juju/agents/unit-docker-registry-3/charm",
		"JUJU_CONTEXT_ID":        "docker-registry/3-cert-provider-relation-changed-42",
		"JUJU_VERSION":           "3.6.4",
		"JUJU_DISPATCH_PATH":     "hooks/cert-provider-relation-changed",
		"JUJU_HOOK_NAME":         "cert-provider-relation-changed",
		"JUJU_RELATION":          "cert-provider",
		"JUJU_RELATION_ID":       "cert-provider:5",
		"JUJU_REMOTE_UNIT":       "easyrsa/0",
		"JUJU_REMOTE_APP":        "easyrsa",
		"JUJU_DEPARTING_UNIT":    "easyrsa/1",
		"JUJU_STORAGE_ID":        "registry-data/0",
		"JUJU_STORAGE_LOCATION":  "/srv/registry",
		"JUJU_STORAGE_KIND":      "filesystem",
		"JUJU_TARGET_BASE":       "ubuntu@24.04",
		"JUJU_SECRET_ID":         "secret:cn4m2rjpbv7s71a2fsj0",
		"JUJU_SECRET_LABEL":      "db",
		"JUJU_SECRET_REVISION":   "3",
		"JUJU_CHARM_HTTP_PROXY":  "http://proxy:3128",
		"JUJU_CHARM_HTTPS_PROXY": "http://proxy:3129",
		"JUJU_CHARM_NO_PROXY":    "127.0.0.1",
		"JUJU_MACHINE_ID":        "0/lxd/3",
		"JUJU_AVAILABILITY_ZONE": "az1",
		"JUJU_ACTION_NAME":       "push",
		"JUJU_ACTION_UUID":       "42",
	}), "/var/lib/juju/agents/unit-docker-registry-3/charm/dispatch")
	want := map[string]string{
		"UnitName": env.UnitName, "AppName": env.AppName, "ModelName": env.ModelName,
		"ModelUUID": env.ModelUUID, "CharmDir": env.CharmDir, "ContextID": env.ContextID,
		"JujuVersion": env.JujuVersion, "DispatchPath": env.DispatchPath, "HookName": env.HookName,
		"RelationName": env.RelationName, "RelationID": env.RelationID, "RemoteUnit": env.RemoteUnit,
		"RemoteApp": env.RemoteApp, "DepartingUnit": env.DepartingUnit, "StorageID": env.StorageID,
		"StorageLocation": env.StorageLocation, "StorageKind": env.StorageKind, "TargetBase": env.TargetBase,
		"SecretID": env.SecretID, "SecretLabel": env.SecretLabel, "SecretRevision": env.SecretRevision,
		"CharmHTTPProxy": env.CharmHTTPProxy, "CharmHTTPSProxy": env.CharmHTTPSProxy,
		"CharmNoProxy": env.CharmNoProxy, "MachineID": env.MachineID,
		"AvailabilityZone": env.AvailabilityZone, "ActionName": env.ActionName, "ActionUUID": env.ActionUUID,
	}
	expect := map[string]string{
		"UnitName": "docker-registry/3", "AppName": "docker-registry", "ModelName": "k8s",
		"ModelUUID": "cdac5656-0000", "CharmDir": "/var/lib/juju/agents/unit-docker-registry-3/charm",
		"ContextID": "docker-registry/3-cert-provider-relation-changed-42", "JujuVersion": "3.6.4",
		"DispatchPath": "hooks/cert-provider-relation-changed", "HookName": "cert-provider-relation-changed",
		"RelationName": "cert-provider", "RelationID": "cert-provider:5", "RemoteUnit": "easyrsa/0",
		"RemoteApp": "easyrsa", "DepartingUnit": "easyrsa/1", "StorageID": "registry-data/0",
		"StorageLocation": "/srv/registry", "StorageKind": "filesystem", "TargetBase": "ubuntu@24.04",
		"SecretID": "secret:cn4m2rjpbv7s71a2fsj0", "SecretLabel": "db", "SecretRevision": "3",
		"CharmHTTPProxy": "http://proxy:3128", "CharmHTTPSProxy": "http://proxy:3129",
		"CharmNoProxy": "127.0.0.1", "MachineID": "0/lxd/3", "AvailabilityZone": "az1",
		"ActionName": "push", "ActionUUID": "42",
	}
	for k, v := range expect {
		if want[k] != v {
			t.Errorf("%s = %q, want %q", k, want[k], v)
		}
	}
}

func TestLoadEnvOldCharmDir(t *testing.T) {
	env := juju.LoadEnv(getenv(map[string]string{"CHARM_DIR": "/old"}), "x")
	if env.CharmDir != "/old" {
		t.Errorf("CharmDir = %q, want CHARM_DIR's value", env.CharmDir)
	}
	if env.AppName != "" {
		t.Errorf("AppName = %q without a unit", env.AppName)
	}
}

func TestEvent(t *testing.T) {
	tests := []struct {
		dispatch, argv0 string
		want            juju.Event
	}{
		{"hooks/install", "/charm/dispatch", juju.Event{Kind: juju.KindHook, Name: "install"}},
		{"hooks/cert-provider-relation-changed", "./dispatch",
			juju.Event{Kind: juju.KindHook, Name: "cert-provider-relation-changed"}},
		{"actions/garbage-collect", "/charm/dispatch", juju.Event{Kind: juju.KindAction, Name: "garbage-collect"}},
		// Juju < 2.8 starts hooks/<name> (our link to dispatch) without JUJU_DISPATCH_PATH.
		{"", "/var/lib/juju/agents/unit-x-0/charm/hooks/install", juju.Event{Kind: juju.KindHook, Name: "install"}},
		{"", "hooks/upgrade-charm", juju.Event{Kind: juju.KindHook, Name: "upgrade-charm"}},
		{"", "./hooks/start", juju.Event{Kind: juju.KindHook, Name: "start"}},
		{"", "actions/push", juju.Event{Kind: juju.KindAction, Name: "push"}},
		// charmcraft's dispatch shim sets JUJU_DISPATCH_PATH=$0 on old agents.
		{"/var/lib/juju/agents/unit-x-0/charm/hooks/stop", "", juju.Event{Kind: juju.KindHook, Name: "stop"}},
		// Started by hand or by systemd: no event.
		{"", "/usr/bin/docker-registry", juju.Event{}},
		{"", "dispatch", juju.Event{}},
		{"", "", juju.Event{}},
		{"hooks/", "", juju.Event{}},
		{"something/else", "/charm/dispatch", juju.Event{}},
	}
	for _, tt := range tests {
		env := juju.LoadEnv(getenv(map[string]string{"JUJU_DISPATCH_PATH": tt.dispatch}), tt.argv0)
		if got := env.Event(); got != tt.want {
			t.Errorf("dispatch %q argv0 %q: Event() = %+v, want %+v", tt.dispatch, tt.argv0, got, tt.want)
		}
	}
}

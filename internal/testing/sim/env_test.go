package sim_test

import (
	"context"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/canonical/docker-registry-charm/internal/testing/sim"
)

// Variables every hook gets, whatever the event (juju-contract §2).
var alwaysSet = []string{
	"APT_LISTCHANGES_FRONTEND", "CHARM_DIR", "CLOUD_API_VERSION", "DEBIAN_FRONTEND",
	"JUJU_AGENT_SOCKET_ADDRESS", "JUJU_AGENT_SOCKET_NETWORK", "JUJU_API_ADDRESSES",
	"JUJU_AVAILABILITY_ZONE", "JUJU_CHARM_DIR", "JUJU_CHARM_FTP_PROXY", "JUJU_CHARM_HTTPS_PROXY",
	"JUJU_CHARM_HTTP_PROXY", "JUJU_CHARM_NO_PROXY", "JUJU_CONTEXT_ID", "JUJU_DISPATCH_PATH",
	"JUJU_HOOK_NAME", "JUJU_MACHINE_ID", "JUJU_MODEL_NAME", "JUJU_MODEL_UUID",
	"JUJU_PRINCIPAL_UNIT", "JUJU_SLA", "JUJU_UNIT_NAME", "JUJU_VERSION", "LANG", "TERM",
}

func keysOf(env map[string]string) []string {
	var out []string
	for k := range env {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkEnv asserts env holds exactly alwaysSet plus extra, and the values
// given in want.
func checkEnv(t *testing.T, what string, env map[string]string, extra []string, want map[string]string) {
	t.Helper()
	if env == nil {
		t.Fatalf("%s: hook did not run", what)
	}
	keys := append(append([]string{}, alwaysSet...), extra...)
	sort.Strings(keys)
	equal(t, what+" variables", keysOf(env), keys)
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s: %s = %q, want %q", what, k, env[k], v)
		}
	}
}

var relVars = []string{"JUJU_RELATION", "JUJU_RELATION_ID", "JUJU_REMOTE_APP", "JUJU_REMOTE_UNIT"}

func TestHookEnvironmentPerKind(t *testing.T) {
	c := &charm{}
	m, err := sim.NewModel(sim.Options{CharmDir: "testdata/charm", Executor: c.executor(),
		Proxy: sim.Proxy{HTTP: "http://squid:3128", NoProxy: "127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := m.Deploy(ctx, 1); err != nil {
		t.Fatal(err)
	}
	u := "docker-registry/0"
	install := c.lastEnv(u, "install")
	checkEnv(t, "install", install, nil, map[string]string{
		"JUJU_DISPATCH_PATH": "hooks/install", "JUJU_HOOK_NAME": "install", "JUJU_UNIT_NAME": u,
		"CHARM_DIR":             "/var/lib/juju/agents/unit-docker-registry-0/charm",
		"JUJU_CHARM_HTTP_PROXY": "http://squid:3128", "JUJU_CHARM_NO_PROXY": "127.0.0.1",
		"JUJU_AGENT_SOCKET_NETWORK": "unix", "JUJU_MACHINE_ID": "0",
	})
	if !regexp.MustCompile(`^docker-registry/0-install-\d+$`).MatchString(install["JUJU_CONTEXT_ID"]) {
		t.Errorf("JUJU_CONTEXT_ID = %q", install["JUJU_CONTEXT_ID"])
	}
	checkEnv(t, "storage-attached", c.lastEnv(u, "registry-data-storage-attached"),
		[]string{"JUJU_STORAGE_ID", "JUJU_STORAGE_KIND", "JUJU_STORAGE_LOCATION"},
		map[string]string{"JUJU_STORAGE_ID": "registry-data/0", "JUJU_STORAGE_KIND": "filesystem",
			"JUJU_STORAGE_LOCATION": "/srv/registry"})
	checkEnv(t, "peer created", c.lastEnv(u, "peer-relation-created"), relVars,
		map[string]string{"JUJU_RELATION": "peer", "JUJU_RELATION_ID": "peer:0",
			"JUJU_REMOTE_APP": "docker-registry", "JUJU_REMOTE_UNIT": ""})

	rel, err := m.Relate(ctx, "cert-provider", "easyrsa", sim.RemoteUnit{Name: "easyrsa/0"})
	if err != nil {
		t.Fatal(err)
	}
	relKey := "cert-provider:" + itoa(rel)
	checkEnv(t, "created", c.lastEnv(u, "cert-provider-relation-created"), relVars,
		map[string]string{"JUJU_RELATION_ID": relKey, "JUJU_REMOTE_APP": "easyrsa", "JUJU_REMOTE_UNIT": ""})
	checkEnv(t, "joined", c.lastEnv(u, "cert-provider-relation-joined"), relVars,
		map[string]string{"JUJU_REMOTE_UNIT": "easyrsa/0", "JUJU_REMOTE_APP": "easyrsa"})
	if err := m.SetRemoteAppData(ctx, rel, map[string]string{"ca": "x"}); err != nil {
		t.Fatal(err)
	}
	checkEnv(t, "app changed", c.lastEnv(u, "cert-provider-relation-changed"), relVars,
		map[string]string{"JUJU_REMOTE_UNIT": "", "JUJU_REMOTE_APP": "easyrsa"})
	if err := m.Unrelate(ctx, rel); err != nil {
		t.Fatal(err)
	}
	checkEnv(t, "departed", c.lastEnv(u, "cert-provider-relation-departed"),
		append([]string{"JUJU_DEPARTING_UNIT"}, relVars...),
		map[string]string{"JUJU_REMOTE_UNIT": "easyrsa/0", "JUJU_DEPARTING_UNIT": "easyrsa/0"})
	checkEnv(t, "broken", c.lastEnv(u, "cert-provider-relation-broken"), relVars,
		map[string]string{"JUJU_REMOTE_UNIT": "", "JUJU_RELATION_ID": relKey})
	if _, stderr, code := execIn(t, m, u, sim.Event{Hook: "update-status"}, "", "relation-list", "-r", relKey); code != 2 ||
		stderr != `ERROR invalid value "`+relKey+`" for option -r: relation not found` {
		t.Errorf("relation-list of a removed relation: exit %d %q", code, stderr)
	}
	if ids, _, _ := execIn(t, m, u, sim.Event{Hook: "update-status"}, "", "relation-ids", "cert-provider"); ids != "" {
		t.Errorf("relation-ids lists a removed relation: %q", ids)
	}

	if _, err := m.RunAction(ctx, u, "gc", nil); err != nil {
		t.Fatal(err)
	}
	action := c.lastEnv(u, "gc")
	checkEnv(t, "action", action, []string{"JUJU_ACTION_NAME", "JUJU_ACTION_TAG", "JUJU_ACTION_UUID"},
		map[string]string{"JUJU_HOOK_NAME": "", "JUJU_DISPATCH_PATH": "actions/gc", "JUJU_ACTION_NAME": "gc"})
	if action["JUJU_ACTION_TAG"] != "action-"+action["JUJU_ACTION_UUID"] {
		t.Errorf("action tag %q uuid %q", action["JUJU_ACTION_TAG"], action["JUJU_ACTION_UUID"])
	}

	if err := m.PreSeriesUpgrade(ctx, u, "ubuntu@24.04"); err != nil {
		t.Fatal(err)
	}
	checkEnv(t, "pre-series-upgrade", c.lastEnv(u, "pre-series-upgrade"),
		[]string{"JUJU_TARGET_BASE", "JUJU_TARGET_SERIES"},
		map[string]string{"JUJU_TARGET_BASE": "ubuntu@24.04", "JUJU_TARGET_SERIES": "noble"})
	for k := range install {
		if strings.HasPrefix(k, "HOME") || k == "PATH" || k == "USER" {
			t.Errorf("%s set", k)
		}
	}
}

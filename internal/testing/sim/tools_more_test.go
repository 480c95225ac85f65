package sim_test

import (
	"context"
	"strings"
	"testing"

	"github.com/canonical/docker-registry-charm/internal/testing/sim"
)

func TestRelationGetDefaultsInRelationHooks(t *testing.T) {
	c := &charm{}
	m := deploy(t, c, 1)
	got := map[string]string{}
	c.fn = func(h *hook) int {
		if !strings.HasPrefix(h.event(), "cert-provider-relation-") {
			return 0
		}
		out, err := h.tool("relation-get", "--format=json", "ca")
		if err != nil {
			out = err.Error()
		}
		got[h.event()+" "+h.env["JUJU_REMOTE_UNIT"]] = out
		return 0
	}
	ctx := context.Background()
	rel, err := m.Relate(ctx, "cert-provider", "easyrsa",
		sim.RemoteUnit{Name: "easyrsa/0", Data: map[string]string{"ca": "unit-ca"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SetRemoteAppData(ctx, rel, map[string]string{"ca": "app-ca"}); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		// No remote unit: the remote app, --app implied.
		"cert-provider-relation-created ":          `null` + "\n",
		"cert-provider-relation-joined easyrsa/0":  `"unit-ca"` + "\n",
		"cert-provider-relation-changed easyrsa/0": `"unit-ca"` + "\n",
		"cert-provider-relation-changed ":          `"app-ca"` + "\n",
	} {
		if got[k] != want {
			t.Errorf("%s: relation-get ca = %q, want %q", k, got[k], want)
		}
	}
}

func TestStateGoalStateAndMiscTools(t *testing.T) {
	m := deploy(t, &charm{}, 1)
	u := "docker-registry/0"
	hc, err := m.NewHookContext(u, sim.Event{Hook: "update-status"})
	if err != nil {
		t.Fatal(err)
	}
	run := func(want string, argv ...string) {
		t.Helper()
		out, stderr, code := m.Exec(hc, argv, nil)
		if code != 0 || string(out) != want {
			t.Errorf("%v: exit %d %s\n got %q\nwant %q", argv, code, stderr, out, want)
		}
	}
	run("", "state-set", "a=1", "b=2")
	run("", "state-delete", "b")
	run(`{"a":"1"}`+"\n", "state-get", "--format=json")
	run("1\n", "state-get", "a")
	if _, stderr, code := m.Exec(hc, []string{"state-get", "--strict", "b"}, nil); code != 1 {
		t.Errorf("state-get --strict of a missing key: exit %d %s", code, stderr)
	}
	run("", "open-port", "8000-8010/udp")
	run("", "open-port", "icmp")
	if out, stderr, code := m.Exec(hc, []string{"open-port", "--format=json", "22"}, nil); code != 0 ||
		len(out) != 0 || string(stderr) != `--format flag deprecated for command "open-port"` {
		t.Errorf("open-port --format: exit %d %q %q", code, out, stderr)
	}
	run("", "close-port", "22")
	run("Usage: is-leader [options]\n", "is-leader", "--help")
	hc.Commit()
	if st := m.Unit(u).State(); len(st) != 1 || st["a"] != "1" {
		t.Errorf("committed state = %v", st)
	}
	hc, _ = m.NewHookContext(u, sim.Event{Hook: "update-status"})
	defer hc.Discard()
	run(`["8000-8010/udp (*)","icmp (*)"]`+"\n", "opened-ports", "--endpoints", "--format=json")
	out, _, _ := m.Exec(hc, []string{"goal-state", "--format=json"}, nil)
	if !strings.HasPrefix(string(out), `{"relations":{"peer":{"docker-registry/0":{"status":"active","since":"`) {
		t.Errorf("goal-state = %s", out)
	}
	out, _, _ = m.Exec(hc, []string{"network-get", "peer"}, nil)
	if !strings.Contains(string(out), "macaddress: 00:16:3e:00:00:01") || !strings.Contains(string(out), "address: 127.0.10.1") {
		t.Errorf("network-get yaml lacks the legacy keys:\n%s", out)
	}
}

func TestLogStatusAndNetworkDetails(t *testing.T) {
	m := deploy(t, &charm{}, 2)
	ctx := context.Background()
	rel, err := m.Relate(ctx, "website", "haproxy", sim.RemoteUnit{Name: "haproxy/0"})
	if err != nil {
		t.Fatal(err)
	}
	key := "website:" + itoa(rel)
	leader := "docker-registry/0"
	changed := sim.Event{Hook: "website-relation-changed", Relation: key, RemoteUnit: "haproxy/0"}
	for _, argv := range [][]string{
		{"juju-log", "--log-level", "warn", "ready", "now"},
		{"juju-log", "-l", "LOUD", "x"},
		{"status-set", "--application=True", "active", "all good"},
		{"status-set", "--", "blocked", "-weird message"},
	} {
		if _, stderr, code := execIn(t, m, leader, changed, "", argv...); code != 0 {
			t.Fatalf("%v: %s", argv, stderr)
		}
	}
	logs := m.Unit(leader).Logs()
	want := []sim.LogLine{
		{Level: "WARNING", Message: key + ": ready now", Hook: "website-relation-changed"},
		{Level: "WARNING", Message: `Specified log level of "LOUD" is not valid`, Hook: "website-relation-changed"},
		{Level: "INFO", Message: key + ": x", Hook: "website-relation-changed"},
	}
	equal(t, "logs", logs, want)
	if st := m.AppStatus(); st.Name != "active" || st.Message != "all good" {
		t.Errorf("app status %+v", st)
	}
	if st := m.Unit(leader).Status(); st.Name != "blocked" || st.Message != "-weird message" {
		t.Errorf("unit status %+v", st)
	}
	for _, tc := range []struct {
		argv []string
		want string
	}{
		{[]string{"status-get", "--application", "--include-data", "--format=json"},
			`{"application-status":{"message":"all good","status":"active","status-data":{},"units":{` +
				`"docker-registry/0":{"message":"-weird message","status":"blocked","status-data":{}},` +
				`"docker-registry/1":{"message":"","status":"unknown","status-data":{}}}}}` + "\n"},
		{[]string{"network-get", "-r", key, "website", "--ingress-address", "--egress-subnets", "--format=json"},
			`{"egress-subnets":["127.0.10.1/32"],"ingress-address":"127.0.10.1"}` + "\n"},
		{[]string{"relation-get", "--format=json", "private-address"}, `"127.0.20.1"` + "\n"},
		{[]string{"relation-get", "--app", "--format=json"}, "{}\n"},
		{[]string{"relation-list"}, "haproxy/0\n"},
		{[]string{"relation-ids"}, key + "\n"},
	} {
		out, stderr, code := execIn(t, m, leader, changed, "", tc.argv...)
		if code != 0 || out != tc.want {
			t.Errorf("%v: exit %d %s\n got %q\nwant %q", tc.argv, code, stderr, out, tc.want)
		}
	}
}

func TestAddressChange(t *testing.T) {
	m := deploy(t, &charm{}, 1)
	u := m.Unit("docker-registry/0")
	u.SetAddress("127.0.30.5")
	bag := m.RelationData(m.PeerRelation("peer"), u.Name())
	if bag["private-address"] != "127.0.30.5" || bag["egress-subnets"] != "127.0.30.5/32" {
		t.Errorf("bag after address change: %v", bag)
	}
	if out, _, _ := execIn(t, m, u.Name(), install, "", "unit-get", "private-address"); out != "127.0.30.5\n" {
		t.Errorf("unit-get = %q", out)
	}
}

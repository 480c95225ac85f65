package sim_test

import (
	"context"
	"strings"
	"testing"

	"github.com/canonical/docker-registry-charm/internal/testing/sim"
)

// A simulated easyrsa answers our unit's certificate request through a
// RelationWatcher, and our unit hears the answer with -changed.
func TestRemoteSimulationAnswersCommittedWrites(t *testing.T) {
	c := &charm{}
	m := deploy(t, c, 1)
	ctx := context.Background()
	var gotCert string
	c.fn = func(h *hook) int {
		switch h.event() {
		case "cert-provider-relation-joined":
			h.tool("relation-set", "common_name=10.0.0.5", "unit_name=docker-registry_0")
		case "cert-provider-relation-changed":
			gotCert, _ = h.tool("relation-get", "docker-registry_0.server.cert")
		}
		return 0
	}
	m.OnRelationChanged(func(ctx context.Context, ch sim.RelationChange) error {
		if ch.RemoteApp != "easyrsa" || ch.App || ch.Data["common_name"] == "" {
			return nil
		}
		return m.SetRemoteData(ctx, ch.RelationID, "easyrsa/0", map[string]string{
			"docker-registry_0.server.cert": "CERT for " + ch.Data["common_name"]})
	})
	mark := m.HookMark()
	rel, err := m.Relate(ctx, "cert-provider", "easyrsa", sim.RemoteUnit{Name: "easyrsa/0", Address: "10.0.0.9"})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "hooks", sim.HookNames(m.Hooks(mark), ""), []string{
		"cert-provider-relation-created",
		"cert-provider-relation-joined (easyrsa/0)",
		"cert-provider-relation-changed (easyrsa/0)",
		"cert-provider-relation-changed (easyrsa/0)",
	})
	if gotCert != "CERT for 10.0.0.5\n" {
		t.Errorf("cert seen = %q", gotCert)
	}
	if addr := m.RelationData(rel, "easyrsa/0")["ingress-address"]; addr != "10.0.0.9" {
		t.Errorf("remote ingress-address = %q", addr)
	}
	// Setting the same data again changes nothing and fires nothing.
	mark = m.HookMark()
	if err := m.SetRemoteData(ctx, rel, "easyrsa/0", map[string]string{
		"docker-registry_0.server.cert": "CERT for 10.0.0.5"}); err != nil {
		t.Fatal(err)
	}
	if n := len(m.Hooks(mark)); n != 0 {
		t.Errorf("%d hooks for an unchanged bag", n)
	}
}

func TestRemoveLeaderUnit(t *testing.T) {
	c := &charm{}
	m := deploy(t, c, 3)
	ctx := context.Background()
	rel, err := m.Relate(ctx, "website", "haproxy", sim.RemoteUnit{Name: "haproxy/0"})
	if err != nil {
		t.Fatal(err)
	}
	mark := m.HookMark()
	if err := m.RemoveUnit(ctx, "docker-registry/0"); err != nil {
		t.Fatal(err)
	}
	runs := m.Hooks(mark)
	equal(t, "removed unit", sim.HookNames(runs, "docker-registry/0"), []string{
		"peer-relation-departed (docker-registry/1)", "peer-relation-departed (docker-registry/2)",
		"website-relation-departed (haproxy/0)", "website-relation-broken",
		"stop", "registry-data-storage-detaching", "remove",
	})
	for _, r := range runs {
		if r.Unit == "docker-registry/0" && strings.HasSuffix(r.Hook, "-departed") && r.DepartingUnit != "docker-registry/0" {
			t.Errorf("%v: departing unit %q", r, r.DepartingUnit)
		}
	}
	equal(t, "new leader", sim.HookNames(runs, "docker-registry/1"), []string{
		"peer-relation-departed (docker-registry/0)", "leader-elected"})
	equal(t, "other", sim.HookNames(runs, "docker-registry/2"), []string{
		"peer-relation-departed (docker-registry/0)", "leader-settings-changed"})
	if m.Leader() != "docker-registry/1" || m.Unit("docker-registry/0").Exists() {
		t.Errorf("leader %q, removed unit exists %v", m.Leader(), m.Unit("docker-registry/0").Exists())
	}
	equal(t, "units", m.Units(), []string{"docker-registry/1", "docker-registry/2"})
	if m.RelationData(rel, "docker-registry/0") == nil {
		t.Error("a departed unit's data must stay readable")
	}
}

func TestAddUnitJoinsExistingRelations(t *testing.T) {
	m := deploy(t, &charm{}, 1)
	ctx := context.Background()
	if _, err := m.Relate(ctx, "docker-registry", "containerd", sim.RemoteUnit{Name: "containerd/0"},
		sim.RemoteUnit{Name: "containerd/1"}); err != nil {
		t.Fatal(err)
	}
	mark := m.HookMark()
	name, err := m.AddUnit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "new unit", sim.HookNames(m.Hooks(mark), name), []string{
		"registry-data-storage-attached", "install", "peer-relation-created",
		"docker-registry-relation-created", "leader-settings-changed", "config-changed", "start",
		"peer-relation-joined (docker-registry/0)", "peer-relation-changed (docker-registry/0)",
		"docker-registry-relation-joined (containerd/0)", "docker-registry-relation-changed (containerd/0)",
		"docker-registry-relation-joined (containerd/1)", "docker-registry-relation-changed (containerd/1)",
	})
	equal(t, "old unit", sim.HookNames(m.Hooks(mark), "docker-registry/0"), []string{
		"peer-relation-joined (docker-registry/1)", "peer-relation-changed (docker-registry/1)"})
}

func TestUpgradeCharmOrder(t *testing.T) {
	m := deploy(t, &charm{}, 2)
	mark := m.HookMark()
	if err := m.UpgradeCharm(context.Background(), "testdata/charm"); err != nil {
		t.Fatal(err)
	}
	equal(t, "leader", sim.HookNames(m.Hooks(mark), "docker-registry/0"),
		[]string{"upgrade-charm", "config-changed", "start"})
	equal(t, "non-leader", sim.HookNames(m.Hooks(mark), "docker-registry/1"),
		[]string{"upgrade-charm", "config-changed", "leader-settings-changed", "start"})
}

func TestSetConfigValidates(t *testing.T) {
	m := deploy(t, &charm{}, 1)
	ctx := context.Background()
	if err := m.SetConfig(ctx, map[string]any{"registry-port": "abc"}); err == nil {
		t.Fatal("bad int accepted")
	}
	if err := m.SetConfig(ctx, map[string]any{"nope": 1}); err == nil ||
		!strings.Contains(err.Error(), `unknown option "nope"`) {
		t.Fatalf("unknown option: %v", err)
	}
	// Juju coerces "5001" for an int option.
	if err := m.SetConfig(ctx, map[string]any{"registry-port": "5001"}); err != nil {
		t.Fatal(err)
	}
	if v := m.Config()["registry-port"]; v != int64(5001) {
		t.Fatalf("registry-port = %#v", v)
	}
	if err := m.SetConfig(ctx, map[string]any{"registry-port": nil}); err != nil {
		t.Fatal(err)
	}
	if v := m.Config()["registry-port"]; v != int64(5000) {
		t.Fatalf("reset registry-port = %#v", v)
	}
}

func TestLeaderSetTellsOtherUnits(t *testing.T) {
	c := &charm{}
	m := deploy(t, c, 2)
	c.fn = func(h *hook) int {
		if h.event() == "update-status" && h.env["JUJU_UNIT_NAME"] == "docker-registry/0" {
			h.tool("leader-set", "http-secret=abc")
		}
		if h.event() == "leader-settings-changed" {
			if v, _ := h.tool("leader-get", "http-secret"); v != "abc\n" {
				t.Errorf("leader-get on the follower = %q", v)
			}
		}
		return 0
	}
	mark := m.HookMark()
	if err := m.UpdateStatus(context.Background()); err != nil {
		t.Fatal(err)
	}
	equal(t, "follower", sim.HookNames(m.Hooks(mark), "docker-registry/1"),
		[]string{"update-status", "leader-settings-changed"})
}

func TestRemoteUnitsComeAndGo(t *testing.T) {
	c := &charm{}
	m := deploy(t, c, 1)
	ctx := context.Background()
	var listed []string
	c.fn = func(h *hook) int {
		if strings.HasPrefix(h.event(), "docker-registry-relation-") {
			out, _ := h.tool("relation-list")
			listed = append(listed, h.event()+" "+strings.ReplaceAll(strings.TrimSpace(out), "\n", ","))
		}
		return 0
	}
	rel, err := m.Relate(ctx, "docker-registry", "containerd", sim.RemoteUnit{Name: "containerd/0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.AddRemoteUnit(ctx, rel, sim.RemoteUnit{Name: "containerd/1"}); err != nil {
		t.Fatal(err)
	}
	if err := m.RemoveRemoteUnit(ctx, rel, "containerd/0"); err != nil {
		t.Fatal(err)
	}
	// The joining unit is listed in its -joined; the departing one is
	// gone in its -departed.
	equal(t, "relation-list per hook", listed, []string{
		"docker-registry-relation-created ",
		"docker-registry-relation-joined containerd/0",
		"docker-registry-relation-changed containerd/0",
		"docker-registry-relation-joined containerd/0,containerd/1",
		"docker-registry-relation-changed containerd/0,containerd/1",
		"docker-registry-relation-departed containerd/1",
	})
	if err := m.SetRemoteData(ctx, rel, "containerd/0", map[string]string{"x": "1"}); err == nil {
		t.Error("data set for a departed remote unit")
	}
	info, _ := m.Relation(rel)
	equal(t, "remote units", info.RemoteUnits, []string{"containerd/1"})
}

func TestSetLeader(t *testing.T) {
	m := deploy(t, &charm{}, 3)
	mark := m.HookMark()
	if err := m.SetLeader(context.Background(), "docker-registry/2"); err != nil {
		t.Fatal(err)
	}
	equal(t, "hooks", sim.HookNames(m.Hooks(mark), ""), []string{
		"leader-settings-changed", "leader-settings-changed", "leader-elected"})
	if !m.Unit("docker-registry/2").IsLeader() || m.Unit("docker-registry/0").IsLeader() {
		t.Error("leadership did not move")
	}
}

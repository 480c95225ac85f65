package sim_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/canonical/docker-registry-charm/internal/testing/sim"
)

// A hook that fails loses its relation data and ports but keeps what Juju
// applies at once: status, leader data, logs.
func TestFailedHookDiscardsBufferedChanges(t *testing.T) {
	c := &charm{}
	m := deploy(t, c, 1)
	peer := m.PeerRelation("peer")
	c.fn = func(h *hook) int {
		if h.event() != "config-changed" {
			return 0
		}
		for _, call := range [][]string{
			{"relation-set", "-r", "peer:0", "seen=yes"},
			{"open-port", "5000/tcp"},
			{"state-set", "k=v"},
			{"status-set", "blocked", "cannot start"},
			{"leader-set", "secret=s3"},
			{"juju-log", "-l", "ERROR", "giving up"},
		} {
			if _, err := h.tool(call[0], call[1:]...); err != nil {
				t.Errorf("%s: %v", call[0], err)
			}
		}
		return 1
	}
	err := m.SetConfig(context.Background(), map[string]any{"registry-port": 5001})
	var he *sim.HookError
	if !errors.As(err, &he) || he.Run.Hook != "config-changed" || he.Run.ExitCode != 1 {
		t.Fatalf("SetConfig error = %v, want config-changed HookError", err)
	}
	u := m.Unit("docker-registry/0")
	if got := m.RelationData(peer, u.Name())["seen"]; got != "" {
		t.Errorf("relation-set survived a failed hook: %q", got)
	}
	if len(u.OpenedPorts()) != 0 || len(u.State()) != 0 {
		t.Errorf("ports %v / state %v survived a failed hook", u.OpenedPorts(), u.State())
	}
	if st := u.Status(); st.Name != "error" || st.Message != `hook failed: "config-changed"` {
		t.Errorf("status while failed = %+v", st)
	}
	if m.LeaderData()["secret"] != "s3" {
		t.Errorf("leader-set was rolled back")
	}
	logs := u.Logs()
	if len(logs) == 0 || logs[len(logs)-1].Message != "giving up" || logs[len(logs)-1].Level != "ERROR" {
		t.Errorf("logs = %+v", logs)
	}

	// juju resolve --no-retry: the set status shows again.
	if err := m.Resolve(context.Background(), u.Name(), false); err != nil {
		t.Fatal(err)
	}
	if st := u.Status(); st.Name != "blocked" || st.Message != "cannot start" {
		t.Errorf("status after resolve = %+v", st)
	}
}

func TestSuccessfulHookCommitsAndPeersHearOfIt(t *testing.T) {
	c := &charm{}
	m := deploy(t, c, 2)
	peer := m.PeerRelation("peer")
	var seenOwnWrite string
	c.fn = func(h *hook) int {
		if h.event() == "update-status" && h.env["JUJU_UNIT_NAME"] == "docker-registry/0" {
			h.tool("relation-set", "-r", "peer:0", "addr=10.0.0.5")
			h.tool("open-port", "5000")
			h.tool("open-port", "5001/udp")
			h.tool("close-port", "5001/udp")
			seenOwnWrite, _ = h.tool("relation-get", "-r", "0", "addr", "docker-registry/0")
			if out, _ := h.tool("opened-ports"); out != "" {
				t.Errorf("opened-ports lists this hook's ports: %q", out)
			}
		}
		return 0
	}
	mark := m.HookMark()
	if err := m.UpdateStatus(context.Background()); err != nil {
		t.Fatal(err)
	}
	if seenOwnWrite != "10.0.0.5\n" {
		t.Errorf("own relation-get in the same hook = %q", seenOwnWrite)
	}
	if got := m.RelationData(peer, "docker-registry/0")["addr"]; got != "10.0.0.5" {
		t.Errorf("committed addr = %q", got)
	}
	equal(t, "ports", m.Unit("docker-registry/0").OpenedPorts(), []string{"5000/tcp"})
	equal(t, "hooks", sim.HookNames(m.Hooks(mark), ""), []string{
		"update-status", "update-status", "peer-relation-changed (docker-registry/0)",
	})
}

func TestToolCallsPerHook(t *testing.T) {
	c := &charm{fn: func(h *hook) int {
		if h.event() == "start" {
			h.tool("is-leader")
			h.tool("config-get", "--format=json")
		}
		return 0
	}}
	m := deploy(t, c, 1)
	for _, run := range m.Hooks(0) {
		n := len(m.ToolCallsFor(run.ContextID))
		if want := map[bool]int{true: 2, false: 0}[run.Hook == "start"]; n != want {
			t.Errorf("%s made %d tool calls, want %d", run.Hook, n, want)
		}
	}
	if info, ok := m.Relation(m.PeerRelation("peer")); !ok || info.Key != "peer:0" || !info.Peer {
		t.Errorf("peer relation info %+v", info)
	}
}

// Hooks queued behind a unit in error state wait for Resolve, and every
// sequence says so instead of looking done.
func TestErrorStateHoldsLaterHooks(t *testing.T) {
	c := &charm{}
	m := deploy(t, c, 1)
	ctx := context.Background()
	fail := true
	c.fn = func(h *hook) int {
		if h.event() == "update-status" && fail {
			return 1
		}
		return 0
	}
	if err := m.UpdateStatus(ctx); err == nil {
		t.Fatal("failed hook not reported")
	}
	mark := m.HookMark()
	err := m.SetConfig(ctx, map[string]any{"registry-port": 6000})
	if err == nil || !strings.Contains(err.Error(), "docker-registry/0 is in error state: 1 queued hooks wait for Resolve") {
		t.Fatalf("SetConfig on a unit in error state: %v", err)
	}
	if n := len(m.Hooks(mark)); n != 0 || len(m.Pending()) != 1 {
		t.Fatalf("%d hooks ran, %d pending", n, len(m.Pending()))
	}
	fail = false
	if err := m.Resolve(ctx, "docker-registry/0", true); err != nil {
		t.Fatal(err)
	}
	equal(t, "after resolve", sim.HookNames(m.Hooks(mark), ""), []string{"update-status", "config-changed"})
}

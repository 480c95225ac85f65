package sim_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestActionCompletesWithResultsAndDefaults(t *testing.T) {
	c := &charm{}
	m := deploy(t, c, 1)
	var params string
	c.fn = func(h *hook) int {
		if h.event() != "push" {
			return 0
		}
		params, _ = h.tool("action-get", "--format=json")
		if v, _ := h.tool("action-get", "pull"); v != "True\n" {
			t.Errorf("action-get pull = %q", v)
		}
		h.tool("action-log", "pulling")
		h.tool("action-set", "raw=pushed x", "image.digest=sha256:abc")
		h.tool("relation-set", "-r", "peer:0", "pushed=1")
		return 0
	}
	res, err := m.RunAction(context.Background(), "docker-registry/0", "push", map[string]any{"image": "busybox"})
	if err != nil {
		t.Fatal(err)
	}
	// gojsonschema fills nested defaults too, as Juju does.
	if params != `{"image":"busybox","options":{"force":false},"pull":true}`+"\n" {
		t.Errorf("action-get = %q", params)
	}
	if res.Status != "completed" || res.Message != "" {
		t.Errorf("result %v", res)
	}
	got, _ := json.Marshal(res.Results)
	if string(got) != `{"image":{"digest":"sha256:abc"},"raw":"pushed x","return-code":0}` {
		t.Errorf("results %s", got)
	}
	equal(t, "logs", res.Logs, []string{"pulling"})
	if m.RelationData(m.PeerRelation("peer"), "docker-registry/0")["pushed"] != "1" {
		t.Error("an action's relation-set was not committed on exit 0")
	}
}

func TestActionFails(t *testing.T) {
	c := &charm{}
	m := deploy(t, c, 1)
	ctx := context.Background()
	c.fn = func(h *hook) int {
		switch h.event() {
		case "push": // action-fail, then exit 0: still failed
			h.tool("action-fail", "registry not ready")
			h.tool("action-set", "partial=yes")
			return 0
		case "gc": // non-zero exit
			h.tool("relation-set", "-r", "peer:0", "gc=1")
			return 3
		}
		return 0
	}
	res, err := m.RunAction(ctx, "docker-registry/0", "push", map[string]any{"image": "x"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Failed() || res.Message != "registry not ready" || res.Results["partial"] != "yes" {
		t.Errorf("action-fail result %v %v", res, res.Results)
	}
	res, err = m.RunAction(ctx, "docker-registry/0", "gc", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Failed() || res.Message != "exit status 3" || res.Results["return-code"] != 3 {
		t.Errorf("non-zero exit result %v %v", res, res.Results)
	}
	if _, ok := m.RelationData(m.PeerRelation("peer"), "docker-registry/0")["gc"]; ok {
		t.Error("a failed action's relation-set was committed")
	}
	if m.Unit("docker-registry/0").Failed() != nil {
		t.Error("a failed action put the unit in error state")
	}
	if len(m.Actions()) != 2 {
		t.Errorf("actions recorded: %v", m.Actions())
	}
}

func TestActionParamsAreValidated(t *testing.T) {
	m := deploy(t, &charm{}, 1)
	ctx := context.Background()
	mark := m.HookMark()
	_, err := m.RunAction(ctx, "docker-registry/0", "push", map[string]any{"tag": "x"})
	if err == nil || !strings.Contains(err.Error(), `"image" property is missing and required`) ||
		!strings.Contains(err.Error(), `additional property "tag" is not allowed`) {
		t.Fatalf("err = %v", err)
	}
	if _, err := m.RunAction(ctx, "docker-registry/0", "nope", nil); err == nil {
		t.Fatal("undefined action ran")
	}
	if n := len(m.Hooks(mark)); n != 0 {
		t.Fatalf("%d runs for refused actions", n)
	}
}

package charm

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/distribution/distribution/v3/configuration"
	"golang.org/x/crypto/bcrypt"

	"github.com/canonical/docker-registry-charm/internal/testing/sim"
)

var ctx = context.Background()

const unit0 = "docker-registry/0"

func TestDeployServesWithDefaults(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 1))

	h.wantStatus(unit0, "active", "Ready at 127.0.10.1:5000 (http).")
	if got := h.model.Unit(unit0).OpenedPorts(); !slices.Equal(got, []string{"5000/tcp"}) {
		t.Errorf("opened ports = %v, want [5000/tcp]", got)
	}
	if v := h.model.AppVersion(); v != "v3.1.2" {
		t.Errorf("workload version = %q", v)
	}
	cfg, err := configuration.Parse(strings.NewReader(h.file(unit0, "/etc/docker/registry/config.yml")))
	if err != nil {
		t.Fatalf("rendered config does not parse: %v", err)
	}
	if cfg.HTTP.Secret == "" {
		t.Error("the registry has no http secret")
	}
	if cfg.HTTP.TLS.Certificate != "" {
		t.Error("TLS configured without any certificate source")
	}
	st, _ := os.Stat(filepath.Join(h.unitRoot(unit0), "/etc/docker/registry/config.yml"))
	if st.Mode().Perm() != 0o640 {
		t.Errorf("config.yml mode = %v, want 0640 (root:docker-registry, read only to the service)", st.Mode().Perm())
	}
	if h.exists(unit0, "/etc/docker/registry/htpasswd") {
		t.Error("htpasswd written although no password is set")
	}
	for _, u := range []string{"docker-registry.service", "docker-registry.socket"} {
		if !h.exists(unit0, "/etc/systemd/system/"+u) {
			t.Errorf("%s not written", u)
		}
	}
	if !h.services(unit0).active("docker-registry.service") {
		t.Error("service not started")
	}
}

func TestSecondUnitSharesTheLeadersSecret(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 2))
	secret := func(u string) string {
		cfg, err := configuration.Parse(strings.NewReader(h.file(u, "/etc/docker/registry/config.yml")))
		h.must(err)
		return cfg.HTTP.Secret
	}
	if a, b := secret(unit0), secret("docker-registry/1"); a == "" || a != b {
		t.Fatalf("units do not share one http secret")
	}
	// A new leader keeps it.
	before := secret(unit0)
	h.must(h.model.RemoveUnit(ctx, unit0))
	h.must(h.model.SetConfig(ctx, map[string]any{"log-level": "debug"}))
	if secret("docker-registry/1") != before {
		t.Fatal("the http secret changed with the leader")
	}
}

func TestInvalidOptionBlocksAndKeepsLastGoodConfig(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 1))
	good := h.file(unit0, "/etc/docker/registry/config.yml")
	mark := h.services(unit0).mark()

	h.must(h.model.SetConfig(ctx, map[string]any{"registry-port": 70000, "storage-cache": "bogus"}))

	h.wantStatus(unit0, "blocked", "Invalid charm config: registry-port, storage-cache")
	if h.file(unit0, "/etc/docker/registry/config.yml") != good {
		t.Error("an invalid option changed the served configuration")
	}
	if calls := h.services(unit0).since(mark); len(calls) != 0 {
		t.Errorf("an invalid option touched the service: %v", calls)
	}
	if got := h.model.Unit(unit0).OpenedPorts(); !slices.Equal(got, []string{"5000/tcp"}) {
		t.Errorf("opened ports = %v", got)
	}
	logs := h.model.Unit(unit0).Logs()
	found := false
	for _, l := range logs {
		if strings.Contains(l.Message, "registry-port: must be between 1 and 65535") {
			found = true
		}
	}
	if !found {
		t.Error("the debug log does not explain the bad option")
	}

	h.must(h.model.SetConfig(ctx, map[string]any{"registry-port": 5000, "storage-cache": "inmemory"}))
	h.wantStatus(unit0, "active", "Ready at")
}

func TestPasswordChangeReloadsWithoutRestart(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 1))
	mark := h.services(unit0).mark()

	h.must(h.model.SetConfig(ctx, map[string]any{"auth-basic-password": "s3cret-one"}))

	if calls := h.services(unit0).since(mark); !slices.Equal(calls, []string{"reload docker-registry.service"}) {
		t.Errorf("service calls = %v, want one reload", calls)
	}
	htpasswd := h.file(unit0, "/etc/docker/registry/htpasswd")
	if !strings.HasPrefix(htpasswd, "admin:$2") || strings.Contains(htpasswd, "s3cret-one") {
		t.Errorf("htpasswd is not a bcrypt entry for admin")
	}

	// The same config again changes nothing: no rewrite, no reload.
	mark = h.services(unit0).mark()
	h.must(h.model.SetConfig(ctx, map[string]any{"log-level": "info"}))
	if calls := h.services(unit0).since(mark); len(calls) != 0 {
		t.Errorf("an unchanged config touched the service: %v", calls)
	}
	if h.file(unit0, "/etc/docker/registry/htpasswd") != htpasswd {
		t.Error("htpasswd rewritten although the password did not change")
	}
}

func TestPortChangeMovesTheSocket(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 1))
	mark := h.services(unit0).mark()

	h.must(h.model.SetConfig(ctx, map[string]any{"registry-port": 5443}))

	want := []string{"daemon-reload", "enable docker-registry.socket docker-registry.service",
		"stop docker-registry.service", "restart docker-registry.socket", "start docker-registry.service"}
	if calls := h.services(unit0).since(mark); !slices.Equal(calls, want) {
		t.Errorf("service calls = %v\nwant %v", calls, want)
	}
	if got := h.model.Unit(unit0).OpenedPorts(); !slices.Equal(got, []string{"5443/tcp"}) {
		t.Errorf("opened ports = %v, want [5443/tcp]", got)
	}
	h.wantStatus(unit0, "active", "Ready at 127.0.10.1:5443 (http).")
}

func TestUpdateStatusIsCheap(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 1))
	mark := h.model.ToolCallMark()
	h.must(h.model.UpdateStatus(ctx))
	if calls := h.model.ToolCalls(mark); len(calls) != 0 {
		t.Errorf("a no-op update-status made tool calls: %v", calls)
	}
	// The registry died: update-status notices and runs the full
	// reconcile, which starts it again.
	h.services(unit0).set("docker-registry.service", false)
	mark2 := h.services(unit0).mark()
	h.must(h.model.UpdateStatus(ctx))
	if calls := h.services(unit0).since(mark2); !slices.Contains(calls, "start docker-registry.service") {
		t.Errorf("update-status did not start the dead registry: %v", calls)
	}
	h.wantStatus(unit0, "active", "Ready at")
}

func TestStopActionHoldsAcrossHooks(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 1))

	res, err := h.model.RunAction(ctx, unit0, "stop", nil)
	h.must(err)
	if res.Failed() {
		t.Fatalf("stop failed: %s", res.Message)
	}
	h.wantStatus(unit0, "blocked", "registry service is stopped.")
	h.must(h.model.UpdateStatus(ctx))
	h.must(h.model.SetConfig(ctx, map[string]any{"log-level": "debug"}))
	h.wantStatus(unit0, "blocked", "registry service is stopped.")
	if h.services(unit0).active("docker-registry.service") {
		t.Fatal("a hook restarted a registry the operator stopped")
	}
	res, err = h.model.RunAction(ctx, unit0, "images", nil)
	h.must(err)
	if !res.Failed() {
		t.Error("images ran against a stopped registry")
	}

	res, err = h.model.RunAction(ctx, unit0, "start", nil)
	h.must(err)
	if res.Failed() {
		t.Fatalf("start failed: %s", res.Message)
	}
	h.wantStatus(unit0, "active", "Ready at")
}

func TestActionsFailBeforeReady(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 1))
	h.must(os.Remove(filepath.Join(h.unitRoot(unit0), "/var/lib/docker-registry-charm/state.json")))
	res, err := h.model.RunAction(ctx, unit0, "push", map[string]any{"image": "busybox"})
	h.must(err)
	if !res.Failed() || res.Message != "Docker Registry charm is not yet ready." {
		t.Fatalf("push before ready: %s %q", res.Status, res.Message)
	}
}

func TestSeriesUpgradeHoldsTheRegistry(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 1))
	h.must(h.model.PreSeriesUpgrade(ctx, unit0, "ubuntu@24.04"))
	h.wantStatus(unit0, "blocked", "Series upgrade in progress")
	if h.services(unit0).active("docker-registry.service") {
		t.Fatal("registry still running during a series upgrade")
	}
	h.must(h.model.PostSeriesUpgrade(ctx, unit0, "ubuntu@24.04"))
	h.wantStatus(unit0, "active", "Ready at")
}

func TestIdempotentReconcile(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 1))
	snapshot := func() []byte {
		var b bytes.Buffer
		for _, p := range []string{"/etc/docker/registry/config.yml", "/etc/systemd/system/docker-registry.service"} {
			b.WriteString(h.file(unit0, p))
		}
		return b.Bytes()
	}
	before := snapshot()
	mark := h.services(unit0).mark()
	h.must(h.model.SetConfig(ctx, map[string]any{}))
	if !bytes.Equal(before, snapshot()) {
		t.Error("a second reconcile changed files")
	}
	if calls := h.services(unit0).since(mark); len(calls) != 0 {
		t.Errorf("a second reconcile touched the service: %v", calls)
	}
}

func TestConfigChangedToolCallBudget(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 1))
	mark := h.model.ToolCallMark()
	h.must(h.model.SetConfig(ctx, map[string]any{"log-level": "debug"}))
	calls := h.model.ToolCalls(mark)
	for _, c := range calls {
		t.Log(c)
	}
	if len(calls) > 25 {
		t.Errorf("config-changed made %d tool calls, budget 25", len(calls))
	}
}

func TestRejectedReloadBlocksAndRetries(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 1))
	rec := h.services(unit0)
	rec.mu.Lock()
	rec.rejectReload = true
	rec.mu.Unlock()

	h.must(h.model.SetConfig(ctx, map[string]any{"log-level": "debug"}))
	h.wantStatus(unit0, "blocked", "Registry rejected its new configuration")
	if u := h.model.Unit(unit0).Failed(); u != nil {
		t.Fatalf("a rejected reload failed the hook: %v", u)
	}

	rec.mu.Lock()
	rec.rejectReload = false
	rec.mu.Unlock()
	mark := rec.mark()
	h.must(h.model.SetConfig(ctx, map[string]any{}))
	if calls := rec.since(mark); !slices.Contains(calls, "reload docker-registry.service") {
		t.Errorf("the refused reload was not retried: %v", calls)
	}
	h.wantStatus(unit0, "active", "Ready at")
}

func TestBusyPortBlocksWithoutFailingTheHook(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 1))
	rec := h.services(unit0)
	rec.mu.Lock()
	rec.busyPort = true
	rec.mu.Unlock()
	h.must(h.model.SetConfig(ctx, map[string]any{"registry-port": 8080}))
	h.wantStatus(unit0, "blocked", "Cannot listen on registry-port 8080")
	// update-status keeps saying so (a fact of the last reconcile).
	h.must(h.model.UpdateStatus(ctx))
	h.wantStatus(unit0, "blocked", "Cannot listen on registry-port 8080")
	rec.mu.Lock()
	rec.busyPort = false
	rec.mu.Unlock()
	h.must(h.model.SetConfig(ctx, map[string]any{"registry-port": 8081}))
	h.wantStatus(unit0, "active", "Ready at 127.0.10.1:8081 (http).")
}

func TestRemovedUnitStopsAndKeepsData(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 2))
	unit1 := "docker-registry/1"
	_, err := h.model.Relate(ctx, "nrpe-external-master", "nrpe", sim.RemoteUnit{Name: "nrpe/0"})
	h.must(err)
	if !h.exists(unit1, "/etc/nagios/nrpe.d/check_check_http.cfg") {
		t.Fatal("no nagios check before removal")
	}
	data := filepath.Join(h.unitRoot(unit1), "/srv/registry/keep")
	h.must(os.WriteFile(data, []byte("blob"), 0o600))
	mark := h.services(unit1).mark()

	h.must(h.model.RemoveUnit(ctx, unit1))

	calls := h.services(unit1).since(mark)
	for _, want := range []string{"stop docker-registry.socket", "stop docker-registry.service", "disable docker-registry.socket docker-registry.service"} {
		if !slices.Contains(calls, want) {
			t.Errorf("removal did not %q: %v", want, calls)
		}
	}
	if h.services(unit1).active("docker-registry.service") {
		t.Error("registry still running on a removed unit")
	}
	if _, err := os.Stat(data); err != nil {
		t.Errorf("removal lost the registry data: %v", err)
	}
	if h.exists(unit1, "/etc/nagios/nrpe.d/check_check_http.cfg") {
		t.Error("nagios check left behind by a removed unit")
	}
}

// Every hook would otherwise pay a bcrypt comparison (~60 ms) to learn that
// the htpasswd file still grants the configured password.
func TestHtpasswdVerifiedOncePerFile(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 1))
	h.must(h.model.SetConfig(ctx, map[string]any{"auth-basic-password": "s3cret-one"}))
	const statePath = "/var/lib/docker-registry-charm/state.json"
	state := h.file(unit0, statePath)
	if !strings.Contains(state, `"htpasswd-memo"`) || strings.Contains(state, "s3cret-one") {
		t.Fatal("the state file has no memo of the verified htpasswd, or holds the password")
	}
	cfg, err := configuration.Parse(strings.NewReader(h.file(unit0, "/etc/docker/registry/config.yml")))
	h.must(err)

	// A file the full check would replace (bcrypt cost 4, below ours) is
	// kept when the memo vouches for it: the memo, not bcrypt, decided.
	weak, err := bcrypt.GenerateFromPassword([]byte("s3cret-one"), 4)
	h.must(err)
	file := []byte("admin:" + string(weak) + "\n")
	writeUnitFile(t, h, "/etc/docker/registry/htpasswd", file)
	setMemo(t, h, statePath, htpasswdMemo(cfg.HTTP.Secret, file, "admin", "s3cret-one"))
	h.must(h.model.SetConfig(ctx, map[string]any{"log-level": "debug"}))
	if h.file(unit0, "/etc/docker/registry/htpasswd") != string(file) {
		t.Fatal("a file the memo vouches for was rewritten")
	}

	// A memo made without the http secret vouches for nothing.
	setMemo(t, h, statePath, htpasswdMemo("", file, "admin", "s3cret-one"))
	h.must(h.model.SetConfig(ctx, map[string]any{"log-level": "info"}))
	got := h.file(unit0, "/etc/docker/registry/htpasswd")
	if got == string(file) {
		t.Fatal("a forged memo kept a file below our bcrypt cost")
	}
	if cost, err := bcrypt.Cost([]byte(strings.TrimSpace(strings.TrimPrefix(got, "admin:")))); err != nil || cost != 10 {
		t.Errorf("rewritten htpasswd has cost %d (%v), want 10", cost, err)
	}
}

func writeUnitFile(t *testing.T, h *harness, path string, content []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(h.unitRoot(unit0), path), content, 0o600); err != nil {
		t.Fatal(err)
	}
}

func setMemo(t *testing.T, h *harness, statePath, memo string) {
	t.Helper()
	st, err := loadState(filepath.Join(h.unitRoot(unit0), statePath))
	h.must(err)
	st.HtpasswdMemo = memo
	h.must(saveState(filepath.Join(h.unitRoot(unit0), statePath), st))
}

// Storage that fails the registry's health check (an S3 outage, a full or
// broken disk) turns every pull and push into a 503 while "/" still
// answers: update-status says so, names the check, and comes back to
// active with the storage, without restarting anything.
func TestFailingStorageShowsInStatus(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 1))
	mark := h.services(unit0).mark()

	h.mu.Lock()
	h.failing = []string{"storagedriver_s3"}
	h.mu.Unlock()
	h.must(h.model.UpdateStatus(ctx))
	h.wantStatus(unit0, "blocked", "Registry storage fails its health check (storagedriver_s3)")
	// A hook that reconciles says the same.
	h.must(h.model.SetConfig(ctx, map[string]any{"log-level": "debug"}))
	h.wantStatus(unit0, "blocked", "Registry storage fails its health check (storagedriver_s3)")

	h.mu.Lock()
	h.failing = nil
	h.mu.Unlock()
	h.must(h.model.UpdateStatus(ctx))
	h.wantStatus(unit0, "active", "Ready at")
	for _, call := range h.services(unit0).since(mark) {
		if !strings.HasPrefix(call, "reload ") {
			t.Errorf("failing storage made the charm touch the service: %s", call)
		}
	}
}

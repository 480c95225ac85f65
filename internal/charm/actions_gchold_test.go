package charm

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/distribution/distribution/v3/configuration"
)

// gcChildRoot names the machine root a child test process works on.
const gcChildRoot = "GCHOLD_TEST_ROOT"

// TestGCHoldChild is not a test of its own: TestKilledGarbageCollect runs
// it in a child process, which makes the registry read-only exactly as
// garbage-collect does and then dies by SIGKILL, so that no deferred
// restore runs and the kernel releases what the process held.
func TestGCHoldChild(t *testing.T) {
	root := os.Getenv(gcChildRoot)
	if root == "" {
		t.Skip("run by TestKilledGarbageCollect")
	}
	c := &Charm{
		Paths:    Paths{Root: root},
		Machine:  harnessMachine{&harness{}}, // the test's own user
		Workload: reloadsAtOnce{},
	}
	orig, err := os.ReadFile(c.Paths.ConfigFile())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := configuration.Parse(bytes.NewReader(orig))
	if err != nil {
		t.Fatal(err)
	}
	release, err := c.holdWrites(context.Background(), cfg, orig)
	defer release() // never runs: SIGKILL below
	if err != nil {
		t.Fatal(err)
	}
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {}
}

// reloadsAtOnce is a registry whose reloads succeed at once.
type reloadsAtOnce struct{ Workload }

func (reloadsAtOnce) Reload(context.Context, bool) error { return nil }

// TestKilledGarbageCollect: garbage-collect killed while the registry is
// read-only leaves the hold recorded; update-status (like any hook) sees
// it and restores write mode, but not while a garbage-collect still runs.
func TestKilledGarbageCollect(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 1))
	root := h.unitRoot(unit0)
	const configPath = "/etc/docker/registry/config.yml"
	before := h.file(unit0, configPath)

	cmd := exec.Command(os.Args[0], "-test.run=^TestGCHoldChild$", "-test.v")
	cmd.Env = append(os.Environ(), gcChildRoot+"="+root)
	out, err := cmd.CombinedOutput()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the child did not die by SIGKILL: %v\n%s", err, out)
	}
	held := h.file(unit0, configPath)
	if !readOnlyIn(t, held) {
		t.Fatalf("the killed garbage-collect did not leave the registry read-only:\n%s", held)
	}
	st, err := loadState(filepath.Join(root, "/var/lib/docker-registry-charm/state.json"))
	h.must(err)
	if st.GCHold == nil {
		t.Fatal("no hold recorded in the state file")
	}

	// A garbage-collect that still runs (its lock held) keeps its hold.
	c := &Charm{Paths: Paths{Root: root}}
	lock, ok, err := lockGC(c.gcLockPath(), false)
	if err != nil || !ok {
		t.Fatalf("the killed process's lock is still held: %v %v", ok, err)
	}
	h.must(h.model.UpdateStatus(ctx))
	if !readOnlyIn(t, h.file(unit0, configPath)) {
		t.Fatal("update-status ended the hold of a garbage-collect that still runs")
	}
	lock.Close()

	mark := h.services(unit0).mark()
	h.must(h.model.UpdateStatus(ctx))
	after := h.file(unit0, configPath)
	if readOnlyIn(t, after) {
		t.Fatalf("update-status left the registry read-only:\n%s", after)
	}
	if calls := strings.Join(h.services(unit0).since(mark), ","); !strings.Contains(calls, "reload docker-registry.service") {
		t.Errorf("the registry was not reloaded onto write mode: %s", calls)
	}
	st, err = loadState(filepath.Join(root, "/var/lib/docker-registry-charm/state.json"))
	h.must(err)
	if st.GCHold != nil {
		t.Errorf("the hold is still recorded: %+v", st.GCHold)
	}
	// The rest of the configuration is what it was; a full reconcile
	// finds nothing to change.
	cfgBefore, cfgAfter := parseConfig(t, before), parseConfig(t, after)
	if cfgBefore.HTTP.Secret != cfgAfter.HTTP.Secret || cfgBefore.Storage.Type() != cfgAfter.Storage.Type() {
		t.Error("restoring write mode changed more than read-only mode")
	}
	h.must(h.model.SetConfig(ctx, map[string]any{"log-level": "info"}))
	h.wantStatus(unit0, "active", "Ready at")
}

// TestGarbageCollectKeepsOperatorReadOnly: the restore puts back what the
// operator configured, read-only included.
func TestGarbageCollectKeepsOperatorReadOnly(t *testing.T) {
	cfg := &configuration.Configuration{Storage: configuration.Storage{
		"filesystem":  configuration.Parameters{"rootdirectory": "/srv/registry"},
		"maintenance": configuration.Parameters{"readonly": map[any]any{"enabled": true}, "uploadpurging": map[any]any{"enabled": false}},
	}}
	if !readOnlyOf(cfg) {
		t.Fatal("readOnlyOf misses storage-read-only")
	}
	off := withReadOnly(cfg, false)
	if readOnlyOf(off) || !readOnlyOf(cfg) {
		t.Fatal("withReadOnly changed its input or did not switch")
	}
	if _, ok := off.Storage["maintenance"]["uploadpurging"]; !ok {
		t.Error("withReadOnly dropped the other maintenance settings")
	}
}

func readOnlyIn(t *testing.T, yml string) bool {
	t.Helper()
	return readOnlyOf(parseConfig(t, yml))
}

func parseConfig(t *testing.T, yml string) *configuration.Configuration {
	t.Helper()
	cfg, err := configuration.Parse(strings.NewReader(yml))
	if err != nil {
		t.Fatalf("cannot parse config.yml: %v", err)
	}
	return cfg
}

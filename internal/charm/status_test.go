package charm

import (
	"slices"
	"strings"
	"testing"

	"github.com/canonical/docker-registry-charm/internal/testing/sim"
)

// A service that does not stay up says why, in the status, without any
// secret the line may quote; not "waiting" for ever.
func TestCrashLoopingServiceSaysWhy(t *testing.T) {
	h := newHarness(t)
	const pass = "s3cr3t-Passw0rd"
	h.must(h.model.SetConfig(ctx, map[string]any{"auth-basic-password": pass}))
	h.services(unit0).crash = "some earlier line\n" +
		"docker-registry serve: cannot read registry configuration: open /etc/docker/registry/config.yml: permission denied (password " + pass + ")\n" +
		"simmachine: docker-registry.service: main process 12 exited, status 1\n"
	h.must(h.model.Deploy(ctx, 1))
	h.wantStatus(unit0, "blocked", "registry service fails to start: cannot read registry configuration: open /etc/docker/registry/config.yml: permission denied")
	if msg := h.status(unit0).Message; strings.Contains(msg, pass) {
		t.Errorf("status shows the password: %q", strings.ReplaceAll(msg, pass, "<the password>"))
	}

	// It recovers: the next update-status sees it answer.
	h.services(unit0).crash = ""
	h.must(h.model.UpdateStatus(ctx))
	h.wantStatus(unit0, "active", "Ready at")
}

// Whatever Juju set itself (the unit agent sets "installing charm
// software" before install, juju's uniter operation/runhook.go) is
// replaced by the charm's own status in the same hook, even when it equals
// the status the charm set last.
func TestJujusOwnStatusIsReplaced(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 1))
	h.wantStatus(unit0, "active", "Ready at")
	for _, hook := range []string{"install", "start", "upgrade-charm"} {
		h.model.SetUnitStatus(unit0, sim.Status{Name: "maintenance", Message: "installing charm software"})
		h.must(h.model.RunHook(ctx, unit0, sim.Event{Hook: hook}))
		h.wantStatus(unit0, "active", "Ready at")
	}
}

// A hook that dies after writing files but before telling systemd leaves
// nothing different on disk for its retry; what it was about to do is
// recorded before the first write, so the retry (or any later hook) still
// reloads or restarts. A new registry-name changes the unit files (the
// hook fails at daemon-reload); a proxy changes the service's environment
// (it fails at the restart).
func TestKilledHookIsFinishedByTheNext(t *testing.T) {
	for _, tc := range []struct {
		step, file string
		config     map[string]any
		want       []string
	}{
		{"daemon-reload", "/etc/systemd/system/docker-registry.service", map[string]any{"registry-name": "renamed"},
			[]string{"daemon-reload", "start docker-registry.service"}},
		{"restart", "/etc/docker/registry/environment", map[string]any{"registry-http-proxy": "http://proxy.internal:3128"},
			[]string{"restart docker-registry.service"}},
	} {
		t.Run(tc.step, func(t *testing.T) {
			h := newHarness(t)
			h.must(h.model.Deploy(ctx, 1))
			rec := h.services(unit0)
			rec.failOnce = tc.step
			if err := h.model.SetConfig(ctx, tc.config); err == nil {
				t.Fatal("the hook did not fail")
			}
			if !h.exists(unit0, tc.file) {
				t.Fatalf("%s was not written before the failure", tc.file)
			}
			mark := rec.mark()
			h.must(h.model.Resolve(ctx, unit0, true))
			calls := rec.since(mark)
			for _, want := range tc.want {
				if !slices.Contains(calls, want) {
					t.Errorf("the retry did not %q: %v", want, calls)
				}
			}
			h.wantStatus(unit0, "active", "Ready at")
		})
	}
}

// Status carries the data filesystem's use, and says the registry is full
// before pushes start failing; update-status sees it fill (statfs, no
// tool call) and recover.
func TestStatusSaysHowFullTheDataFilesystemIs(t *testing.T) {
	h := newHarness(t)
	const gib = 1 << 30
	h.disk = Disk{Size: 200 * gib, Avail: 58 * gib}
	h.must(h.model.Deploy(ctx, 1))
	h.wantStatus(unit0, "active", "Ready at 127.0.10.1:5000 (http). 71% of 200 GiB used.")

	h.mu.Lock()
	h.disk.Avail = 6 * gib // 97% used
	h.mu.Unlock()
	h.must(h.model.UpdateStatus(ctx))
	h.wantStatus(unit0, "blocked", "Data filesystem /srv/registry is 97% full (6.0 GiB free): pushes fail")

	h.mu.Lock()
	h.disk = Disk{Size: 2 * gib, Avail: 100 << 20} // small volume, 100 MiB left
	h.mu.Unlock()
	h.must(h.model.UpdateStatus(ctx))
	h.wantStatus(unit0, "blocked", "Data filesystem /srv/registry is 95% full (100 MiB free)")

	h.mu.Lock()
	h.disk.Avail = 1 * gib
	h.mu.Unlock()
	h.must(h.model.UpdateStatus(ctx))
	h.wantStatus(unit0, "active", "Ready at 127.0.10.1:5000 (http). 50% of 2.0 GiB used.")

	// With object storage the unit's disk is not the registry's.
	h.must(h.model.SetConfig(ctx, map[string]any{"storage-s3-bucket": "b", "storage-s3-region": "us-east-1",
		"storage-s3-accesskey": "a", "storage-s3-secretkey": "s"}))
	h.wantStatus(unit0, "active", "Ready at")
	if msg := h.status(unit0).Message; strings.Contains(msg, "used") {
		t.Errorf("status with S3 storage reports local disk use: %q", msg)
	}
}

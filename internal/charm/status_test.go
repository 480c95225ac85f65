package charm

import (
	"strings"
	"testing"

	"github.com/canonical/docker-registry-charm/tests/sim"
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
		t.Errorf("status shows the password: %q", msg)
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

package charm

import (
	"strings"
	"testing"
)

// A registry-name built to add a root command to the systemd unit (it
// reaches Description=) blocks naming the option and changes no file:
// the unit, the served configuration and the services stay as they were.
func TestNewlineInRegistryNameBlocksAndChangesNothing(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 1))
	const unitPath = "/etc/systemd/system/docker-registry.service"
	files := []string{unitPath, "/etc/systemd/system/docker-registry.socket", "/etc/docker/registry/config.yml"}
	before := map[string]string{}
	for _, f := range files {
		before[f] = h.file(unit0, f)
	}
	mark := h.services(unit0).mark()

	for _, name := range []string{
		"registry\nExecStartPre=+/bin/sh -c 'touch /root/pwned'",
		"registry\r\n[Service]\nUser=root",
	} {
		h.must(h.model.SetConfig(ctx, map[string]any{"registry-name": name}))
		h.wantStatus(unit0, "blocked", "Invalid charm config: registry-name (see juju debug-log)")
		for _, f := range files {
			if got := h.file(unit0, f); got != before[f] {
				t.Errorf("%s changed:\n%s", f, got)
			}
		}
		if strings.Contains(h.file(unit0, unitPath), "pwned") {
			t.Fatal("the unit holds the injected command")
		}
		if calls := h.services(unit0).since(mark); len(calls) != 0 {
			t.Errorf("an invalid registry-name touched the service: %v", calls)
		}
		explained := false
		for _, l := range h.model.Unit(unit0).Logs() {
			if strings.Contains(l.Message, "registry-name: must be one line of printable text") {
				explained = true
			}
			if strings.Contains(l.Message, "ExecStartPre") || strings.Contains(l.Message, "User=root") {
				t.Errorf("the log quotes the hostile value: %q", l.Message)
			}
		}
		if !explained {
			t.Error("the debug log does not explain registry-name")
		}
	}

	// A name with specifiers and a trailing backslash is valid: it shows
	// as written and adds nothing.
	h.must(h.model.SetConfig(ctx, map[string]any{"registry-name": `prod 100% %H \`}))
	h.wantStatus(unit0, "active", "Ready at")
	unit := h.file(unit0, unitPath)
	if !strings.Contains(unit, "Description=Docker registry prod 100%% %%H \\ (Juju application docker-registry)\n") {
		t.Errorf("description not escaped:\n%s", unit)
	}
}

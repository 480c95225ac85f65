package machine_test

import (
	"context"
	"os"
	"strings"
	"testing"
)

// A new machine is a fresh cloud image: what the host's own packages left
// (docker.io makes /etc/docker 0755 and a docker group; containerd makes
// /etc/containerd) is not there, so a charm that forgets to create what it
// needs, or creates it wrong, fails here as it would on a real machine.
// .ci/run installs docker.io and containerd on the host, so without the
// hiding this test fails in CI.
func TestNewMachineLooksLikeACloudImage(t *testing.T) {
	for _, p := range []string{"/etc/docker", "/etc/containerd"} {
		if _, err := os.Stat(p); err != nil {
			t.Logf("the host has no %s: this run cannot show it hidden", p)
		}
	}
	c := newCloud(t)
	m := newMachine(t, c, "fresh")
	for _, p := range []string{"/etc/docker", "/etc/containerd", "/var/lib/docker", "/var/lib/containerd", "/srv/registry", "/opt/docker-registry"} {
		if r, err := m.Command(context.Background(), "test", "!", "-e", p).Result(); err != nil || r.ExitCode != 0 {
			t.Errorf("a new machine has %s", p)
		}
	}
	for _, db := range []string{"/etc/group", "/etc/gshadow"} {
		if out := run(t, m, "cat", db); hasEntry(out, "docker") {
			t.Errorf("a new machine's %s has a docker group", db)
		}
	}
	// The accounts a real image has are still there, with the file's
	// own mode.
	if out := run(t, m, "cat", "/etc/passwd"); !hasEntry(out, "root") || !hasEntry(out, "nobody") {
		t.Errorf("/etc/passwd lost the image's own accounts:\n%s", out)
	}
	if mode := strings.TrimSpace(run(t, m, "stat", "-c", "%a %U", "/etc/passwd")); mode != "644 root" {
		t.Errorf("/etc/passwd: %s, want 644 root", mode)
	}

	// What the machine makes for itself persists across a reboot: the
	// hiding applies to the first boot only.
	run(t, m, "mkdir", "-p", "/etc/docker/registry")
	run(t, m, "groupadd", "--system", "docker")
	if err := m.Reboot(); err != nil {
		t.Fatal(err)
	}
	run(t, m, "test", "-d", "/etc/docker/registry")
	if out := run(t, m, "cat", "/etc/group"); !hasEntry(out, "docker") {
		t.Error("the docker group the machine added itself is gone after a reboot")
	}
}

func hasEntry(db, name string) bool {
	for _, l := range strings.Split(db, "\n") {
		if n, _, _ := strings.Cut(l, ":"); n == name {
			return true
		}
	}
	return false
}

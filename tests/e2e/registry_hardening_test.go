package e2e

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/canonical/docker-registry-charm/internal/testing/deploy"
)

// The registry service as the machine shows it: a hardened unit, a
// dedicated unprivileged user, its config and htpasswd readable by that
// user only and in place before the first start (distribution never had
// to generate a password), data under /srv/registry, enabled at boot.
func TestHardenedService(t *testing.T) {
	pass := newPassword(t)
	u := regDeploy(t, map[string]any{"auth-basic-password": pass})
	u.WantReady(5000, "http")

	unit, err := u.M.ReadFile("/etc/systemd/system/" + regServiceUnit)
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]bool{}
	for _, l := range strings.Split(string(unit), "\n") {
		lines[strings.TrimSpace(l)] = true
	}
	for _, want := range []string{
		"User=" + regServiceUser,
		"NoNewPrivileges=yes",
		"ProtectSystem=strict",
		"ReadWritePaths=/srv/registry",
		"PrivateTmp=yes",
		"ProtectHome=yes",
		"CapabilityBoundingSet=", // port 5000: no capabilities at all
		"Restart=always",
		"SystemCallFilter=@system-service",
		"MemoryDenyWriteExecute=yes",
		"ProtectProc=invisible",
		"ProcSubset=pid",
		"RuntimeDirectory=docker-registry",
		"MemoryMax=2G",
		"TasksMax=4096",
	} {
		if !lines[want] {
			t.Errorf("%s has no line %q:\n%s", regServiceUnit, want, unit)
		}
	}
	if got := strings.TrimSpace(u.Run("systemctl", "show", "-p", "ProtectSystem", "--value", regServiceUnit)); got != "strict" {
		t.Errorf("systemctl show -p ProtectSystem = %q", got)
	}
	for _, name := range []string{regServiceUnit, "docker-registry.socket"} {
		if got := strings.TrimSpace(u.Run("systemctl", "is-enabled", name)); got != "enabled" {
			t.Errorf("systemctl is-enabled %s = %q", name, got)
		}
	}

	// The service user: a system account, and what the process runs as.
	pw := strings.Split(strings.TrimSpace(u.Run("getent", "passwd", regServiceUser)), ":")
	if len(pw) < 7 {
		t.Fatalf("getent passwd %s: %q", regServiceUser, pw)
	}
	uid, _ := strconv.Atoi(pw[2])
	if uid == 0 || uid >= 1000 {
		t.Errorf("%s has uid %d, want a system uid (1-999)", regServiceUser, uid)
	}
	pid := u.MainPID()
	status := procStatus(t, u, pid)
	for _, f := range []string{"Uid", "Gid"} {
		ids := strings.Fields(status[f])
		for _, id := range ids {
			if id == "0" {
				t.Errorf("registry process %d: %s: %s (root)", pid, f, status[f])
			}
		}
		if f == "Uid" && (len(ids) != 4 || ids[0] != pw[2] || ids[1] != pw[2]) {
			t.Errorf("registry process %d: Uid: %s, want %s (%s)", pid, status[f], pw[2], regServiceUser)
		}
	}
	if status["NoNewPrivs"] != "1" {
		t.Errorf("registry process %d: NoNewPrivs: %q", pid, status["NoNewPrivs"])
	}
	if status["CapEff"] != "0000000000000000" {
		t.Errorf("registry process %d: CapEff: %q, want none", pid, status["CapEff"])
	}

	// The control socket (reload, health) is in a directory only root
	// and the service reach.
	if got := strings.TrimSpace(u.Run("stat", "-c", "%a %U", "/run/docker-registry")); got != "750 "+regServiceUser {
		t.Errorf("/run/docker-registry: mode and owner %q, want \"750 %s\"", got, regServiceUser)
	}
	if got := strings.TrimSpace(u.Run("stat", "-c", "%F %a %U", "/run/docker-registry/control.sock")); got != "socket 600 "+regServiceUser {
		t.Errorf("control socket: %q, want \"socket 600 %s\"", got, regServiceUser)
	}
	u.Run("systemctl", "reload", regServiceUnit) // ExecReload asks over it

	// Files the registry reads: root's, readable by its group only, so
	// the service cannot change its own configuration or password file.
	for _, f := range []string{"/etc/docker/registry/config.yml", "/etc/docker/registry/htpasswd"} {
		if got := strings.TrimSpace(u.Run("stat", "-c", "%a %U:%G", f)); got != "640 root:"+regServiceUser {
			t.Errorf("%s: mode and owner %q, want \"640 root:%s\"", f, got, regServiceUser)
		}
	}
	htpasswd, err := u.M.ReadFile("/etc/docker/registry/htpasswd")
	if err != nil {
		t.Fatal(err)
	}
	if cost := bcryptCost(string(htpasswd), "admin"); cost < 10 {
		t.Errorf("htpasswd has no bcrypt entry for admin with cost >= 10 (cost %d)", cost)
	}
	log := u.M.ServiceLog(regServiceUnit)
	if strings.Contains(log, "htpasswd is missing") || strings.Contains(log, "provisioning with default user") {
		t.Errorf("the registry generated its own htpasswd (and logged a password)")
	}
	if strings.Contains(log, pass) {
		t.Errorf("the registry's log contains the auth-basic-password")
	}
	for _, l := range u.E.Model.Unit(u.Name).Logs() {
		if strings.Contains(l.Message, pass) {
			t.Errorf("juju-log in %s contains the auth-basic-password", l.Hook)
		}
	}

	// Data lands in /srv/registry.
	admin := deploy.Client{Env: u.E, User: "admin", Password: pass}
	im := u.Push(admin, 5000, "demo/hardened:v1")
	u.Run("test", "-d", "/srv/registry/docker/registry/v2/repositories/demo/hardened/_manifests")
	hex := im.Digest.Hex
	u.Run("test", "-f", "/srv/registry/docker/registry/v2/blobs/sha256/"+hex[:2]+"/"+hex+"/data")

	// A reboot brings the registry back by itself (enabled at boot), with
	// its data and its credentials.
	start := time.Now()
	if err := u.M.Reboot(); err != nil {
		t.Fatal(err)
	}
	u.WaitPull(admin, 5000, im, 30*time.Second)
	t.Logf("serving again %v after the reboot began", time.Since(start).Round(time.Millisecond))
	after := u.MainPID()
	if after == 0 {
		t.Fatal("after the reboot: the registry answers but systemd reports no main process")
	}
	if got := strings.Fields(procStatus(t, u, after)["Uid"]); len(got) == 0 || got[0] != pw[2] {
		t.Errorf("after the reboot: registry process Uid %q, want %s", got, pw[2])
	}
	if err := u.E.Model.UpdateStatus(context.Background()); err != nil {
		t.Fatal(err)
	}
	u.WantReady(5000, "http")
}

// procStatus reads /proc/<pid>/status inside the machine.
func procStatus(t *testing.T, u *regUnit, pid int) map[string]string {
	t.Helper()
	out := u.Run("cat", "/proc/"+strconv.Itoa(pid)+"/status")
	m := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(l, ":")
		if ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

// bcryptCost is the cost of user's bcrypt hash in an htpasswd file, 0 if
// the user has no bcrypt entry. The hash itself is never printed.
func bcryptCost(htpasswd, user string) int {
	for _, l := range strings.Split(htpasswd, "\n") {
		name, hash, ok := strings.Cut(strings.TrimSpace(l), ":")
		if !ok || name != user {
			continue
		}
		parts := strings.Split(hash, "$") // "", "2y", "10", salt+hash
		if len(parts) != 4 || !strings.HasPrefix(parts[1], "2") {
			return 0
		}
		cost, _ := strconv.Atoi(parts[2])
		return cost
	}
	return 0
}

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/distribution/distribution/v3/configuration"

	"github.com/canonical/docker-registry-charm/internal/testing/deploy"
	"github.com/canonical/docker-registry-charm/internal/testing/sim"
	"github.com/canonical/docker-registry-charm/internal/testing/sim/machine"
)

// On a machine that looks like a fresh cloud image (no /etc/docker: the
// simulator hides the host's), every path the service opens must be
// reachable by the service's own uid and gid, through every parent
// directory. The paths come from what the charm rendered (config.yml and
// the unit), so a path added later is walked too. This is the defect a
// new user met first: /etc/docker created 0750 root:root kept the service
// out of its own config.yml, and the registry never served.
func TestServiceReachesEveryPathItOpens(t *testing.T) {
	pass := newPassword(t)
	u := regDeploy(t, map[string]any{"auth-basic-password": pass})
	u.WantReady(5000, "http")
	pki := newRegPKI(t)
	u.Configure(pki.TLSConfig(t, u.Addr, "require"))
	u.WantReady(5000, "https")

	raw, err := u.M.ReadFile("/etc/docker/registry/config.yml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := configuration.Parse(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatalf("config.yml does not parse: %v", err)
	}
	read := []string{"/etc/docker/registry/config.yml", cfg.HTTP.TLS.Certificate, cfg.HTTP.TLS.Key}
	read = append(read, cfg.HTTP.TLS.ClientCAs...)
	if p, ok := cfg.Auth["charm-htpasswd"]["path"].(string); ok {
		read = append(read, p)
	} else {
		t.Errorf("config.yml has no htpasswd path: %v", cfg.Auth)
	}
	data, _ := cfg.Storage["filesystem"]["rootdirectory"].(string)
	if data == "" {
		t.Fatalf("config.yml has no filesystem root directory: %v", cfg.Storage)
	}
	binary := execStartBinary(t, u)

	asService := func(script string, args ...string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c := u.M.Command(ctx, "sh", append([]string{"-c", script, "sh"}, args...)...)
		c.User = regServiceUser
		_, err := c.Output()
		return err
	}
	for _, p := range read {
		if p == "" {
			t.Errorf("an empty path among the files the service reads: %q", read)
			continue
		}
		if err := asService(`test -r "$1" && cat "$1" >/dev/null`, p); err != nil {
			t.Errorf("%s cannot read %s: %v (%s)", regServiceUser, p, err, pathModes(u, p))
		}
		if err := asService(`test ! -w "$1"`, p); err != nil {
			t.Errorf("%s may write %s, which it only reads (%s)", regServiceUser, p, pathModes(u, p))
		}
	}
	if err := asService(`test -x "$1" && test -r "$1"`, binary); err != nil {
		t.Errorf("%s cannot execute %s: %v (%s)", regServiceUser, binary, err, pathModes(u, binary))
	}
	if err := asService(`f="$1/.walk-test" && : > "$f" && rm "$f"`, data); err != nil {
		t.Errorf("%s cannot write in %s: %v (%s)", regServiceUser, data, err, pathModes(u, data))
	}

	// Every directory the charm made, parents included, has the mode it
	// chose, whatever umask the hook ran with.
	for dir, want := range map[string]string{
		"/etc/docker":                    "755 root:root",
		"/etc/docker/registry":           "750 root:" + regServiceUser,
		"/opt/docker-registry":           "755 root:root",
		"/opt/docker-registry/bin":       "755 root:root",
		"/var/lib/docker-registry-charm": "700 root:root",
	} {
		if got := strings.TrimSpace(u.Run("stat", "-c", "%a %U:%G", dir)); got != want {
			t.Errorf("%s: %s, want %s", dir, got, want)
		}
	}
}

// execStartBinary is the program the service unit runs.
func execStartBinary(t *testing.T, u *regUnit) string {
	t.Helper()
	unit, err := u.M.ReadFile("/etc/systemd/system/" + regServiceUnit)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(unit), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(l), "ExecStart="); ok {
			return strings.Fields(rest)[0]
		}
	}
	t.Fatalf("%s has no ExecStart:\n%s", regServiceUnit, unit)
	return ""
}

// pathModes is "mode owner:group" of p and each of its parents, for a
// failure message.
func pathModes(u *regUnit, p string) string {
	var parts []string
	for d := p; d != "/" && d != "."; d = d[:max(strings.LastIndex(d, "/"), 1)] {
		out, err := u.M.Command(context.Background(), "stat", "-c", "%n %a %U:%G", d).Output()
		if err != nil {
			parts = append(parts, d+" ?")
			continue
		}
		parts = append(parts, strings.TrimSpace(string(out)))
		if strings.LastIndex(d, "/") == 0 {
			break
		}
	}
	return strings.Join(parts, ", ")
}

// `juju deploy --storage registry-data=…`, as the README recommends: Juju
// mounts the volume at /srv/registry and runs registry-data-storage-attached
// before install, then sets "installing charm software" itself. The unit
// still ends active, its images on the volume (here a 256 MiB tmpfs, whose
// size status reports).
func TestDeployWithStorage(t *testing.T) {
	e := deploy.New(t)
	e.PrepareMachine = func(m *machine.Machine) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := m.Command(ctx, "mkdir", "-p", "/srv/registry").Output(); err != nil {
			return err
		}
		_, err := m.Command(ctx, "mount", "-t", "tmpfs", "-o", "size=256m", "registry-data", "/srv/registry").Output()
		return err
	}
	e.Model.DeployStorage("registry-data", 1)
	ctx := context.Background()
	if err := e.Model.Deploy(ctx, 1); err != nil {
		t.Fatalf("deploy: %v", err)
	}
	hooks := sim.HookNames(e.Model.Hooks(0), unit0)
	if len(hooks) < 2 || hooks[0] != "registry-data-storage-attached" || hooks[1] != "install" {
		t.Fatalf("hooks ran %v, want registry-data-storage-attached then install first", hooks)
	}
	u := &regUnit{T: t, E: e, Name: unit0, M: e.Machine(unit0)}
	u.Addr = u.M.Addr().String()
	u.WantStatus("active", "Ready at "+u.Netloc(5000)+" (http).", "of 256 MiB used.")
	u.Push(deploy.Client{Env: e}, 5000, "demo/storage:v1")
	if src := strings.TrimSpace(u.Run("findmnt", "-n", "-o", "SOURCE", "--target", "/srv/registry/docker/registry/v2/repositories")); src != "registry-data" {
		t.Errorf("the images are on %q, not on the storage volume", src)
	}
	u.Run("test", "-d", "/srv/registry/docker/registry/v2/repositories/demo/storage")
}

package e2e

// Refreshing a unit of the reactive charm to this one (`juju refresh
// --path ./docker-registry.charm`): the unit first runs a stand-in for the
// reactive charm and holds what it left on real machines (data written by
// a root registry, the registry:2 container on registry-port), then is
// upgraded to the packed charm, which must serve the old data and accept
// new pushes without the operator's help.

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/canonical/docker-registry-charm/internal/testing/deploy"
	"github.com/canonical/docker-registry-charm/internal/testing/sim"
	"github.com/canonical/docker-registry-charm/internal/testing/sim/machine"
)

// reactiveDispatch stands in for the reactive charm's hooks: what our
// charm adopts from it (the http secret in leader data, the opened port),
// and its status. Its registry runs however each test makes it run.
const reactiveDispatch = `#!/bin/sh
set -e
port=$(config-get registry-port)
if [ "$(is-leader --format=json)" = true ] && [ -z "$(leader-get http-secret)" ]; then
	leader-set "http-secret=$(head -c 32 /dev/urandom | base64)"
fi
open-port "$port/tcp"
status-set active "Ready at $(unit-get private-address):$port (http)."
`

// reactiveConfig is the registry configuration the reactive charm
// rendered (its storage root is where the container sees /srv/registry).
func reactiveConfig(root string) []byte {
	return []byte(fmt.Sprintf(`version: 0.1
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
log:
  level: info
  formatter: json
storage:
  filesystem:
    rootdirectory: %s
  cache:
    blobdescriptor: inmemory
`, root))
}

// reactiveCharm packs the stand-in: this tree's charm (same metadata,
// options and actions) with reactiveDispatch as dispatch.
func reactiveCharm(t testing.TB) string {
	t.Helper()
	src, err := zip.OpenReader(deploy.PackedCharm(t))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	out := filepath.Join(t.TempDir(), "reactive-docker-registry.charm")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := zip.NewWriter(f)
	for _, e := range src.File {
		if e.Name != "dispatch" {
			if err := w.Copy(e); err != nil {
				t.Fatal(err)
			}
			continue
		}
		h := e.FileHeader
		h.Method = zip.Deflate
		dw, err := w.CreateHeader(&h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(dw, reactiveDispatch); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

// reactiveDeploy deploys one unit of the stand-in reactive charm.
func reactiveDeploy(t testing.TB) *regUnit {
	t.Helper()
	cloud := machine.NewCloud(t)
	e, err := deploy.Open(cloud, reactiveCharm(t), deploy.Build(t, "jujutool", "./internal/testing/sim/cmd/jujutool"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e.T = t
	t.Cleanup(e.Close)
	if err := e.Model.Deploy(context.Background(), 1); err != nil {
		t.Fatalf("deploy the reactive stand-in: %v", err)
	}
	u := &regUnit{T: t, E: e, Name: unit0, M: e.Machine(unit0)}
	u.Addr = u.M.Addr().String()
	return u
}

// refresh upgrades the unit to the packed charm, as `juju refresh --path`.
func (u *regUnit) refresh() {
	u.T.Helper()
	mark := u.E.Model.HookMark()
	start := time.Now()
	if err := u.E.UpgradeCharm(context.Background(), deploy.PackedCharm(u.T)); err != nil {
		u.T.Fatalf("refresh: %v\nservice log (tail):\n%s", err, u.LogTail(30))
	}
	u.T.Logf("refresh %v in %v", sim.HookNames(u.E.Model.Hooks(mark), u.Name), time.Since(start).Round(time.Millisecond))
	if f := u.E.Model.Unit(u.Name).Failed(); f != nil {
		u.T.Fatalf("unit in error state after the refresh: %s", f.Hook)
	}
}

// waitServing waits until a registry answers /v2/ on port.
func (u *regUnit) waitServing(port int) {
	u.T.Helper()
	waitFor(u.T, fmt.Sprintf("a registry on %s", u.Netloc(port)), 30*time.Second, func() bool {
		resp, err := u.Get(deploy.Client{Env: u.E}, "http", port, "/v2/", "", "")
		return err == nil && resp.StatusCode == 200
	})
}

// notServiceOwned lists what under /srv/registry the registry's user
// does not own.
func (u *regUnit) notServiceOwned() string {
	return strings.TrimSpace(u.Run("find", "/srv/registry", "!", "-user", regServiceUser, "-print"))
}

// logged says whether the unit's debug log has a line containing s.
func (u *regUnit) logged(s string) int {
	n := 0
	for _, l := range u.E.Model.Unit(u.Name).Logs() {
		if strings.Contains(l.Message, s) {
			n++
		}
	}
	return n
}

// useOldAndNewData is what a user of the refreshed registry does: pull
// what the old registry stored, push a new tag to the same repository and
// a new repository, move the tag of replaced (an image the old registry
// stored) to a new image, collect garbage, which deletes the replaced
// image's files, and pull everything else back.
func (u *regUnit) useOldAndNewData(old, replaced regImage) {
	u.T.Helper()
	plain := deploy.Client{Env: u.E}
	if err := u.PullByDigest(plain, 5000, old); err != nil {
		u.T.Fatalf("pull the image the old registry stored: %v", err)
	}
	same := u.Push(plain, 5000, old.Repo+":v2")
	fresh := u.Push(plain, 5000, "fresh/app:v1")
	moved := u.Push(plain, 5000, replaced.Repo+":moved")
	res := runAction(u.T, u.E, u.Name, "garbage-collect", map[string]any{"delete-untagged": true})
	mustComplete(u.T, res)
	u.T.Logf("garbage-collect: %v", flatResults(res))
	if result(res, "manifests-deleted") == "0" || result(res, "blobs-deleted") == "0" {
		u.T.Errorf("garbage-collect deleted nothing of the replaced image: %v", flatResults(res))
	}
	if err := u.PullByDigest(plain, 5000, replaced); err == nil {
		u.T.Error("the replaced image still pulls after garbage-collect")
	}
	for _, im := range []regImage{old, same, fresh, moved} {
		if err := u.PullByDigest(plain, 5000, im); err != nil {
			u.T.Errorf("pull %s@%s after garbage-collect: %v", im.Repo, im.Digest, err)
		}
	}
	if bad := u.notServiceOwned(); bad != "" {
		u.T.Errorf("not owned by %s under /srv/registry:\n%s", regServiceUser, bad)
	}
}

// The reactive charm's registry ran as root and wrote /srv/registry as
// root. After the refresh our registry (its own user) serves that data
// and adds to the repositories it holds.
func TestRefreshFromReactiveTakesOverRootOwnedData(t *testing.T) {
	u := reactiveDeploy(t)
	ctx := context.Background()
	upstream := relTool(t, "registry")
	cfg := "/etc/docker/registry/config.yml"
	if err := u.M.WriteFile(cfg, reactiveConfig("/srv/registry"), 0o644); err != nil {
		t.Fatal(err)
	}
	old, err := u.M.Command(ctx, upstream, "serve", cfg).Start()
	if err != nil {
		t.Fatalf("cannot start the upstream registry as root: %v", err)
	}
	u.waitServing(5000)
	legacy := u.Push(deploy.Client{Env: u.E}, 5000, "legacy/app:v1")
	replaced := u.Push(deploy.Client{Env: u.E}, 5000, "legacy/app:moved")
	if _, err := old.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if owner := strings.TrimSpace(u.Run("stat", "-c", "%U", "/srv/registry/docker/registry/v2/repositories/legacy/app")); owner != "root" {
		t.Fatalf("the old registry's repository is owned by %s, want root", owner)
	}

	u.refresh()
	u.WantReady(5000, "http")
	if u.logged("/srv/registry to user "+regServiceUser) != 1 {
		t.Error("the debug log does not say once that the data changed hands")
	}
	u.useOldAndNewData(legacy, replaced)

	// Later hooks leave it be.
	u.Configure(map[string]any{"log-level": "debug"})
	u.WantReady(5000, "http")
	if n := u.logged("/srv/registry to user " + regServiceUser); n != 1 {
		t.Errorf("%d log lines about the data changing hands after another hook, want 1", n)
	}
}

// Data the charm cannot take over (here a read-only mount) is a blocked
// status that says what to do, not a failed hook; once it is writable the
// next hook finishes the job.
func TestRefreshFromReactiveReadOnlyDataBlocks(t *testing.T) {
	u := reactiveDeploy(t)
	u.Run("mkdir", "-p", "/srv/registry/docker/registry/v2/repositories")
	u.Run("mount", "--bind", "/srv/registry", "/srv/registry")
	u.Run("mount", "-o", "remount,bind,ro", "/srv/registry")

	u.refresh()
	u.WantStatus("blocked", "Cannot give /srv/registry to user "+regServiceUser, "read-only file system", "make it writable")
	// update-status only re-probes: the registry answers, but what the
	// last reconcile could not do still stands.
	if err := u.E.Model.UpdateStatus(context.Background()); err != nil {
		t.Fatal(err)
	}
	u.WantStatus("blocked", "Cannot give /srv/registry to user "+regServiceUser)

	u.Run("umount", "/srv/registry")
	u.Configure(map[string]any{"log-level": "debug"})
	u.WantReady(5000, "http")
	if bad := u.notServiceOwned(); bad != "" {
		t.Errorf("not owned by %s under /srv/registry:\n%s", regServiceUser, bad)
	}
}

// The reactive charm's registry:2 container, run by a real dockerd on the
// unit's machine as that charm ran it, holds registry-port. The refresh
// removes it (and nothing else of docker's), serves on the port, and
// serves what the container stored.
func TestRefreshFromReactiveRemovesItsContainer(t *testing.T) {
	u := reactiveDeploy(t)
	ctx := context.Background()
	dockerd := reactiveDockerd(t, u.M)
	image := registryImage(t, relTool(t, "registry"))
	docker := func(args ...string) string {
		t.Helper()
		out, err := relRun(ctx, u.M, nil, nil, append([]string{"docker"}, args...)...)
		if err != nil {
			t.Fatalf("docker %s: %v\n%s\ndockerd (tail):\n%s", args[0], err, out, tail(dockerd.Output(), 20))
		}
		return out
	}
	docker("import", "--change", `ENTRYPOINT ["/bin/registry", "serve", "/etc/docker/registry/config.yml"]`, image, "registry:2")
	cfg := "/etc/docker/registry/config.yml"
	if err := u.M.WriteFile(cfg, reactiveConfig("/var/lib/registry"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The reactive charm's docker run, with its volumes.
	docker("run", "-d", "-p", "5000:5000", "--restart", "unless-stopped",
		"-v", cfg+":"+cfg, "-v", "/srv/registry:/var/lib/registry", "--name", "registry", "registry:2")
	// Not the charm's: must survive.
	docker("create", "--name", "bystander", "registry:2")
	u.waitServing(5000)
	legacy := u.Push(deploy.Client{Env: u.E}, 5000, "legacy/app:v1")
	replaced := u.Push(deploy.Client{Env: u.E}, 5000, "legacy/app:moved")

	u.refresh()
	u.WantReady(5000, "http")
	if names := strings.Fields(docker("ps", "--all", "--format", "{{.Names}}")); len(names) != 1 || names[0] != "bystander" {
		t.Errorf("containers after the refresh: %v, want only bystander", names)
	}
	if u.logged(`removed the reactive charm's docker container "registry"`) != 1 {
		t.Error("the debug log does not say that the container was removed")
	}
	if u.MainPID() == 0 {
		t.Fatal("our registry service is not running")
	}
	u.useOldAndNewData(legacy, replaced)

	// Idempotent: docker is not asked again.
	u.Configure(map[string]any{"log-level": "debug"})
	u.WantReady(5000, "http")
	if n := u.logged("removed the reactive charm's docker container"); n != 1 {
		t.Errorf("%d removals logged after another hook, want 1", n)
	}
}

// reactiveDockerd runs dockerd on the unit's machine where the reactive
// charm's hooks found it: the default socket, with the default bridge
// inside the machine's own network namespace (published ports through
// docker-proxy, no iptables). CI installs docker.io; a missing dockerd
// fails the test, as for the relation tests' workers.
func reactiveDockerd(t testing.TB, m *machine.Machine) *machine.Process {
	t.Helper()
	if _, err := exec.LookPath("dockerd"); err != nil {
		t.Fatalf("dockerd not found (the docker.io package; .ci/run installs it): %v", err)
	}
	ctx := context.Background()
	p, err := m.Command(ctx, "dockerd", "--iptables=false", "--ip6tables=false", "--storage-driver=vfs").Start()
	if err != nil {
		t.Fatalf("cannot start dockerd: %v", err)
	}
	// Stopped before the machine goes, so that it cleans up its
	// containers' cgroups on the host.
	t.Cleanup(func() { p.Stop(30 * time.Second) })
	err = relEventually(ctx, relTimeout, func() error {
		_, err := relRun(ctx, m, nil, nil, "docker", "version")
		return err
	})
	if err != nil {
		t.Fatalf("dockerd not ready: %v\n%s", err, tail(p.Output(), 30))
	}
	return p
}

// registryImage writes a root filesystem tarball for `docker import`: the
// upstream registry binary at /bin/registry with the shared libraries it
// needs (there is no network to pull registry:2 from).
func registryImage(t testing.TB, bin string) string {
	t.Helper()
	// Under /tmp, which every machine shares with the host.
	dir, err := os.MkdirTemp("/tmp", "registry-image-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	rootfs := filepath.Join(dir, "rootfs")
	files := map[string]string{bin: "/bin/registry"}
	if out, err := exec.Command("ldd", bin).Output(); err == nil {
		for _, f := range strings.Fields(string(out)) {
			if strings.HasPrefix(f, "/") {
				files[f] = f
			}
		}
	}
	for src, dst := range files {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(rootfs, dst)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	tarball := filepath.Join(dir, "registry.tar")
	if out, err := exec.Command("tar", "-C", rootfs, "-cf", tarball, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	return tarball
}

package e2e

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/canonical/docker-registry-charm/internal/testing/deploy"
	"github.com/canonical/docker-registry-charm/internal/testing/remote"
	"github.com/canonical/docker-registry-charm/internal/testing/sim/machine"
)

// Workers of the relation tests: real containerd, dockerd and haproxy
// daemons on machines of the cloud, configured only from what our units
// publish, as the charms on the other side of each relation do.

// relTimeout bounds every wait on a worker daemon or client.
const relTimeout = 60 * time.Second

// relEventually polls f until it succeeds or the deadline passes, and
// returns f's last error.
func relEventually(ctx context.Context, timeout time.Duration, f func() error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		err := f()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// relMachine creates a machine that is not one of our units.
func relMachine(t testing.TB, e *deploy.Env, name string) *machine.Machine {
	t.Helper()
	m, err := e.Cloud.NewMachine(name)
	if err != nil {
		t.Fatalf("cannot create machine %s: %v", name, err)
	}
	return m
}

// relWriteFiles writes path → content into a machine; keys (*.key, *.pem)
// are 0600.
func relWriteFiles(m *machine.Machine, files map[string]string) error {
	for p, content := range files {
		mode := 0o644
		if strings.HasSuffix(p, ".key") || strings.HasSuffix(p, ".pem") {
			mode = 0o600
		}
		if err := m.WriteFile(p, []byte(content), os.FileMode(mode)); err != nil {
			return err
		}
	}
	return nil
}

// relRun runs a command in m and returns its combined output; the error
// names only the program, so arguments (credentials) never reach a log.
func relRun(ctx context.Context, m *machine.Machine, env []string, stdin []byte, args ...string) (string, error) {
	cmd := m.Command(ctx, args[0], args[1:]...)
	if env != nil {
		cmd.Env = append(m.DefaultEnv(), env...)
	}
	cmd.Stdin = stdin
	r, err := cmd.Result()
	if err != nil {
		return "", fmt.Errorf("cannot run %s on %s: %w", filepath.Base(args[0]), m.Name(), err)
	}
	out := string(r.Stdout) + string(r.Stderr)
	if r.ExitCode != 0 {
		return out, fmt.Errorf("%s on %s exited %d", filepath.Base(args[0]), m.Name(), r.ExitCode)
	}
	return out, nil
}

// containerdWorker is a Kubernetes worker's containerd as the containerd
// charm runs it (see internal/testing/remote/containerd.go): config.toml rendered
// from the docker-registry relation, the daemon restarted on every
// change, images pulled through CRI.
type containerdWorker struct {
	m    *machine.Machine
	dir  string
	cfg  string
	proc *machine.Process
}

// relContainerd starts a worker's containerd with no registry of ours,
// as before any docker-registry relation.
func relContainerd(ctx context.Context, t testing.TB, e *deploy.Env, name string) *containerdWorker {
	t.Helper()
	w := &containerdWorker{m: relMachine(t, e, name), dir: "/var/lib/worker-containerd"}
	w.cfg = path.Join(w.dir, "config.toml")
	if err := w.render(ctx, nil); err != nil {
		t.Fatal(err)
	}
	return w
}

// render writes config.toml for r (nil: no registry of ours) and
// (re)starts containerd on it, as the charm's config_changed and
// containerd.restart do.
func (w *containerdWorker) render(ctx context.Context, r *remote.ContainerdRegistry) error {
	if err := w.m.WriteFile(w.cfg, []byte(remote.ContainerdConfig(w.dir, r)), 0o644); err != nil {
		return err
	}
	if w.proc != nil {
		w.proc.Stop(10 * time.Second)
		w.proc = nil
	}
	p, err := w.m.Command(ctx, "containerd", "--config", w.cfg).Start()
	if err != nil {
		return fmt.Errorf("cannot start containerd on %s: %w", w.m.Name(), err)
	}
	w.proc = p
	err = relEventually(ctx, relTimeout, func() error {
		_, err := relRun(ctx, w.m, nil, nil, "ctr", "-a", remote.ContainerdSocket(w.dir), "version")
		return err
	})
	if err != nil {
		return fmt.Errorf("containerd on %s not ready: %w\n%s", w.m.Name(), err, p.Output())
	}
	return nil
}

// ownCertificate installs the certificate the worker gets from its own
// easyrsa relation (kubernetes-worker's /root/cdk): easyrsa's CA and a
// server certificate with client usage.
func (w *containerdWorker) ownCertificate(ca *remote.EasyRSA) error {
	cert, key, err := ca.IssueWorker(w.m.Name(), w.m.Addr().String())
	if err != nil {
		return err
	}
	return relWriteFiles(w.m, map[string]string{
		remote.WorkerCAPath: ca.CAPEM, remote.WorkerCertPath: cert, remote.WorkerKeyPath: key,
	})
}

// configure is the charm's configure_registry for the relation as it
// reads now: tls_ca into the system trust store when set, then
// config.toml and a restart.
func (w *containerdWorker) configure(ctx context.Context, v remote.RegistryView) error {
	r := remote.ContainerdRegistryFor(v)
	return w.configureAs(ctx, v, &r)
}

// configureAs is configure with an entry the test changed.
func (w *containerdWorker) configureAs(ctx context.Context, v remote.RegistryView, r *remote.ContainerdRegistry) error {
	if v.HasTLS {
		if err := w.m.WriteFile(remote.RegistryTrustPath, []byte(v.CA), 0o644); err != nil {
			return err
		}
		if out, err := relRun(ctx, w.m, nil, nil, "update-ca-certificates", "--fresh"); err != nil {
			return fmt.Errorf("%w\n%s", err, out)
		}
	}
	return w.render(ctx, r)
}

// crictl runs crictl against the worker's CRI socket.
func (w *containerdWorker) crictl(ctx context.Context, crictl string, args ...string) (string, error) {
	sock := "unix://" + remote.ContainerdSocket(w.dir)
	base := []string{crictl, "--runtime-endpoint", sock, "--image-endpoint", sock, "--timeout", "30s"}
	return relRun(ctx, w.m, nil, nil, append(base, args...)...)
}

// pull pulls netloc/repo through CRI as the kubelet does for a pod:
// no credentials in the request, so containerd uses those of its
// config.toml. It checks the digest CRI reports, then removes the image
// so the next pull goes to the registry again.
func (w *containerdWorker) pull(ctx context.Context, crictl, netloc, repo, digest string) error {
	ref := netloc + "/" + repo
	out, err := w.crictl(ctx, crictl, "pull", ref)
	if err != nil {
		return fmt.Errorf("crictl pull %s: %w\n%s", ref, err, out)
	}
	out, err = w.crictl(ctx, crictl, "inspecti", "-o", "json", ref)
	if err != nil || !strings.Contains(out, netloc+"/"+strings.Split(repo, ":")[0]+"@"+digest) {
		return fmt.Errorf("after pulling, CRI reports %s as:\n%s", ref, out)
	}
	_, err = w.crictl(ctx, crictl, "rmi", ref)
	return err
}

// relTool finds a Go-built test tool: in $TOOLS_DIR (make tools), else
// on PATH.
func relTool(t testing.TB, name string) string {
	t.Helper()
	if dir := os.Getenv("TOOLS_DIR"); dir != "" {
		p := path.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		t.Fatalf("%s is not in TOOLS_DIR=%s: run make tools", name, dir)
	}
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: make tools builds it into .cache/tools", name)
	}
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	return p
}

// dockerWorker is a docker daemon configured by charm-docker's
// configure_registry.
type dockerWorker struct {
	m    *machine.Machine
	dir  string
	proc *machine.Process
}

func relDockerd(ctx context.Context, t testing.TB, e *deploy.Env, name string) *dockerWorker {
	t.Helper()
	w := &dockerWorker{m: relMachine(t, e, name), dir: "/var/lib/worker-docker"}
	p, err := w.m.Command(ctx, "dockerd", remote.DockerdArgs(w.dir, name)...).Start()
	if err != nil {
		t.Fatalf("cannot start dockerd on %s: %v", name, err)
	}
	w.proc = p
	err = relEventually(ctx, relTimeout, func() error {
		_, err := w.docker(ctx, nil, "version")
		return err
	})
	if err != nil {
		t.Fatalf("dockerd on %s not ready: %v\n%s", name, err, p.Output())
	}
	return w
}

func (w *dockerWorker) docker(ctx context.Context, stdin []byte, args ...string) (string, error) {
	env := []string{"DOCKER_HOST=unix://" + remote.DockerSocket(w.dir), "DOCKER_CONFIG=" + path.Join(w.dir, "cli")}
	return relRun(ctx, w.m, env, stdin, append([]string{"docker"}, args...)...)
}

// configure writes /etc/docker/certs.d/<netloc>/ from the relation.
func (w *dockerWorker) configure(ctx context.Context, v remote.RegistryView, clientCert, clientKey string) error {
	if _, err := relRun(ctx, w.m, nil, nil, "rm", "-rf", remote.DockerCertsDir); err != nil {
		return err
	}
	return relWriteFiles(w.m, remote.DockerWorkerFiles(v, clientCert, clientKey))
}

// login runs docker login with the relation's credentials, the password
// on stdin, and returns the client's output.
func (w *dockerWorker) login(ctx context.Context, v remote.RegistryView) (string, error) {
	return w.docker(ctx, []byte(v.Password), "login", v.Netloc, "--username", v.User, "--password-stdin")
}

// haproxyProxy is haproxy from Debian on a proxy machine.
type haproxyProxy struct {
	m     *machine.Machine
	cfg   string
	proc  *machine.Process
	stats string // host path of the stats socket (under the host's /tmp, which machines share)
}

func relHaproxy(t testing.TB, e *deploy.Env, name string) *haproxyProxy {
	t.Helper()
	dir, err := os.MkdirTemp("", "haproxy-stats-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return &haproxyProxy{m: relMachine(t, e, name), stats: path.Join(dir, "stats.sock")}
}

// start (re)starts haproxy with cfg; files are what the config refers to
// on the proxy machine.
func (h *haproxyProxy) start(ctx context.Context, cfg string, files map[string]string) error {
	if h.proc != nil {
		h.proc.Stop(10 * time.Second)
		h.proc = nil
	}
	for p := range remote.HaproxyReferencedFiles(cfg) {
		if _, ok := files[p]; !ok {
			return fmt.Errorf("haproxy.cfg refers to %s, which the proxy machine does not have", p)
		}
	}
	if err := relWriteFiles(h.m, files); err != nil {
		return err
	}
	h.cfg = "/etc/haproxy/haproxy.cfg"
	// A test instrument, not part of what the charm renders: the stats
	// socket tells whether haproxy's health checks pass.
	cfg = strings.Replace(cfg, "global\n", "global\n    stats socket "+h.stats+" mode 600 level admin\n", 1)
	if err := h.m.WriteFile(h.cfg, []byte(cfg), 0o644); err != nil {
		return err
	}
	if out, err := relRun(ctx, h.m, nil, nil, "haproxy", "-c", "-f", h.cfg); err != nil {
		return fmt.Errorf("haproxy refuses the config: %w\n%s\n%s", err, out, cfg)
	}
	p, err := h.m.Command(ctx, "haproxy", "-db", "-f", h.cfg).Start()
	if err != nil {
		return err
	}
	h.proc = p
	return nil
}

func (h *haproxyProxy) log() string {
	if h.proc == nil {
		return ""
	}
	return h.proc.Output()
}

// checks returns the last health-check result of every server of
// backend, server name → haproxy's check_status (L7OK when the registry
// answered the check as configured, INI before the first check).
func (h *haproxyProxy) checks(backend string) (map[string]string, error) {
	return h.stat(backend, "check_status")
}

// stat returns one column of haproxy's statistics ("show stat") for every
// server of backend: server name → value.
func (h *haproxyProxy) stat(backend, column string) (map[string]string, error) {
	conn, err := net.DialTimeout("unix", h.stats, 2*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte("show stat\n")); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(conn)
	if err != nil {
		return nil, err
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(data), "# "))).ReadAll()
	if err != nil || len(rows) == 0 {
		return nil, fmt.Errorf("cannot read haproxy stats: %v", err)
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	if _, ok := col[column]; !ok {
		return nil, fmt.Errorf("haproxy stats have no column %q", column)
	}
	out := map[string]string{}
	for _, r := range rows[1:] {
		if len(r) < len(rows[0]) || r[col["pxname"]] != backend || r[col["svname"]] == "BACKEND" {
			continue
		}
		out[r[col["svname"]]] = r[col[column]]
	}
	return out, nil
}

// waitChecks waits until haproxy's checks of every server of backend pass.
func (h *haproxyProxy) waitChecks(ctx context.Context, backend string, servers ...string) error {
	return relEventually(ctx, relTimeout, func() error {
		st, err := h.checks(backend)
		if err != nil {
			return err
		}
		for _, s := range servers {
			if st[s] != "L7OK" {
				return fmt.Errorf("haproxy's check of %s: %q (all: %v)", s, st[s], st)
			}
		}
		if len(st) != len(servers) {
			return fmt.Errorf("haproxy has servers %v, want %v", st, servers)
		}
		return nil
	})
}

// Package deploy puts the packed charm in a model of the Juju simulator
// whose units run on simulated machines (their own mount and network
// namespaces, a systemd stand-in), with the real registry service, and
// gives clients that reach it. The end-to-end suites and the demo share it.
package deploy

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/canonical/docker-registry-charm/internal/testing/sim"
	"github.com/canonical/docker-registry-charm/internal/testing/sim/machine"
)

// Env is one model with its cloud: each unit of the application under
// test gets a machine when it is created.
type Env struct {
	T     testing.TB
	Cloud *machine.Cloud
	Model *sim.Model
	Charm string // the packed .charm deployed to every unit
	// PrepareMachine, when set, runs on each new unit's machine before
	// the charm arrives: what the cloud provides with the machine, such
	// as a storage volume mounted where the charm's metadata says.
	PrepareMachine func(*machine.Machine) error

	tools    string
	server   *sim.ToolServer
	mu       sync.Mutex
	machines map[string]*machine.Machine
}

// New builds (or takes from $CHARM) the packed charm and sets up an empty
// model on a fresh cloud, removed when the test ends. It skips when the
// machine cannot host simulated machines (not root, no ip(8)).
func New(t testing.TB) *Env {
	t.Helper()
	cloud := machine.NewCloud(t)
	dir := t.TempDir()
	e, err := Open(cloud, PackedCharm(t), Build(t, "jujutool", "./internal/testing/sim/cmd/jujutool"), dir)
	if err != nil {
		t.Fatal(err)
	}
	e.T = t
	t.Cleanup(e.Close)
	// Before the tools and the cloud go: the model and the machines'
	// journals are still there to scan.
	t.Cleanup(func() { e.scanSecrets(t) })
	return e
}

// Open sets up an empty model on cloud, deploying charmPath to every unit;
// hook tools are jujutool links in dir. The demo uses it outside tests.
func Open(cloud *machine.Cloud, charmPath, jujutool, dir string) (*Env, error) {
	e := &Env{Cloud: cloud, Charm: charmPath, machines: map[string]*machine.Machine{}}
	e.tools = filepath.Join(dir, "tools")
	if err := sim.InstallTools(e.tools, jujutool); err != nil {
		return nil, err
	}
	m, err := sim.NewModel(sim.Options{
		CharmDir:     charmPath,
		Executor:     e,
		UnitAddress:  e.newUnitMachine,
		UnitCharmDir: machine.CharmDir,
	})
	if err != nil {
		return nil, err
	}
	if e.server, err = m.ServeTools(filepath.Join(dir, "agent.sock")); err != nil {
		return nil, err
	}
	e.Model = m
	return e, nil
}

// Close stops serving hook tools; the caller closes the cloud.
func (e *Env) Close() { e.server.Close() }

// newUnitMachine gives a new unit its machine, with the charm unpacked as
// the unit agent does, and returns the machine's address.
func (e *Env) newUnitMachine(unit string) string {
	m, err := e.Cloud.NewMachine(strings.ReplaceAll(unit, "/", "-"))
	if err != nil {
		panic(fmt.Sprintf("cannot create a machine for %s: %v", unit, err))
	}
	if e.PrepareMachine != nil {
		if err := e.PrepareMachine(m); err != nil {
			panic(fmt.Sprintf("cannot prepare the machine of %s: %v", unit, err))
		}
	}
	if _, err := m.DeployCharm(unit, e.Charm); err != nil {
		panic(fmt.Sprintf("cannot deploy the charm to %s: %v", unit, err))
	}
	e.mu.Lock()
	e.machines[unit] = m
	e.mu.Unlock()
	return m.Addr().String()
}

// Machine returns the machine of one of our units.
func (e *Env) Machine(unit string) *machine.Machine {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := e.machines[unit]
	if m == nil {
		panic(fmt.Sprintf("no machine for %s", unit))
	}
	return m
}

// Dispatch implements sim.Executor: the hook runs on the unit's machine
// with the hook tools first on PATH.
func (e *Env) Dispatch(ctx context.Context, unit string, env []string) (sim.Result, error) {
	e.mu.Lock()
	m := e.machines[unit]
	e.mu.Unlock()
	if m == nil {
		return sim.Result{}, fmt.Errorf("no machine for %s", unit)
	}
	r, err := m.Dispatch(ctx, unit, withPath(env, e.tools))
	return sim.Result{ExitCode: r.ExitCode, Stdout: r.Stdout, Stderr: r.Stderr}, err
}

// UpgradeCharm replaces the charm on every unit's machine, then runs
// Juju's upgrade sequence.
func (e *Env) UpgradeCharm(ctx context.Context, charmPath string) error {
	e.mu.Lock()
	units := make(map[string]*machine.Machine, len(e.machines))
	for u, m := range e.machines {
		units[u] = m
	}
	e.mu.Unlock()
	for u, m := range units {
		if err := m.UpgradeCharm(u, charmPath); err != nil {
			return err
		}
	}
	return e.Model.UpgradeCharm(ctx, charmPath)
}

func withPath(env []string, dir string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, "PATH=") {
			out = append(out, kv)
		}
	}
	return append(out, "PATH="+dir)
}

var (
	buildMu    sync.Mutex
	buildCache = map[string]string{}
	buildDir   string
)

// Build builds a Go command of this module once per test binary.
func Build(t testing.TB, name, pkg string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := buildCache[name]; ok {
		return p
	}
	if buildDir == "" {
		d, err := os.MkdirTemp("", "deploy-build-")
		if err != nil {
			t.Fatal(err)
		}
		buildDir = d
	}
	out := filepath.Join(buildDir, name)
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, pkg)
	cmd.Dir = RepoRoot()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cannot build %s: %v\n%s", pkg, err, b)
	}
	buildCache[name] = out
	return out
}

// PackedCharm returns $CHARM (what `make test` packs), or packs the charm
// from this tree once per test binary.
func PackedCharm(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("CHARM"); p != "" {
		return p
	}
	bin := Build(t, "dispatch", "./cmd/docker-registry")
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := buildCache["charm"]; ok {
		return p
	}
	out := filepath.Join(buildDir, "docker-registry.charm")
	cmd := exec.Command("go", "run", "./tools/mkcharm", "-src", ".", "-dispatch", bin, "-o", out)
	cmd.Dir = RepoRoot()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cannot pack the charm: %v\n%s", err, b)
	}
	buildCache["charm"] = out
	return out
}

// RepoRoot is the module's root directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

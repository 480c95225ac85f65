package charm_test

import (
	"archive/zip"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/canonical/docker-registry-charm/internal/testing/sim"
	"github.com/canonical/docker-registry-charm/internal/testing/sim/machine"
)

// The hooks charmcraft puts in every charm as links to dispatch
// (canonical/charmcraft charmcraft/const.py MANDATORY_HOOK_NAMES, created
// by charm_builder.py handle_dispatcher): agents older than Juju 2.8 know
// no dispatch and run hooks/<name>.
var legacyHooks = []string{"install", "start", "upgrade-charm"}

// The source tree's hooks folder and the packed archive hold exactly
// those, as links to ../dispatch.
func TestHooksFolderIsPackedAsLinks(t *testing.T) {
	for _, h := range legacyHooks {
		if target, err := os.Readlink(filepath.Join("..", "..", "hooks", h)); err != nil || target != "../dispatch" {
			t.Errorf("source hooks/%s -> %q (%v), want a link to ../dispatch", h, target, err)
		}
	}
	zr, err := zip.OpenReader(charmPath(t))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var hooks []string
	for _, f := range zr.File {
		name, ok := strings.CutPrefix(f.Name, "hooks/")
		if !ok {
			continue
		}
		hooks = append(hooks, name)
		if f.Mode()&os.ModeSymlink == 0 {
			t.Errorf("%s mode = %v, want a symlink", f.Name, f.Mode())
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		target, _ := io.ReadAll(rc)
		rc.Close()
		if string(target) != "../dispatch" {
			t.Errorf("%s -> %q, want ../dispatch", f.Name, target)
		}
	}
	slices.Sort(hooks)
	if want := slices.Sorted(slices.Values(legacyHooks)); !slices.Equal(hooks, want) {
		t.Errorf("archive hooks = %v, want %v", hooks, want)
	}
}

// An agent without dispatch support runs hooks/install by name, with no
// JUJU_DISPATCH_PATH: on a simulated machine the charm must take the
// hook's name from the link it was started through, install the registry
// and report it ready. The same environment given to dispatch itself
// names no event, which the charm refuses: only the link told it.
func TestLegacyAgentRunsInstallThroughTheLink(t *testing.T) {
	cloud := machine.NewCloud(t)
	dir := t.TempDir()
	jujutool, err := sim.BuildJujutool(dir)
	if err != nil {
		t.Fatal(err)
	}
	tools := filepath.Join(dir, "tools")
	if err := sim.InstallTools(tools, jujutool); err != nil {
		t.Fatal(err)
	}
	charmFile := charmPath(t)
	machines := map[string]*machine.Machine{}
	unitAddress := func(unit string) string {
		m, err := cloud.NewMachine(strings.ReplaceAll(unit, "/", "-"))
		if err != nil {
			panic(err)
		}
		if _, err := m.DeployCharm(unit, charmFile); err != nil {
			panic(err)
		}
		machines[unit] = m
		return m.Addr().String()
	}
	var ran []string
	legacyAgent := sim.ExecutorFunc(func(ctx context.Context, unit string, env []string) (sim.Result, error) {
		m := machines[unit]
		hook, env := legacyEnv(env, tools+":"+m.BinDir()+":/usr/sbin:/usr/bin:/sbin:/bin")
		link := filepath.Join(machine.CharmDir(unit), "hooks", hook)
		if r, err := m.Command(ctx, "test", "-e", link).Result(); err != nil || r.ExitCode != 0 {
			return sim.Result{}, err // an old agent skips hooks the charm does not have
		}
		ran = append(ran, hook)
		cmd := m.Command(ctx, link)
		cmd.Env, cmd.Dir = env, machine.CharmDir(unit)
		r, err := cmd.Result()
		return sim.Result{ExitCode: r.ExitCode, Stdout: r.Stdout, Stderr: r.Stderr}, err
	})
	model, err := sim.NewModel(sim.Options{CharmDir: charmFile, Executor: legacyAgent,
		UnitAddress: unitAddress, UnitCharmDir: machine.CharmDir})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := model.ServeTools(filepath.Join(dir, "agent.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	const unit = "docker-registry/0"
	if err := model.Deploy(ctx, 1); err != nil {
		t.Fatalf("deploy through hooks/*: %v", err)
	}
	if !slices.Equal(ran, []string{"install", "start"}) {
		t.Errorf("the legacy agent ran %v, want install and start", ran)
	}
	var install sim.HookRun
	for _, h := range model.Hooks(0) {
		if h.Hook == "install" {
			install = h
		}
	}
	if len(model.ToolCallsFor(install.ContextID)) == 0 {
		t.Fatal("hooks/install called no hook tool: the charm did nothing")
	}
	m := machines[unit]
	want := "Ready at " + m.Addr().String() + ":5000 (http)."
	if st := model.Unit(unit).Status(); st.Name != "active" || !strings.HasPrefix(st.Message, want) {
		t.Errorf("status after install through the link = %s %q, want active %q", st.Name, st.Message, want)
	}
	if _, err := m.ReadFile("/etc/systemd/system/docker-registry.service"); err != nil {
		t.Errorf("hooks/install did not install the service: %v", err)
	}

	// The same environment, through dispatch: no event to handle.
	_, env := legacyEnv([]string{"JUJU_DISPATCH_PATH=hooks/install", "JUJU_UNIT_NAME=" + unit}, m.BinDir()+":/usr/bin:/bin")
	cmd := m.Command(ctx, filepath.Join(machine.CharmDir(unit), "dispatch"))
	cmd.Env, cmd.Dir = env, machine.CharmDir(unit)
	r, err := cmd.Result()
	if err != nil || r.ExitCode != 2 {
		t.Errorf("dispatch without JUJU_DISPATCH_PATH exited %d (%v), want 2 (no event): %s", r.ExitCode, err, r.Stderr)
	}
}

// legacyEnv is a hook environment as an agent before Juju 2.8 gives it:
// no JUJU_DISPATCH_PATH, PATH as given. It returns the hook's name too.
func legacyEnv(env []string, path string) (string, []string) {
	hook := ""
	var out []string
	for _, kv := range env {
		switch {
		case strings.HasPrefix(kv, "JUJU_DISPATCH_PATH="):
			hook = strings.TrimPrefix(kv, "JUJU_DISPATCH_PATH=hooks/")
		case strings.HasPrefix(kv, "PATH="):
		default:
			out = append(out, kv)
		}
	}
	return hook, append(out, "PATH="+path)
}

package sim_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/canonical/docker-registry-charm/internal/testing/sim"
)

// script is a shell charm: it calls the hook tools through PATH, as a real
// charm process does, so the forwarder and the socket server are tested
// end to end.
const script = `#!/bin/sh
set -e
case "$JUJU_DISPATCH_PATH" in
hooks/install)
	status-set maintenance "installing"
	juju-log -l WARNING "hello from $JUJU_UNIT_NAME"
	;;
hooks/config-changed)
	port=$(config-get registry-port)
	open-port "$port/tcp"
	printf '{"port": "%s", "gone": ""}' "$port" | relation-set -r peer:0 --file -
	config-get --format=json -o cfg.json
	printf 'from-file: "yes"\n' > settings.yaml
	relation-set -r peer:0 --file settings.yaml
	;;
hooks/start)
	set +e
	relation-get 2>err.txt; rc=$?
	set -e
	status-set active "Ready at $(unit-get private-address):$(config-get registry-port) rc=$rc $(cat err.txt)"
	# tools called concurrently from one hook
	for i in 1 2 3 4 5 6 7 8; do is-leader >/dev/null & done
	wait
	;;
hooks/update-status)
	echo "to stdout"; echo "to stderr" >&2
	exit 4
	;;
actions/push)
	action-set image="$(action-get image)"
	;;
esac
`

func buildJujutool(t *testing.T) string {
	t.Helper()
	bin, err := sim.BuildJujutool(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// shellExecutor runs script with exactly the hook environment plus PATH,
// in the charm dir, the way the unit agent runs dispatch.
func shellExecutor(charmDir, toolsDir string) sim.Executor {
	return sim.ExecutorFunc(func(ctx context.Context, unit string, env []string) (sim.Result, error) {
		cmd := exec.CommandContext(ctx, filepath.Join(charmDir, "dispatch"))
		cmd.Env = append(env, "PATH="+toolsDir+":/usr/bin:/bin")
		cmd.Dir = charmDir
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return sim.Result{ExitCode: exitErr.ExitCode(), Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}, nil
		}
		return sim.Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}, err
	})
}

func TestForwarderEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds jujutool")
	}
	tmp := t.TempDir()
	toolsDir, charmDir := filepath.Join(tmp, "tools"), filepath.Join(tmp, "charm")
	if err := sim.InstallTools(toolsDir, buildJujutool(t)); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(charmDir, 0o755)
	if err := os.WriteFile(filepath.Join(charmDir, "dispatch"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	m, err := sim.NewModel(sim.Options{CharmDir: "testdata/charm", Executor: shellExecutor(charmDir, toolsDir),
		UnitCharmDir: func(string) string { return charmDir }})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := m.ServeTools(filepath.Join(tmp, "agent.socket"))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	if err := m.Deploy(ctx, 1); err != nil {
		t.Fatal(err)
	}

	u := m.Unit("docker-registry/0")
	want := "Ready at 127.0.10.1:5000 rc=2 ERROR no relation id specified"
	if st := u.Status(); st.Name != "active" || st.Message != want {
		t.Errorf("status = %+v, want active %q", st, want)
	}
	equal(t, "ports", u.OpenedPorts(), []string{"5000/tcp"})
	bag := m.RelationData(m.PeerRelation("peer"), u.Name())
	if bag["port"] != "5000" || bag["private-address"] != "127.0.10.1" || bag["from-file"] != "yes" {
		t.Errorf("peer bag = %v", bag)
	}
	if logs := u.Logs(); len(logs) != 1 || logs[0].Level != "WARNING" || logs[0].Message != "hello from docker-registry/0" {
		t.Errorf("logs = %+v", logs)
	}
	if cfg, _ := os.ReadFile(filepath.Join(charmDir, "cfg.json")); !strings.Contains(string(cfg), `"registry-port":5000`) {
		t.Errorf("config-get -o wrote %q", cfg)
	}
	leaderCalls := 0
	for _, c := range m.ToolCalls(0) {
		if c.Tool == "is-leader" && c.Code == 0 {
			leaderCalls++
		}
		if c.Tool == "relation-set" && c.StdinLen == 0 {
			t.Errorf("relation-set --file - arrived without stdin: %+v", c)
		}
	}
	if leaderCalls != 8 {
		t.Errorf("%d concurrent is-leader calls served, want 8", leaderCalls)
	}

	err = m.UpdateStatus(ctx)
	var he *sim.HookError
	if !errors.As(err, &he) || he.Run.ExitCode != 4 || !strings.Contains(he.Run.Stderr, "to stderr") {
		t.Errorf("update-status error = %v", err)
	}
	if err := m.Resolve(ctx, u.Name(), false); err != nil {
		t.Fatal(err)
	}

	res, err := m.RunAction(ctx, u.Name(), "push", map[string]any{"image": "busybox:latest"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != "completed" || res.Results["image"] != "busybox:latest" || res.Results["return-code"] != 0 {
		t.Errorf("action = %v %v", res, res.Results)
	}
}

func TestForwarderUnknownContext(t *testing.T) {
	if testing.Short() {
		t.Skip("builds jujutool")
	}
	tmp := t.TempDir()
	if err := sim.InstallTools(tmp, buildJujutool(t)); err != nil {
		t.Fatal(err)
	}
	m := newModel(t, &charm{})
	srv, err := m.ServeTools(filepath.Join(tmp, "s"))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cmd := exec.Command(filepath.Join(tmp, "is-leader"))
	cmd.Env = []string{"JUJU_CONTEXT_ID=stale", "JUJU_AGENT_SOCKET_ADDRESS=" + srv.Path(),
		"JUJU_AGENT_SOCKET_NETWORK=unix"}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 1 ||
		stderr.String() != "ERROR bad request: unknown context id \"stale\"\n" {
		t.Fatalf("err %v, stderr %q", err, stderr.String())
	}
}

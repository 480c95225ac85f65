package juju_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/canonical/docker-registry-charm/internal/juju"
)

// fakeTool installs an executable named tool on PATH that records its
// arguments and stdin into dir and then runs body.
func fakeTool(t *testing.T, tool, body string) (dir string) {
	t.Helper()
	dir = t.TempDir()
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"" + dir + "/argv\"\ncat > \"" + dir + "/stdin\"\n" + body + "\n"
	if err := os.WriteFile(filepath.Join(dir, tool), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return dir
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestExecRunnerStdoutAndStdin(t *testing.T) {
	dir := fakeTool(t, "relation-set", `echo done`)
	c := &juju.Client{Runner: juju.ExecRunner{}}
	err := c.RelationSet(context.Background(), "docker-registry:1", false,
		map[string]string{"basic_password": `"hunter2"`})
	if err != nil {
		t.Fatal(err)
	}
	argv := readFile(t, filepath.Join(dir, "argv"))
	if argv != "-r\ndocker-registry:1\n--file\n-\n" {
		t.Errorf("argv = %q", argv)
	}
	if stdin := readFile(t, filepath.Join(dir, "stdin")); stdin != `{"basic_password":"\"hunter2\""}` {
		t.Errorf("stdin = %q", stdin)
	}
	out, err := juju.ExecRunner{}.Run(context.Background(), nil, "relation-set")
	if err != nil || string(out) != "done\n" {
		t.Errorf("Run = %q, %v", out, err)
	}
}

func TestExecRunnerToolError(t *testing.T) {
	fakeTool(t, "relation-get", `echo 'ERROR invalid relation id "x"' >&2; exit 2`)
	_, err := juju.ExecRunner{}.Run(context.Background(), nil, "relation-get", "-r", "x", "-", "a/0")
	var te *juju.ToolError
	if !errors.As(err, &te) {
		t.Fatalf("err = %#v, want *ToolError", err)
	}
	if te.Code != 2 || te.Tool != "relation-get" || strings.Join(te.Args, " ") != "-r x - a/0" {
		t.Errorf("ToolError = %+v", te)
	}
	if want := `cannot run relation-get -r x - a/0: invalid relation id "x"`; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}

func TestExecRunnerKeepsSecretArgsOutOfErrors(t *testing.T) {
	fakeTool(t, "leader-set", `echo 'ERROR cannot write leadership settings: not the leader' >&2; exit 1`)
	c := &juju.Client{Runner: juju.ExecRunner{}}
	err := c.LeaderSet(context.Background(), map[string]string{"http-secret": "TOPSECRET"})
	var te *juju.ToolError
	if !errors.As(err, &te) || te.Code != 1 {
		t.Fatalf("err = %v, want a ToolError with code 1", err)
	}
	if strings.Contains(err.Error(), "TOPSECRET") || strings.Contains(strings.Join(te.Args, " "), "TOPSECRET") {
		t.Error("the secret value appears in the error text or in ToolError.Args")
	}
	if !strings.Contains(err.Error(), "not the leader") {
		t.Errorf("Error() = %q lost the tool's message", err.Error())
	}
	if len(te.Args) != 1 || !strings.HasPrefix(te.Args[0], "http-secret=") {
		t.Errorf("Args = %q, want the key kept for debugging", te.Args)
	}
}

func TestNewToolErrorRedactsOnlySecretTools(t *testing.T) {
	for tool, redacted := range map[string]bool{
		"action-set": true, "leader-set": true, "relation-set": true, "juju-log": false, "config-get": false,
	} {
		e := juju.NewToolError(tool, []string{"k=v4lue"}, 1, "")
		if got := strings.Contains(e.Args[0], "v4lue") || strings.Contains(e.Error(), "v4lue"); got == redacted {
			t.Errorf("%s: value shown = %v, want %v (%q, %q)", tool, got, !redacted, e.Args, e.Error())
		}
		if !strings.Contains(e.Error(), "exit status 1") {
			t.Errorf("%s: Error() = %q, want the exit status when stderr is empty", tool, e.Error())
		}
	}
}

func TestExecRunnerMissingTool(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := juju.ExecRunner{}.Run(context.Background(), nil, "is-leader")
	var te *juju.ToolError
	if err == nil || errors.As(err, &te) {
		t.Fatalf("err = %v, want a plain error for a tool that is not on PATH", err)
	}
	if !strings.HasPrefix(err.Error(), "cannot run is-leader") {
		t.Errorf("Error() = %q", err.Error())
	}
}

func TestExecRunnerCancelled(t *testing.T) {
	fakeTool(t, "goal-state", `sleep 10`)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := juju.ExecRunner{}.Run(ctx, nil, "goal-state")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the context's deadline error", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("Run returned after %v; the tool was not stopped", time.Since(start))
	}
}

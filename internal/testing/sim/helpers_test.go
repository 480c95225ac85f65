package sim_test

import (
	"context"
	"errors"
	"path"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/canonical/docker-registry-charm/internal/juju"
	"github.com/canonical/docker-registry-charm/internal/testing/sim"
)

// hook is what an in-process test charm sees: its environment and a way
// to call hook tools.
type hook struct {
	ctx context.Context
	env map[string]string
	r   juju.Runner
}

// event is the hook or action name, from JUJU_DISPATCH_PATH as a charm
// should read it.
func (h *hook) event() string { return path.Base(h.env["JUJU_DISPATCH_PATH"]) }

// tool runs a hook tool and returns its stdout; the error is a
// *juju.ToolError for non-zero exits.
func (h *hook) tool(name string, args ...string) (string, error) {
	out, err := h.r.Run(h.ctx, nil, name, args...)
	return string(out), err
}

func (h *hook) toolStdin(stdin, name string, args ...string) (string, error) {
	out, err := h.r.Run(h.ctx, []byte(stdin), name, args...)
	return string(out), err
}

// charm adapts a test charm function to a FuncExecutor and keeps every
// environment it was given, in order.
type charm struct {
	mu   sync.Mutex
	envs []map[string]string
	fn   func(*hook) int
}

func (c *charm) executor() sim.FuncExecutor {
	return func(ctx context.Context, env map[string]string, r juju.Runner) int {
		c.mu.Lock()
		c.envs = append(c.envs, env)
		fn := c.fn
		c.mu.Unlock()
		if fn == nil {
			return 0
		}
		return fn(&hook{ctx: ctx, env: env, r: r})
	}
}

// lastEnv is the environment of the last run of event on unit.
func (c *charm) lastEnv(unit, event string) map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.envs) - 1; i >= 0; i-- {
		e := c.envs[i]
		if e["JUJU_UNIT_NAME"] == unit && path.Base(e["JUJU_DISPATCH_PATH"]) == event {
			return e
		}
	}
	return nil
}

func newModel(t *testing.T, c *charm) *sim.Model {
	t.Helper()
	m, err := sim.NewModel(sim.Options{CharmDir: "testdata/charm", Executor: c.executor()})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func deploy(t *testing.T, c *charm, n int) *sim.Model {
	t.Helper()
	m := newModel(t, c)
	if err := m.Deploy(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	return m
}

func toolCode(err error) int {
	var te *juju.ToolError
	if errors.As(err, &te) {
		return te.Code
	}
	if err != nil {
		return -1
	}
	return 0
}

func equal[T comparable](t *testing.T, what string, got, want []T) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s:\n got %v\nwant %v", what, got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s:\n got %v\nwant %v", what, got, want)
		}
	}
}

// execIn runs one tool in a fresh context of unit for ev, as a unit test
// of the tool itself; the context is discarded.
func execIn(t *testing.T, m *sim.Model, unit string, ev sim.Event, stdin string, argv ...string) (string, string, int) {
	t.Helper()
	hc, err := m.NewHookContext(unit, ev)
	if err != nil {
		t.Fatal(err)
	}
	defer hc.Discard()
	out, errOut, code := m.Exec(hc, argv, []byte(stdin))
	return string(out), strings.TrimSpace(string(errOut)), code
}

// hookNames lists every hook run on unit so far.
func hookNames(m *sim.Model, unit string) []string { return sim.HookNames(m.Hooks(0), unit) }

func itoa(i int) string { return strconv.Itoa(i) }

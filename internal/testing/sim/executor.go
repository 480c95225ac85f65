package sim

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/canonical/docker-registry-charm/internal/juju"
)

// Executor runs the charm for one hook or action of unit, with exactly
// env (PATH excepted, which the executor adds), and reports how it ended.
// An error means the charm could not be run at all.
type Executor interface {
	Dispatch(ctx context.Context, unit string, env []string) (Result, error)
}

// Result is how a charm process ended.
type Result struct {
	ExitCode       int
	Stdout, Stderr []byte
}

// FuncExecutor runs the charm in-process: the function gets the hook's
// environment and a juju.Runner that calls the model's hook tools, and
// returns the exit code. A panic is a crash: exit 2, the panic on stderr.
type FuncExecutor func(ctx context.Context, env map[string]string, r juju.Runner) int

type modelKey struct{}

// Dispatch implements Executor. The model travels in ctx, so a
// FuncExecutor needs no reference to it.
func (f FuncExecutor) Dispatch(ctx context.Context, unit string, env []string) (res Result, err error) {
	m, _ := ctx.Value(modelKey{}).(*Model)
	if m == nil {
		return Result{}, fmt.Errorf("cannot dispatch on %s: FuncExecutor called outside a Model", unit)
	}
	envMap := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		envMap[k] = v
	}
	defer func() {
		if p := recover(); p != nil {
			res = Result{ExitCode: 2, Stderr: fmt.Appendf(nil, "panic: %v\n\n%s", p, debug.Stack())}
		}
	}()
	code := f(ctx, envMap, &Runner{m: m, contextID: envMap["JUJU_CONTEXT_ID"]})
	return Result{ExitCode: code}, nil
}

// Runner is an in-process juju.Runner: each Run calls the model's hook
// tool for one hook context. Non-zero exits return *juju.ToolError.
type Runner struct {
	m         *Model
	contextID string
}

// Runner returns a juju.Runner bound to hc, for tests that call hook tools
// directly.
func (m *Model) Runner(hc *HookContext) *Runner { return &Runner{m: m, contextID: hc.id} }

// Run implements juju.Runner.
func (r *Runner) Run(ctx context.Context, stdin []byte, tool string, args ...string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("cannot run %s: %w", tool, err)
	}
	stdout, stderr, code := r.m.ExecContext(r.contextID, "", append([]string{tool}, args...), stdin)
	if code != 0 {
		return stdout, juju.NewToolError(tool, args, code, string(stderr))
	}
	return stdout, nil
}

var _ juju.Runner = (*Runner)(nil)

// ExecutorFunc adapts a function to Executor, e.g. a simulated machine's
// Dispatch with the tools directory prepended as PATH.
type ExecutorFunc func(ctx context.Context, unit string, env []string) (Result, error)

// Dispatch implements Executor.
func (f ExecutorFunc) Dispatch(ctx context.Context, unit string, env []string) (Result, error) {
	return f(ctx, unit, env)
}

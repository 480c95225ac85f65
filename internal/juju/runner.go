// Package juju maps Juju's hook tools to typed Go calls and reads the hook
// environment. It holds no charm policy: every method runs exactly one tool
// and decodes exactly its output, so the charm reads like the hook tools it
// calls and tests can replace the tools with one seam, the Runner.
package juju

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// Runner runs one hook tool. It is the only seam between the charm and Juju:
// ExecRunner in production, a recorder or the simulator in tests.
type Runner interface {
	// Run runs tool with args, feeding stdin (nil for none), and returns its
	// stdout. A non-zero exit returns a *ToolError.
	Run(ctx context.Context, stdin []byte, tool string, args ...string) ([]byte, error)
}

// ExecRunner runs hook tools as processes found on PATH, which Juju points
// at the unit's tools directory. The tools inherit the hook's environment,
// which carries the JUJU_CONTEXT_ID they need to reach the agent.
type ExecRunner struct{}

// Run implements Runner.
func (ExecRunner) Run(ctx context.Context, stdin []byte, tool string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, tool, args...)
	// Once the tool is killed, stop waiting for output from any child it
	// left holding the pipes.
	cmd.WaitDelay = time.Second
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctxErr := ctx.Err(); err != nil && ctxErr != nil {
		// Killed because the hook ran out of time: say so, not "signal: killed".
		return nil, fmt.Errorf("cannot run %s: %w", tool, ctxErr)
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return stdout.Bytes(), NewToolError(tool, args, exitErr.ExitCode(), stderr.String())
	}
	if err != nil {
		// Not started at all (not on PATH, context cancelled): no exit code.
		return nil, fmt.Errorf("cannot run %s: %w", tool, err)
	}
	return stdout.Bytes(), nil
}

// ToolError is a hook tool that exited non-zero. Juju's tools exit 2 for a
// usage error (bad flag, unknown relation id) and 1 for a failed command.
type ToolError struct {
	Tool   string
	Args   []string // redacted for the tools that take secrets as arguments
	Code   int      // exit code; -1 when killed by a signal
	Stderr string
}

// secretArgTools take key=value arguments whose values may be secrets
// (relation data, leader data, action results).
var secretArgTools = map[string]bool{
	"relation-set": true,
	"leader-set":   true,
	"action-set":   true,
}

// NewToolError builds a ToolError whose Args never hold a value given to a
// tool that takes secrets as key=value arguments: only the keys are kept, so
// the error can be logged. Runners other than ExecRunner should use it too.
func NewToolError(tool string, args []string, code int, stderr string) *ToolError {
	kept := make([]string, len(args))
	for i, a := range args {
		if k, _, ok := strings.Cut(a, "="); ok && secretArgTools[tool] {
			a = k + "=…"
		}
		kept[i] = a
	}
	return &ToolError{Tool: tool, Args: kept, Code: code, Stderr: stderr}
}

func (e *ToolError) Error() string {
	msg := strings.TrimSpace(e.Stderr)
	msg = strings.TrimPrefix(msg, "ERROR ")
	if msg == "" {
		msg = fmt.Sprintf("exit status %d", e.Code)
	}
	if secretArgTools[e.Tool] {
		// Even redacted args say nothing useful here; keep the message short.
		return fmt.Sprintf("cannot run %s: %s", e.Tool, msg)
	}
	return fmt.Sprintf("cannot run %s: %s", strings.Join(append([]string{e.Tool}, e.Args...), " "), msg)
}

package sim

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// ToolCall records one hook tool call. Values of key=value arguments of
// the tools that carry secrets are redacted and stdin is only counted, so
// a test may print calls freely.
type ToolCall struct {
	ContextID string
	Unit      string
	Event     string // hook or action name
	Tool      string
	Args      []string
	StdinLen  int
	Code      int
}

func (c ToolCall) String() string {
	return fmt.Sprintf("%s %s → %d", c.Tool, strings.Join(c.Args, " "), c.Code)
}

// usageError is an option or argument error: exit 2, as gnuflag and Init
// errors do in juju/cmd.
type usageError struct{ error }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// call is one tool invocation while it runs (under the model lock).
type call struct {
	m     *Model
	hc    *HookContext
	tool  string
	p     *parsedArgs
	stdin []byte
	cwd   string
	out   bytes.Buffer
	warn  bytes.Buffer // stderr of a successful call

	outFile *string // see exec
}

type toolSpec struct {
	flags []flagDef
	run   func(*call) error
}

// Exec runs one hook tool for hc: argv[0] names the tool (a path is fine).
// It returns what the tool prints and its exit code: 0, 1 for a failed
// command, 2 for a usage error, with "ERROR <msg>" on stderr.
func (m *Model) Exec(hc *HookContext, argv []string, stdin []byte) (stdout, stderr []byte, code int) {
	return m.exec(hc, "", argv, stdin, nil)
}

// ExecContext is Exec for a context named by its JUJU_CONTEXT_ID, as the
// tool server receives it; cwd resolves a relative -o path.
func (m *Model) ExecContext(contextID, cwd string, argv []string, stdin []byte) (stdout, stderr []byte, code int) {
	m.mu.Lock()
	hc := m.contexts[contextID]
	m.mu.Unlock()
	if hc == nil {
		tool := ""
		if len(argv) > 0 {
			tool = path.Base(argv[0])
		}
		m.record(ToolCall{ContextID: contextID, Tool: tool, StdinLen: len(stdin), Code: 1})
		return nil, fmt.Appendf(nil, "ERROR bad request: unknown context id %q\n", contextID), 1
	}
	return m.exec(hc, cwd, argv, stdin, nil)
}

// exec runs one tool. With outFile set, an -o/--output file is not
// written but named there, its content returned as stdout: the forwarder
// writes it in the tool's own mount namespace.
func (m *Model) exec(hc *HookContext, cwd string, argv []string, stdin []byte, outFile *string) ([]byte, []byte, int) {
	if len(argv) == 0 {
		return nil, []byte("ERROR no tool given\n"), 2
	}
	c := &call{m: m, hc: hc, tool: path.Base(argv[0]), stdin: stdin, cwd: cwd, outFile: outFile}
	m.mu.Lock()
	err := c.run(argv[1:])
	code := exitCode(err)
	m.calls = append(m.calls, ToolCall{ContextID: hc.id, Unit: hc.unit, Event: hc.ev.Name(),
		Tool: c.tool, Args: redact(c.tool, argv[1:]), StdinLen: len(stdin), Code: code})
	m.mu.Unlock()
	if err != nil {
		return nil, []byte("ERROR " + err.Error() + "\n"), code
	}
	return c.out.Bytes(), c.warn.Bytes(), 0
}

func (c *call) run(args []string) error {
	spec, ok := toolSpecs[c.tool]
	if !ok {
		return fmt.Errorf("bad request: unknown command: %s", c.tool)
	}
	if c.hc.done {
		return fmt.Errorf("bad request: unknown context id %q", c.hc.id)
	}
	p, err := parseFlags(spec.flags, args)
	if err != nil {
		return usageError{err}
	}
	if p.help {
		fmt.Fprintf(&c.out, "Usage: %s [options]\n", c.tool)
		return nil
	}
	c.p = p
	if c.p.has("format") && deprecatedFormat[c.tool] {
		fmt.Fprintf(&c.warn, "--format flag deprecated for command %q", c.tool)
	}
	return spec.run(c)
}

// deprecatedFormat lists the tools that accept --format only to warn.
var deprecatedFormat = map[string]bool{"relation-set": true, "juju-log": true,
	"open-port": true, "close-port": true}

func exitCode(err error) int {
	var u usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &u):
		return 2
	}
	return 1
}

func (m *Model) record(tc ToolCall) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, tc)
}

// secretTools take key=value arguments whose values may be secrets.
var secretTools = map[string]bool{"relation-set": true, "leader-set": true,
	"action-set": true, "state-set": true}

func redact(tool string, args []string) []string {
	out := slices.Clone(args)
	if !secretTools[tool] {
		return out
	}
	for i, a := range out {
		if k, _, ok := strings.Cut(a, "="); ok && !strings.HasPrefix(a, "-") {
			out[i] = k + "=…"
		}
	}
	return out
}

// ToolCalls returns the calls recorded since mark (0 for all); use
// ToolCallMark before an operation to count the calls it makes.
func (m *Model) ToolCalls(since int) []ToolCall {
	m.mu.Lock()
	defer m.mu.Unlock()
	if since > len(m.calls) {
		return nil
	}
	return slices.Clone(m.calls[since:])
}

// ToolCallsFor returns the calls made by one hook or action, named by its
// context id (HookRun.ContextID).
func (m *Model) ToolCallsFor(contextID string) []ToolCall {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []ToolCall
	for _, c := range m.calls {
		if c.ContextID == contextID {
			out = append(out, c)
		}
	}
	return out
}

// ToolCallMark is the number of calls recorded so far.
func (m *Model) ToolCallMark() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.calls)
}

// emit formats v with the --format option (default def) to stdout or -o.
func (c *call) emit(def string, v any) error {
	format := def
	if c.p.has("format") {
		format = c.p.get("format")
	}
	b, err := formatValue(format, v)
	if err != nil {
		return err
	}
	if out := c.p.get("output"); out != "" && c.outFile != nil {
		*c.outFile = out
		c.out.Write(b)
		return nil
	} else if out != "" {
		if !filepath.IsAbs(out) && c.cwd != "" {
			out = filepath.Join(c.cwd, out)
		}
		if err := os.WriteFile(out, b, 0o644); err != nil {
			return fmt.Errorf("cannot write output: %w", err)
		}
		return nil
	}
	c.out.Write(b)
	return nil
}

// unit is the calling unit's state.
func (c *call) unit() *unit { return c.m.units[c.hc.unit] }

func (c *call) isLeader() bool { return c.m.leader == c.hc.unit }

package machine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Result is what a process run to completion left: its exit code
// (128+signal when killed, 126 not executable, 127 not found) and output.
type Result struct {
	ExitCode       int
	Stdout, Stderr []byte
}

// ExitError is returned by Cmd.Run when the process exits non-zero.
type ExitError struct {
	Argv   []string
	Code   int
	Stderr []byte
}

func (e *ExitError) Error() string {
	return fmt.Sprintf("%s exited %d: %s", strings.Join(e.Argv, " "), e.Code, strings.TrimSpace(string(e.Stderr)))
}

// Cmd is a command to run inside a machine, shaped like exec.Cmd.
type Cmd struct {
	Args  []string // Args[0] is the program, looked up in Env's PATH
	Env   []string // default: PATH with the machine's bin dir, HOME=/root, LANG
	Dir   string   // default "/"
	Stdin []byte
	User  string // run as this user of the machine

	m   *Machine
	ctx context.Context
}

// Command prepares name with args; the context kills it when done.
func (m *Machine) Command(ctx context.Context, name string, args ...string) *Cmd {
	return &Cmd{Args: append([]string{name}, args...), m: m, ctx: ctx}
}

func (c *Cmd) request() runRequest {
	env := c.Env
	if env == nil {
		env = c.m.DefaultEnv()
	}
	dir := c.Dir
	if dir == "" {
		dir = "/"
	}
	return runRequest{Argv: c.Args, Env: env, Dir: dir, Stdin: c.Stdin, User: c.User}
}

// DefaultEnv is the environment Command gives when Cmd.Env is nil.
func (m *Machine) DefaultEnv() []string {
	return []string{"PATH=" + m.BinDir() + ":" + servicePath, "HOME=/root", "LANG=C.UTF-8"}
}

// Result runs the command to completion. err reports only failures to
// run it through the agent; the exit code is in the Result.
func (c *Cmd) Result() (Result, error) {
	var resp runResponse
	err := c.m.client.call(c.ctx, "/run", c.request(), &resp)
	return Result(resp), err
}

// Run runs the command; a non-zero exit is an *ExitError.
func (c *Cmd) Run() error {
	_, err := c.Output()
	return err
}

// Output runs the command and returns its stdout.
func (c *Cmd) Output() ([]byte, error) {
	r, err := c.Result()
	if err != nil {
		return nil, err
	}
	if r.ExitCode != 0 {
		return r.Stdout, &ExitError{Argv: c.Args, Code: r.ExitCode, Stderr: r.Stderr}
	}
	return r.Stdout, nil
}

// CombinedOutput runs the command and returns stdout then stderr.
func (c *Cmd) CombinedOutput() ([]byte, error) {
	r, err := c.Result()
	if err != nil {
		return nil, err
	}
	out := append(r.Stdout, r.Stderr...)
	if r.ExitCode != 0 {
		return out, &ExitError{Argv: c.Args, Code: r.ExitCode, Stderr: r.Stderr}
	}
	return out, nil
}

// Process is a long-running process started in a machine by Cmd.Start.
type Process struct {
	PID int    // in the machine's PID namespace
	Log string // host path of its stdout and stderr

	m *Machine
}

// Start starts the command in the background (daemons: containerd,
// dockerd, haproxy...); its output goes to Process.Log. It dies with the
// machine at the latest.
func (c *Cmd) Start() (*Process, error) {
	req := c.request()
	dir := filepath.Join(c.m.state, "logs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, filepath.Base(c.Args[0])+"-*.log")
	if err != nil {
		return nil, fmt.Errorf("cannot create log: %w", err)
	}
	f.Close()
	req.Log = f.Name()
	var resp startResponse
	if err := c.m.client.call(c.ctx, "/start", req, &resp); err != nil {
		return nil, err
	}
	return &Process{PID: resp.PID, Log: req.Log, m: c.m}, nil
}

// Signal sends sig to the process.
func (p *Process) Signal(sig syscall.Signal) error {
	return p.m.client.call(context.Background(), "/signal", signalRequest{PID: p.PID, Signal: int(sig)}, nil)
}

// Wait waits for the process to exit and returns its exit code.
func (p *Process) Wait(ctx context.Context) (int, error) {
	var resp runResponse
	err := p.m.client.call(ctx, "/wait", waitRequest{PID: p.PID}, &resp)
	return resp.ExitCode, err
}

// Stop sends SIGTERM, waits up to timeout, then SIGKILL.
func (p *Process) Stop(timeout time.Duration) (int, error) {
	if err := p.Signal(syscall.SIGTERM); err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	code, err := p.Wait(ctx)
	if err == nil {
		return code, nil
	}
	if err := p.Signal(syscall.SIGKILL); err != nil {
		return 0, err
	}
	return p.Wait(context.Background())
}

// Output returns what the process has written so far.
func (p *Process) Output() string {
	data, _ := os.ReadFile(p.Log)
	return string(data)
}

// Start starts name with args in the background with the default
// environment: Command(ctx, name, args...).Start().
func (m *Machine) Start(ctx context.Context, name string, args ...string) (*Process, error) {
	return m.Command(ctx, name, args...).Start()
}

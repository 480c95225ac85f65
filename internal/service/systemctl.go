package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// Manager is what the charm asks of the init system. Systemctl is the only
// production implementation; the interface exists so the reconcile can be
// tested state-in/state-out without a service manager.
type Manager interface {
	DaemonReload(ctx context.Context) error
	Enable(ctx context.Context, units ...string) error
	Disable(ctx context.Context, units ...string) error
	Start(ctx context.Context, unit string) error
	Stop(ctx context.Context, unit string) error
	Restart(ctx context.Context, unit string) error
	Reload(ctx context.Context, unit string) error
	IsActive(ctx context.Context, unit string) (bool, error)
	// Failure reports why unit does not stay up, from what systemd and
	// the journal know: "" when it has not failed or restarted.
	Failure(ctx context.Context, unit, prefix string) (string, error)
}

// Systemctl runs systemctl from PATH.
type Systemctl struct{}

var _ Manager = Systemctl{}

func (Systemctl) run(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, "systemctl", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			return fmt.Errorf("cannot run systemctl %s: %w", strings.Join(args, " "), err)
		}
		return fmt.Errorf("cannot run systemctl %s: %w: %s", strings.Join(args, " "), err, msg)
	}
	return nil
}

func (s Systemctl) DaemonReload(ctx context.Context) error { return s.run(ctx, "daemon-reload") }

func (s Systemctl) Enable(ctx context.Context, units ...string) error {
	return s.run(ctx, append([]string{"enable"}, units...)...)
}

func (s Systemctl) Disable(ctx context.Context, units ...string) error {
	return s.run(ctx, append([]string{"disable"}, units...)...)
}

func (s Systemctl) Start(ctx context.Context, unit string) error { return s.run(ctx, "start", unit) }
func (s Systemctl) Stop(ctx context.Context, unit string) error  { return s.run(ctx, "stop", unit) }
func (s Systemctl) Restart(ctx context.Context, unit string) error {
	return s.run(ctx, "restart", unit)
}
func (s Systemctl) Reload(ctx context.Context, unit string) error { return s.run(ctx, "reload", unit) }

// IsActive reports whether the unit is active; systemctl exits 3 for an
// inactive unit, which is an answer and not an error.
func (Systemctl) IsActive(ctx context.Context, unit string) (bool, error) {
	err := exec.CommandContext(ctx, "systemctl", "is-active", "--quiet", unit).Run()
	if err == nil {
		return true, nil
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return false, nil
	}
	return false, fmt.Errorf("cannot run systemctl is-active %s: %w", unit, err)
}

// Failure tells a service that does not stay up from one still starting:
// systemd has restarted it, or given up (failed). The reason is the last
// journal line the program wrote that starts with prefix (its own fatal
// error), or a generic one when the journal holds none. It is asked only
// when the registry does not answer, so it costs healthy hooks nothing.
func (Systemctl) Failure(ctx context.Context, unit, prefix string) (string, error) {
	out, err := exec.CommandContext(ctx, "systemctl", "show", "-p", "ActiveState,NRestarts,Result", unit).Output()
	if err != nil {
		return "", fmt.Errorf("cannot run systemctl show %s: %w", unit, err)
	}
	props := map[string]string{}
	for _, l := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			props[k] = v
		}
	}
	if props["ActiveState"] != "failed" && (props["NRestarts"] == "" || props["NRestarts"] == "0") {
		return "", nil
	}
	log, _ := exec.CommandContext(ctx, "journalctl", "-u", unit, "-n", "200", "-o", "cat", "--no-pager", "-q").Output()
	if line := LastLine(log, prefix); line != "" {
		return line, nil
	}
	return fmt.Sprintf("exits as it starts (systemd: %s)", orUnknown(props["Result"])), nil
}

// LastLine is the last line of log that starts with prefix, without it.
func LastLine(log []byte, prefix string) string {
	lines := strings.Split(strings.TrimRight(string(log), "\n"), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if rest, ok := strings.CutPrefix(lines[i], prefix); ok {
			return strings.TrimSpace(rest)
		}
	}
	return ""
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

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

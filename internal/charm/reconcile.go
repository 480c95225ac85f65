package charm

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/canonical/docker-registry-charm/internal/juju"
	"github.com/canonical/docker-registry-charm/internal/registry"
	"github.com/canonical/docker-registry-charm/internal/service"
)

// Outcome is what apply did, for status.
type Outcome struct {
	Serving bool // the service should be running
	Healthy bool // the registry answered
	// Failing are the registry's failing health checks (its storage):
	// it answers, but its API says 503.
	Failing []string
	// StartFailure is why the service does not stay up (its last fatal
	// error, secrets removed), when systemd has restarted or given up on
	// it; "" while it has not failed.
	StartFailure string
	// Disk is the data filesystem's space, when the registry stores its
	// data there (zero with object storage).
	Disk Disk
	// Rejected: the running registry refused the files on disk and
	// serves its previous configuration (retried by every hook).
	Rejected bool
	// PortBusy is the registry-port the socket unit could not listen on
	// (0: none).
	PortBusy int
	// TakeoverFailed says what of the reactive charm's leftovers could
	// not be taken over, and what to do ("": nothing failed).
	TakeoverFailed string
	// Shown is the status apply set while it worked (d.Progress), which
	// Juju shows until finish sets the outcome; nil when it set none.
	Shown *juju.Status
}

func (c *Charm) apply(ctx context.Context, o *Observed, d *Desired, st *LocalState) (Outcome, error) {
	var out Outcome
	c.logProblems(ctx, d)
	c.logIgnored(ctx, d)
	if err := c.publish(ctx, d); err != nil {
		return out, err
	}
	if d.Registry == nil {
		// Invalid options, storage that refuses the registry, or no
		// secret yet: keep the last good configuration serving, change
		// nothing on the machine.
		out.Serving = st.Last != nil && st.Last.Configured && !st.Stopped
		out.Rejected = st.ReloadPending
		if out.Serving {
			out.Healthy, out.Failing = c.checkHealth(ctx, st.Last.Probe)
		}
		return out, nil
	}
	st.RemoteApps = d.RemoteApps
	if err := c.applyPorts(ctx, d); err != nil {
		return out, err
	}
	acc, err := c.Machine.Account(ctx)
	if err != nil {
		return out, err
	}
	if err := c.ensureDirs(acc); err != nil {
		return out, err
	}
	// Before anything starts: what a unit refreshed from the reactive
	// charm still has of it (migrate.go).
	if out.TakeoverFailed, out.Shown, err = c.takeOver(ctx, o, d, st, acc); err != nil {
		return out, err
	}
	if err := c.applyWorkload(o, d, st, acc); err != nil {
		return out, err
	}
	if err := c.applyNRPE(d, st); err != nil {
		return out, err
	}
	if err := c.tell(ctx, o, d, st, &out); err != nil {
		return out, err
	}
	c.report(ctx, o, d, &out)
	return out, nil
}

// tell has the service use what changed (drive) and records what systemd
// now knows: the pending record is cleared, a rejected reload is retried
// through ReloadPending, a busy port on the next hook.
func (c *Charm) tell(ctx context.Context, o *Observed, d *Desired, st *LocalState, out *Outcome) error {
	out.Serving = d.Serving
	err := c.drive(ctx, d)
	st.ReloadPending = errors.Is(err, errRejected)
	if err == nil || st.ReloadPending || errors.Is(err, errNoSocket) {
		if st.Pending != (Changes{}) {
			if err := writePending(pendingPath(c.Paths.StateFile()), Changes{}); err != nil {
				return err
			}
		}
		st.Pending = Changes{}
	}
	out.Rejected = st.ReloadPending
	switch {
	case errors.Is(err, errNoSocket):
		out.PortBusy, out.Serving = o.Config.RegistryPort, false
	case err != nil && !st.ReloadPending:
		return err
	}
	return nil
}

// report adds what the machine shows after apply: the data filesystem's
// space, whether the registry answers, its failing health checks, and
// why it does not start.
func (c *Charm) report(ctx context.Context, o *Observed, d *Desired, out *Outcome) {
	if !o.Config.UsesS3() && !o.Config.UsesSwift() {
		out.Disk = c.Machine.Disk(c.Paths.DataDir())
	}
	if out.Serving {
		if out.Healthy = c.waitReady(ctx, d.Probe); out.Healthy {
			out.Failing = c.failingChecks(ctx)
		} else {
			out.StartFailure = c.startFailure(ctx, secretsOf(o, d))
		}
	}
}

// startFailure asks systemd whether a registry that does not answer
// fails to start, and why, in one line without any secret.
func (c *Charm) startFailure(ctx context.Context, secrets []string) string {
	why, err := c.Services.Failure(ctx, service.ServiceUnit, serveErrorPrefix)
	if err != nil || why == "" {
		return ""
	}
	return redact(why, secrets)
}

// serveErrorPrefix starts the line `docker-registry serve` writes when it
// exits with an error.
const serveErrorPrefix = "docker-registry serve: "

// maxReason bounds what a status line quotes of a log line.
const maxReason = 200

// redact removes every secret value from a line quoted in status and
// bounds its length.
func redact(line string, secrets []string) string {
	for _, s := range secrets {
		if len(s) >= 4 {
			line = strings.ReplaceAll(line, s, "***")
		}
	}
	if len(line) > maxReason {
		line = line[:maxReason] + "…"
	}
	return line
}

// secretsOf are the values no status or log line may show.
func secretsOf(o *Observed, d *Desired) []string {
	cfg := o.Config
	return []string{d.Secret, cfg.AuthBasicPassword, cfg.CachePassword, cfg.StorageSwiftPassword,
		cfg.StorageS3SecretKey, cfg.TLSKeyBlob, cfg.RegistryHTTPProxy, cfg.RegistryHTTPSProxy}
}

// drive has the service use what changed as plan decided: nothing, a
// reload in place, a stop, or systemd's path.
func (c *Charm) drive(ctx context.Context, d *Desired) error {
	switch d.Drive {
	case driveNothing:
		return nil
	case driveStop:
		if d.Tell.Units {
			if err := c.Services.DaemonReload(ctx); err != nil {
				return err
			}
		}
		// Disabled too, so that a reboot does not undo the stop.
		if err := c.stopAll(ctx); err != nil {
			return err
		}
		return c.Services.Disable(ctx, service.SocketUnit, service.ServiceUnit)
	case driveReload:
		err := c.Workload.Reload(ctx, false)
		if !errors.Is(err, registry.ErrUnreachable) {
			if err != nil {
				return errRejected
			}
			return nil
		}
		// It stopped answering since observe asked: systemd's path.
	}
	return c.driveSystemd(ctx, d.Tell)
}

// driveSystemd tells systemd what changed, with the least disruptive
// action that makes the service use it: a reload for anything the
// registry reads (it swaps its handler in-process, dropping nothing), a
// restart only for a new binary or environment, and a socket restart only
// for a new port.
func (c *Charm) driveSystemd(ctx context.Context, ch Changes) error {
	svc := c.Services
	if ch.Units {
		if err := svc.DaemonReload(ctx); err != nil {
			return err
		}
		if err := svc.Enable(ctx, service.SocketUnit, service.ServiceUnit); err != nil {
			return err
		}
	}
	active, err := svc.IsActive(ctx, service.ServiceUnit)
	if err != nil {
		return err
	}
	switch {
	case !active:
		if err := svc.Enable(ctx, service.SocketUnit, service.ServiceUnit); err != nil {
			return err
		}
		if err := svc.Start(ctx, service.SocketUnit); err != nil {
			return errNoSocket
		}
		return svc.Start(ctx, service.ServiceUnit)
	case ch.Socket:
		// The listening port changed: only a new socket can serve it.
		if err := svc.Stop(ctx, service.ServiceUnit); err != nil {
			return err
		}
		if err := svc.Restart(ctx, service.SocketUnit); err != nil {
			return errNoSocket
		}
		return svc.Start(ctx, service.ServiceUnit)
	case ch.Binary || ch.Units || ch.Env:
		return svc.Restart(ctx, service.ServiceUnit)
	case ch.Served:
		if err := c.Workload.Reload(ctx, false); err != nil {
			return errRejected
		}
	}
	return nil
}

// stopAll stops the socket, then the service: a connection to a listening
// socket unit would start the service again.
func (c *Charm) stopAll(ctx context.Context) error {
	for _, u := range []string{service.SocketUnit, service.ServiceUnit} {
		active, err := c.Services.IsActive(ctx, u)
		if err != nil {
			return err
		}
		if active {
			if err := c.Services.Stop(ctx, u); err != nil {
				return err
			}
		}
	}
	return nil
}

// errNoSocket is a socket unit that cannot listen: the port is taken by
// another program, most often. The operator picks another registry-port.
var errNoSocket = errors.New("cannot listen")

// errRejected is a reload the running registry refused: it keeps serving
// its previous configuration. The reason is in the registry's own log;
// it is not repeated here because configuration errors may quote values.
var errRejected = errors.New("rejected")

func (c *Charm) applyPorts(ctx context.Context, d *Desired) error {
	for _, p := range d.ClosePorts {
		if err := c.Juju.ClosePort(ctx, p); err != nil {
			return err
		}
	}
	for _, p := range d.OpenPorts {
		if err := c.Juju.OpenPort(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

// publish writes relation data that differs from what is published.
func (c *Charm) publish(ctx context.Context, d *Desired) error {
	for _, id := range slices.Sorted(maps.Keys(d.AppBags)) {
		if err := c.Juju.RelationSet(ctx, id, true, d.AppBags[id]); err != nil {
			return err
		}
	}
	for _, id := range slices.Sorted(maps.Keys(d.UnitBags)) {
		if err := c.Juju.RelationSet(ctx, id, false, d.UnitBags[id]); err != nil {
			return err
		}
	}
	return nil
}

// logProblems explains each invalid option in the debug log; the status
// line only names them. Messages never carry option values.
func (c *Charm) logProblems(ctx context.Context, d *Desired) {
	if len(d.Problems) == 0 {
		return
	}
	lines := make([]string, 0, len(d.Problems))
	for _, p := range d.Problems {
		lines = append(lines, p.String())
	}
	msg := "invalid charm config, keeping the last good registry configuration: " + strings.Join(lines, "; ")
	_ = c.Juju.Log(ctx, juju.LevelWarning, msg)
}

// finish sets the status and remembers the outcome for update-status and
// actions.
func (c *Charm) finish(ctx context.Context, d *Desired, out Outcome, st LocalState) error {
	sum := &Summary{Hold: d.Hold, Ready: d.Ready, Warning: d.Warning, Probe: d.Probe, Netloc: d.Netloc, Scheme: d.Scheme, CertExpires: d.CertExpires,
		LocalData: out.Disk.Size > 0, PortBusy: out.PortBusy, TakeoverFailed: out.TakeoverFailed}
	if d.Registry == nil && st.Last != nil {
		// The last good configuration is still what serves.
		sum.Ready, sum.Warning, sum.Probe, sum.Netloc, sum.Scheme = st.Last.Ready, st.Last.Warning, st.Last.Probe, st.Last.Netloc, st.Last.Scheme
		sum.Configured, sum.CertExpires = st.Last.Configured, st.Last.CertExpires
	} else {
		sum.Configured = d.Registry != nil
	}
	status := statusFor(sum, out, c.now())
	shown := out.Shown
	if shown == nil && st.Last != nil {
		shown = &st.Last.Status
	}
	if shown == nil || *shown != status || c.statusUnknown {
		if err := c.Juju.StatusSet(ctx, status); err != nil {
			return err
		}
	}
	sum.Status = status
	sum.Version = c.Version
	if c.Version != "" && (st.Last == nil || st.Last.Version != c.Version) {
		if err := c.Juju.ApplicationVersionSet(ctx, c.Version); err != nil {
			return err
		}
	}
	st.Last = sum
	return saveState(c.Paths.StateFile(), st)
}

// certWarning is how long before the served certificate expires status
// starts saying so.
const certWarning = 14 * 24 * time.Hour

// statusFor is the unit's status: a pure function of what the reconcile
// decided (sum), what the machine did (out) and the time.
func statusFor(sum *Summary, out Outcome, now time.Time) juju.Status {
	switch {
	case out.Serving && !out.Healthy && out.StartFailure != "":
		return juju.Status{Name: juju.StatusBlocked, Message: fmt.Sprintf(
			"registry service fails to start: %s (see journalctl -u %s)", out.StartFailure, service.ServiceUnit)}
	case sum.Hold != nil && sum.Hold.Name == juju.StatusBlocked:
		return *sum.Hold
	case out.TakeoverFailed != "":
		return juju.Status{Name: juju.StatusBlocked, Message: out.TakeoverFailed}
	case out.PortBusy != 0:
		return juju.Status{Name: juju.StatusBlocked, Message: fmt.Sprintf(
			"Cannot listen on registry-port %d: is another program using it? (see journalctl -u %s)", out.PortBusy, service.SocketUnit)}
	case out.Rejected:
		return juju.Status{Name: juju.StatusBlocked, Message: fmt.Sprintf(
			"Registry rejected its new configuration and serves the previous one (see journalctl -u %s)", service.ServiceUnit)}
	case !out.Serving:
		if sum.Hold != nil {
			return *sum.Hold
		}
		return juju.Status{Name: juju.StatusMaintenance, Message: "Registry is not running"}
	case !out.Healthy:
		return juju.Status{Name: juju.StatusWaiting, Message: fmt.Sprintf(
			"Registry is not answering on port %d yet (see journalctl -u %s)", sum.Probe.Port, service.ServiceUnit)}
	case len(storageChecks(out.Failing)) > 0:
		return juju.Status{Name: juju.StatusBlocked, Message: fmt.Sprintf(
			"Registry storage fails its health check (%s): pulls and pushes fail until it recovers (see journalctl -u %s)",
			strings.Join(storageChecks(out.Failing), ", "), service.ServiceUnit)}
	case out.Disk.full():
		return juju.Status{Name: juju.StatusBlocked, Message: fmt.Sprintf(
			"Data filesystem %s is %s: pushes fail; run garbage-collect, remove images (rmi) or grow the storage",
			machineDataDir, out.Disk)}
	case redisDown(out.Failing):
		return redisDownStatus
	case sum.Hold != nil:
		return *sum.Hold
	}
	msg := sum.Ready
	if out.Disk.Size > 0 {
		msg += " " + out.Disk.used() + "."
	}
	if !sum.CertExpires.IsZero() && sum.CertExpires.Sub(now) < certWarning {
		msg += fmt.Sprintf(" TLS certificate expires %s: renew it.", expiresIn(sum.CertExpires, now))
	}
	msg += sum.Warning
	return juju.Status{Name: juju.StatusActive, Message: msg}
}

func expiresIn(at, now time.Time) string {
	left := at.Sub(now)
	switch {
	case left <= 0:
		return "now (expired " + at.UTC().Format("2006-01-02 15:04 UTC") + ")"
	case left < 48*time.Hour:
		return fmt.Sprintf("in %d hours", int(left.Hours()))
	}
	return fmt.Sprintf("in %d days", int(left.Hours()/24))
}

package charm

import (
	"context"
	"os"
	"path/filepath"

	"github.com/canonical/docker-registry-charm/internal/config"
	"github.com/canonical/docker-registry-charm/internal/files"
	"github.com/canonical/docker-registry-charm/internal/service"
)

// updateStatus re-checks only the workload. Juju's model cannot change
// without firing a hook that runs the full reconcile, so the outcome of the
// last one still holds; this keeps the periodic hook to at most one tool
// call.
func (c *Charm) updateStatus(ctx context.Context) error {
	st, err := loadState(c.Paths.StateFile())
	if err != nil {
		return err
	}
	if st.Last == nil {
		return c.Reconcile(ctx)
	}
	out := Outcome{Serving: st.Last.Configured && !st.Stopped && !st.SeriesUpgrade && st.Last.PortBusy == 0,
		Rejected: st.ReloadPending, PortBusy: st.Last.PortBusy, TakeoverFailed: st.Last.TakeoverFailed}
	if out.Serving {
		out.Healthy, out.Failing = c.checkHealth(ctx, st.Last.Probe)
	}
	if st.Last.LocalData {
		out.Disk = c.Machine.Disk(c.Paths.DataDir())
	}
	if out.Serving && !out.Healthy {
		// A registry that stopped answering: the full reconcile finds
		// out why (and restores what it can), with the config it needs
		// to keep secrets out of the status it sets.
		return c.Reconcile(ctx)
	}
	status := statusFor(st.Last, out, c.now())
	if status == st.Last.Status {
		return nil
	}
	if err := c.Juju.StatusSet(ctx, status); err != nil {
		return err
	}
	st.Last.Status = status
	return saveState(c.Paths.StateFile(), st)
}

// teardown stops and disables the service when the unit goes away. The
// data stays: it may live on a Juju storage volume that outlives the unit.
func (c *Charm) teardown(ctx context.Context) error {
	if err := c.stopAll(ctx); err != nil {
		return err
	}
	if err := c.Services.Disable(ctx, service.SocketUnit, service.ServiceUnit); err != nil {
		return err
	}
	st, err := loadState(c.Paths.StateFile())
	if err != nil {
		return err
	}
	if err := c.applyNRPE(nil, &st); err != nil {
		return err
	}
	return saveState(c.Paths.StateFile(), st)
}

// forget removes, when the unit itself goes, everything the charm wrote
// but the registry's data: the secrets first (config.yml with the http
// secret and storage keys, htpasswd, the TLS key it wrote, the proxy
// environment, the client key), then the units, the binary and its own
// state. The images stay: /srv/registry may be a Juju storage volume that
// outlives the unit, and an operator may deploy onto it again.
func (c *Charm) forget(ctx context.Context) error {
	st, err := loadState(c.Paths.StateFile())
	if err != nil {
		return err
	}
	paths := []string{
		c.Paths.ConfigFile(), c.Paths.Htpasswd(), c.Paths.EnvFile(), c.Paths.TokenBundle(), c.Paths.RedisCA(),
		c.Paths.ClientCert(), c.Paths.ClientKey(),
	}
	var cfg config.Config
	if st.TLSSource != "" && len(st.TLSFiles) == 0 {
		// An older state file: the configured paths say where.
		if err := c.Juju.ConfigGetAll(ctx, &cfg); err != nil {
			return err
		}
	}
	for _, p := range writtenTLS(cfg, st) {
		paths = append(paths, c.Paths.At(p))
	}
	paths = append(paths,
		filepath.Join(c.Paths.UnitDir(), service.ServiceUnit), filepath.Join(c.Paths.UnitDir(), service.SocketUnit),
		c.Paths.Binary(), c.Paths.StateFile(), pendingPath(c.Paths.StateFile()))
	if err := applyAll(paths, files.Remove); err != nil {
		return err
	}
	for _, dir := range []string{c.Paths.ConfigDir(), filepath.Dir(c.Paths.Binary()), filepath.Dir(filepath.Dir(c.Paths.Binary())), c.Paths.StateDir()} {
		_ = os.Remove(dir) // only when empty: an operator's files stay
	}
	return c.Services.DaemonReload(ctx)
}

// setSeriesUpgrade holds the registry down while the machine's OS is
// upgraded, and lets the reconcile bring it back afterwards.
func (c *Charm) setSeriesUpgrade(ctx context.Context, on bool) error {
	st, err := loadState(c.Paths.StateFile())
	if err != nil {
		return err
	}
	st.SeriesUpgrade = on
	if err := saveState(c.Paths.StateFile(), st); err != nil {
		return err
	}
	return c.Reconcile(ctx)
}

// applyNRPE writes the nagios check and export files while the relation
// exists and removes the ones it wrote when it goes.
func (c *Charm) applyNRPE(d *Desired, st *LocalState) error {
	if d == nil || d.NRPE == nil {
		paths := make([]string, 0, len(st.NRPEFiles))
		for _, p := range st.NRPEFiles {
			paths = append(paths, c.Paths.At(p))
		}
		err := applyAll(paths, files.Remove)
		if err == nil {
			st.NRPEFiles = nil
		}
		return err
	}
	err := applyAll([]files.File{
		{Path: c.Paths.At(d.NRPE.CheckPath), Content: d.NRPE.Check, Mode: 0o644},
		{Path: c.Paths.At(d.NRPE.ExportPath), Content: d.NRPE.Export, Mode: 0o644},
	}, files.Write)
	if err == nil {
		st.NRPEFiles = []string{d.NRPE.CheckPath, d.NRPE.ExportPath}
	}
	return err
}

package charm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"golang.org/x/sys/unix"

	"github.com/canonical/docker-registry-charm/internal/juju"
	"github.com/canonical/docker-registry-charm/internal/registryconf"
	"github.com/canonical/docker-registry-charm/internal/service"
)

// GCHold is garbage-collect's record that it made the registry read-only
// for its sweep. It is written to the charm's state file BEFORE the
// switch and cleared once write mode is back, so that however the action
// ends (an error, SIGTERM, SIGKILL, a machine that lost power) the next
// hook or action that finds it, with no garbage-collect still running,
// restores write mode (endStaleGCHold).
type GCHold struct {
	Since time.Time `json:"since"`
	// ReadOnly is whether the registry was read-only before the sweep
	// (storage-read-only): what to restore.
	ReadOnly bool `json:"read-only,omitempty"`
}

// restoreTimeout bounds giving the registry its write mode back. It runs
// on a context of its own: the action's may already be cancelled (SIGTERM
// from `juju cancel-task`), and restoring is what must happen then.
const restoreTimeout = 90 * time.Second

// gcLock is held by a running garbage-collect, an flock the kernel drops
// when the process dies however it dies: a hold whose lock is free is
// stale.
func (c *Charm) gcLockPath() string { return filepath.Join(c.Paths.StateDir(), "gc.lock") }

func lockGC(path string, wait bool) (*os.File, bool, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("cannot open %s: %w", path, err)
	}
	how := unix.LOCK_EX | unix.LOCK_NB
	if wait {
		how = unix.LOCK_EX
	}
	if err := unix.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("cannot lock %s: %w", path, err)
	}
	return f, true, nil
}

// holdWrites makes the running registry read-only for the sweep: pulls go
// on, pushes are refused with a clear error. In order: take the lock,
// record the hold, then switch. The returned release restores orig (with
// a fresh bounded context) and clears the record; the caller defers it
// whether or not the switch succeeded, since a switch that failed halfway
// may have left the read-only file or served it.
func (c *Charm) holdWrites(ctx context.Context, cfg *configuration.Configuration, orig []byte) (func(), error) {
	lock, ok, err := lockGC(c.gcLockPath(), false)
	if err != nil {
		return func() {}, err
	}
	if !ok {
		return func() {}, errors.New("another garbage-collect is running on this unit")
	}
	hold := &GCHold{Since: time.Now().UTC(), ReadOnly: readOnlyOf(cfg)}
	if err := c.setGCHold(hold); err != nil {
		lock.Close()
		return func() {}, err
	}
	release := func() {
		defer lock.Close()
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), restoreTimeout)
		defer cancel()
		if err := c.swapConfig(rctx, orig, false); err != nil {
			// The record stays: the next hook tries again.
			_ = c.Juju.ActionLog(rctx, "cannot restore write mode after garbage collection (the next hook retries): "+err.Error())
			return
		}
		if err := c.setGCHold(nil); err != nil {
			_ = c.Juju.ActionLog(rctx, "write mode is back, but the charm state could not record it: "+err.Error())
		}
	}
	data, err := registryconf.Marshal(withReadOnly(cfg, true))
	if err != nil {
		return release, err
	}
	return release, c.swapConfig(ctx, data, true)
}

// setGCHold records (or with nil, clears) the hold in the state file,
// read afresh so that nothing else in it is lost.
func (c *Charm) setGCHold(h *GCHold) error {
	st, err := loadState(c.Paths.StateFile())
	if err != nil {
		return err
	}
	st.GCHold = h
	return saveState(c.Paths.StateFile(), st)
}

// endStaleGCHold restores write mode after a garbage-collect that ended
// without doing so (killed, or its restore failed): every hook and action
// calls it first. It does nothing without a record, or while the
// garbage-collect that wrote it still runs. Failures are logged, not
// returned: the hook's own work must go on, and the next one retries.
func (c *Charm) endStaleGCHold(ctx context.Context) {
	st, err := loadState(c.Paths.StateFile())
	if err != nil || st.GCHold == nil {
		return
	}
	lock, ok, err := lockGC(c.gcLockPath(), false)
	if err != nil || !ok {
		return
	}
	defer lock.Close()
	if err := c.restoreWriteMode(ctx, st.GCHold); err != nil {
		_ = c.Juju.Log(ctx, juju.LevelWarning, "cannot restore the registry's write mode after an interrupted garbage-collect (retrying on the next hook): "+err.Error())
		return
	}
	_ = c.Juju.Log(ctx, juju.LevelInfo, fmt.Sprintf("restored the registry's write mode, held since %s by a garbage-collect that did not finish", st.GCHold.Since.Format(time.RFC3339)))
	if err := c.setGCHold(nil); err != nil {
		_ = c.Juju.Log(ctx, juju.LevelWarning, "cannot clear the garbage-collect record: "+err.Error())
	}
}

// restoreWriteMode puts read-only mode in config.yml back to what it was
// before the sweep and has the registry serve it. A registry that is not
// running needs only the file.
func (c *Charm) restoreWriteMode(ctx context.Context, h *GCHold) error {
	ctx, cancel := context.WithTimeout(ctx, restoreTimeout)
	defer cancel()
	cur, err := os.ReadFile(c.Paths.ConfigFile())
	if err != nil {
		return fmt.Errorf("cannot read the registry configuration: %w", err)
	}
	cfg, err := configuration.Parse(bytes.NewReader(cur))
	if err != nil {
		return fmt.Errorf("cannot parse the registry configuration: %w", err)
	}
	data, err := registryconf.Marshal(withReadOnly(cfg, h.ReadOnly))
	if err != nil {
		return err
	}
	err = c.swapConfig(ctx, data, false)
	if err == nil {
		return nil
	}
	if active, aerr := c.Services.IsActive(ctx, service.ServiceUnit); aerr == nil && !active {
		return nil // it reads the file when it starts
	}
	return err
}

// readOnlyOf tells whether cfg has storage.maintenance.readonly enabled.
func readOnlyOf(cfg *configuration.Configuration) bool {
	ro, ok := cfg.Storage["maintenance"]["readonly"]
	if !ok {
		return false
	}
	switch m := ro.(type) {
	case map[any]any:
		enabled, _ := m["enabled"].(bool)
		return enabled
	case map[string]any:
		enabled, _ := m["enabled"].(bool)
		return enabled
	}
	return false
}

// withReadOnly is a copy of cfg with storage.maintenance.readonly set;
// cfg is not changed.
func withReadOnly(cfg *configuration.Configuration, enabled bool) *configuration.Configuration {
	out := *cfg
	out.Storage = configuration.Storage{}
	maps.Copy(out.Storage, cfg.Storage)
	maint := configuration.Parameters{}
	maps.Copy(maint, cfg.Storage["maintenance"])
	maint["readonly"] = map[any]any{"enabled": enabled}
	out.Storage["maintenance"] = maint
	return &out
}

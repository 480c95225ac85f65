// Package charm is the docker-registry charm: one reconcile for every hook
// (observe → plan → apply → status) and a handler per action.
package charm

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/distribution/distribution/v3/configuration"

	"github.com/canonical/docker-registry-charm/internal/juju"
	"github.com/canonical/docker-registry-charm/internal/registry"
	"github.com/canonical/docker-registry-charm/internal/service"
)

// Charm holds the seams the reconcile works through.
type Charm struct {
	Juju     *juju.Client
	Services service.Manager
	Paths    Paths
	// Self is the path of the running charm binary, installed for the
	// service; empty in tests that do not run the workload.
	Self string
	// Version is the embedded distribution version, shown by juju status.
	Version string
	Now     func() time.Time
	// Probe reports whether the registry answers; the real prober in
	// production, overridden by tests that run no workload.
	Probe func(ctx context.Context, p Probe) bool
	// Account returns the registry's system user, creating it if needed;
	// nil means service.EnsureUser. Tests that must not add users to the
	// machine they run on replace it.
	Account func(ctx context.Context) (service.Account, error)
	// Reload has the running registry serve its configuration files anew
	// and returns once it does (with drain: once requests begun under the
	// previous configuration have finished). nil means the registry's
	// control socket, falling back to systemctl reload.
	Reload func(ctx context.Context, drain bool) error
	// FailingChecks names the running registry's failing health checks;
	// nil means asking its control socket.
	FailingChecks func(ctx context.Context) ([]string, error)
	// ReadyTimeout bounds how long a hook waits for the registry to answer
	// after starting or reconfiguring it.
	ReadyTimeout time.Duration
	// CheckStorage asks object storage whether it lets a registry
	// configuration in; nil means registryconf.CheckStorage. Tests without an
	// S3 service replace it.
	CheckStorage func(ctx context.Context, cfg *configuration.Configuration) error

	// DiskSpace reads the data filesystem's space; nil means statfs.
	// State-transition tests, whose data directory is on the host's
	// disk, set the filesystem they want.
	DiskSpace func(dir string) Disk

	// statusUnknown is set for hooks before which Juju may have set the
	// workload status itself ("installing charm software" at install):
	// the status the charm last set is then not what Juju shows, and is
	// set again.
	statusUnknown bool
}

// jujuSetsStatus are the hooks before which the unit agent may set the
// workload status itself (juju's uniter, operation/runhook.go beforeHook:
// install; start and upgrade-charm follow a new charm or a restarted
// agent, where the status the charm remembers may be stale).
var jujuSetsStatus = map[string]bool{"install": true, "start": true, "upgrade-charm": true, "post-series-upgrade": true}

// Hook runs one hook. It returns an error only for a bug or a machine
// failure; everything an operator can fix ends in a status.
func (c *Charm) Hook(ctx context.Context, name string) error {
	c.Juju.Runner = limited(c.Juju.Runner)
	c.statusUnknown = jujuSetsStatus[name]
	c.endStaleGCHold(ctx) // a garbage-collect killed mid-sweep: actions_gchold.go
	switch name {
	case "collect-metrics", "meter-status-changed", "leader-deposed":
		// Restricted contexts (metrics hooks have almost no hook tools)
		// or never fired; nothing here is the registry's business.
		return nil
	case "update-status":
		return c.updateStatus(ctx)
	case "stop":
		return c.teardown(ctx)
	case "remove":
		if err := c.teardown(ctx); err != nil {
			return err
		}
		return c.forget(ctx)
	case "pre-series-upgrade":
		return c.setSeriesUpgrade(ctx, true)
	case "post-series-upgrade":
		return c.setSeriesUpgrade(ctx, false)
	}
	return c.Reconcile(ctx)
}

// Reconcile makes the unit match the whole observed state, whatever hook
// fired. Running it twice changes nothing the second time.
func (c *Charm) Reconcile(ctx context.Context) error {
	o, err := c.observe(ctx)
	if err != nil {
		return err
	}
	d := plan(o, c.now(), newSecret)
	st := o.Host.State
	out, err := c.apply(ctx, o, d, &st)
	if err != nil {
		return err
	}
	return c.finish(ctx, d, out, st)
}

func (c *Charm) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// newSecret makes the registry's http secret: 32 random bytes, base64, as
// the reactive charm generated it.
func newSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("cannot read random bytes: %v", err))
	}
	return base64.StdEncoding.EncodeToString(b)
}

func (c *Charm) account(ctx context.Context) (service.Account, error) {
	if c.Account != nil {
		return c.Account(ctx)
	}
	return service.EnsureUser(ctx, serviceUser, machineDataDir)
}

// reload asks the running registry to reload. The control socket answers
// when the new configuration serves; systemctl reload does the same through
// ExecReload but costs two more processes, so it is only the fallback.
func (c *Charm) reload(ctx context.Context, drain bool) error {
	if c.Reload != nil {
		return c.Reload(ctx, drain)
	}
	err := registry.RequestReload(ctx, registry.DefaultControlSocket, drain)
	if errors.Is(err, registry.ErrUnreachable) {
		if serr := c.Services.Reload(ctx, service.ServiceUnit); serr != nil {
			return err
		}
		return nil
	}
	return err
}

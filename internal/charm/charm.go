// Package charm is the docker-registry charm: one reconcile for every hook
// (observe → plan → apply → status) and a handler per action.
package charm

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/canonical/docker-registry-charm/internal/juju"
	"github.com/canonical/docker-registry-charm/internal/service"
)

// Charm is the reconcile and the actions with the collaborators they work
// through, each passed in once: New for production, the tests' own
// stand-ins otherwise.
type Charm struct {
	Juju     *juju.Client
	Services service.Manager
	Workload Workload
	Machine  Machine
	Paths    Paths
	// Self is the path of the running charm binary, installed for the
	// service; empty in tests that do not run the workload.
	Self string
	// Version is the embedded distribution version, shown by juju status.
	Version string
	// ReadyTimeout bounds how long a hook waits for the registry to answer
	// after starting or reconfiguring it.
	ReadyTimeout time.Duration

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

// Dispatch runs what Juju dispatched to the charm: the action or the hook
// ev names. Errors are Action's and Hook's.
func (c *Charm) Dispatch(ctx context.Context, ev juju.Event) error {
	if ev.Kind == juju.KindAction {
		return c.Action(ctx, ev.Name)
	}
	return c.Hook(ctx, ev.Name)
}

// Hook runs one hook. It returns an error only for a bug or a machine
// failure; everything an operator can fix ends in a status.
func (c *Charm) Hook(ctx context.Context, name string) error {
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

func (c *Charm) now() time.Time { return c.Machine.Now() }

// newSecret makes the registry's http secret: 32 random bytes, base64, as
// the reactive charm generated it.
func newSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("cannot read random bytes: %v", err))
	}
	return base64.StdEncoding.EncodeToString(b)
}

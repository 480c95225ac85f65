package charm

import (
	"context"

	"github.com/canonical/docker-registry-charm/internal/juju"
)

// logIgnored explains, once per hook, each relation value the plan refused
// (a proxy address that is no address, a nagios host name with a newline):
// the relation keeps working without it, so this is a warning, not a
// status. Lines name the unit and key, never the value.
func (c *Charm) logIgnored(ctx context.Context, d *Desired) {
	for _, i := range d.Ignored {
		_ = c.Juju.Log(ctx, juju.LevelWarning, i.String())
	}
}

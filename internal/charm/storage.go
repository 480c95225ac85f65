package charm

import (
	"bytes"
	"context"
	"errors"
	"os"
	"reflect"

	"github.com/distribution/distribution/v3/configuration"

	"github.com/canonical/docker-registry-charm/internal/juju"
	"github.com/canonical/docker-registry-charm/internal/registry"
)

// checkStorage runs before a new registry configuration is written: when
// it moves the registry to object storage it has not used yet (another
// endpoint, bucket, key, Swift login or container...), the storage must
// answer first. A wrong key, a missing bucket or a dead endpoint would
// otherwise reload into a registry that fails every pull and push while
// status says Ready. On failure the debug log says why, the status names
// the options to fix and nothing changes on the machine: the registry
// keeps serving its last good configuration, as with an invalid option.
// It costs one request on S3 (a Swift login, container and capability
// check more), and only in hooks that change the storage settings.
func (c *Charm) checkStorage(ctx context.Context, o *Observed, d *Desired, st *LocalState) bool {
	if !o.Config.SharedStorage() {
		return true // the filesystem is checked by the registry as it starts
	}
	want, err := configuration.Parse(bytes.NewReader(d.Registry))
	if err != nil || (want.Storage.Type() != "s3" && want.Storage.Type() != "swift") {
		return true // a config.yml we cannot parse is the reload's to refuse
	}
	if have, err := os.ReadFile(c.Paths.ConfigFile()); err == nil {
		cur, err := configuration.Parse(bytes.NewReader(have))
		if err == nil && cur.Storage.Type() == want.Storage.Type() && reflect.DeepEqual(cur.Storage.Parameters(), want.Storage.Parameters()) {
			return true
		}
	}
	check := c.CheckStorage
	if check == nil {
		check = registry.CheckStorage
	}
	err = check(ctx, want)
	if err == nil {
		return true
	}
	problem := "Object storage check failed (see juju debug-log)"
	var se *registry.StorageError
	if errors.As(err, &se) {
		problem = se.Problem
	}
	_ = c.Juju.Log(ctx, juju.LevelWarning, "Storage check failed, keeping the last good registry configuration: "+err.Error())
	if st.Last != nil && st.Last.Configured {
		problem += " (serving the previous configuration)"
	}
	d.Hold = holdIfNone(d.Hold, juju.StatusBlocked, problem)
	return false
}

// onlyPeer keeps only the peer relation's bags in d, for publish.
func onlyPeer(d *Desired, o *Observed) {
	keep := func(bags map[string]Bag) map[string]Bag {
		out := map[string]Bag{}
		if o.Peer != nil {
			if b, ok := bags[o.Peer.ID]; ok {
				out[o.Peer.ID] = b
			}
		}
		return out
	}
	d.UnitBags, d.AppBags = keep(d.UnitBags), keep(d.AppBags)
}

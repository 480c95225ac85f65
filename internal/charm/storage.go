package charm

import (
	"bytes"
	"context"
	"errors"
	"os"
	"reflect"

	"github.com/distribution/distribution/v3/configuration"

	"github.com/canonical/docker-registry-charm/internal/juju"
	"github.com/canonical/docker-registry-charm/internal/registryconf"
)

// observeStorage asks object storage the options move the registry onto
// (another endpoint, bucket, key, Swift login or container...) whether it
// lets the registry in, before anything is decided: a wrong key, a missing
// bucket or a dead endpoint would otherwise reload into a registry that
// fails every pull and push while status says Ready. The answer is an
// observation; plan turns a refusal into a held configuration, a status
// naming the options and only the peer bags published (the registry keeps
// serving its last good configuration, as with an invalid option). It
// costs one request on S3 (a Swift login, container and capability check
// more), and only in hooks that change the storage settings; invalid
// options are not asked about.
func (c *Charm) observeStorage(ctx context.Context, o *Observed) {
	want := registryconf.ObjectStorage(o.Config)
	if want == nil || len(o.Config.Validate()) > 0 {
		return // the filesystem is checked by the registry as it starts
	}
	if have, err := os.ReadFile(c.Paths.ConfigFile()); err == nil {
		cur, err := configuration.Parse(bytes.NewReader(have))
		if err == nil && cur.Storage.Type() == want.Type() && reflect.DeepEqual(cur.Storage.Parameters(), want.Parameters()) {
			return
		}
	}
	err := c.Machine.CheckStorage(ctx, &configuration.Configuration{Storage: want})
	if err == nil {
		return
	}
	o.StorageRefused = "Object storage check failed (see juju debug-log)"
	var se *registryconf.StorageError
	if errors.As(err, &se) {
		o.StorageRefused = se.Problem
	}
	_ = c.Juju.Log(ctx, juju.LevelWarning, "Storage check failed, keeping the last good registry configuration: "+err.Error())
}

// onlyPeer keeps only the peer relation's bags in d, for publish: with
// storage that refuses the registry, the website stanza would otherwise
// balance over units that still serve their own filesystems.
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

package charm

import (
	"bytes"
	"context"
	"fmt"
	"os"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/sirupsen/logrus"

	"github.com/canonical/docker-registry-charm/internal/files"
	"github.com/canonical/docker-registry-charm/internal/image"
	"github.com/canonical/docker-registry-charm/internal/registry"
)

// actGC reclaims disk with distribution's own mark-and-sweep. Writes are
// held off (read-only mode) for the sweep, so no upload can reference a
// blob as it is deleted, and the registry is reloaded afterwards: the
// reload builds a fresh application, so no blob-descriptor cache from
// before the sweep survives to serve deleted layers.
func (c *Charm) actGC(ctx context.Context, env *actionEnv) (map[string]string, error) {
	var p struct {
		DryRun         bool `json:"dry-run"`
		DeleteUntagged bool `json:"delete-untagged"`
	}
	if err := c.Juju.ActionGet(ctx, &p); err != nil {
		return nil, err
	}
	// distribution logs every deleted path at info level; the action's
	// output is for the operator, the summary says what was freed.
	logrus.SetLevel(logrus.WarnLevel)
	orig, err := os.ReadFile(c.Paths.ConfigFile())
	if err != nil {
		return nil, fmt.Errorf("cannot read the registry configuration: %w", err)
	}
	cfg, err := configuration.Parse(bytes.NewReader(orig))
	if err != nil {
		return nil, fmt.Errorf("cannot parse the registry configuration: %w", err)
	}
	if !p.DryRun {
		if err := c.holdWrites(ctx, cfg); err != nil {
			return nil, err
		}
		defer c.resumeWrites(ctx, orig)
	}
	res, err := image.GarbageCollect(ctx, cfg, image.GCOptions{DryRun: p.DryRun, DeleteUntagged: p.DeleteUntagged}, logProgress(ctx, c.Juju))
	if err != nil {
		return nil, fmt.Errorf("cannot collect garbage: %w", err)
	}
	return map[string]string{
		"outcome":           "success",
		"dry-run":           fmt.Sprint(p.DryRun),
		"blobs-deleted":     fmt.Sprint(res.BlobsDeleted),
		"manifests-deleted": fmt.Sprint(res.ManifestsDeleted),
		"bytes-freed":       fmt.Sprint(res.BytesFreed),
	}, nil
}

// holdWrites switches the running registry to read-only: pulls go on,
// pushes are refused with a clear error until resumeWrites.
func (c *Charm) holdWrites(ctx context.Context, cfg *configuration.Configuration) error {
	ro := *cfg
	ro.Storage = configuration.Storage{}
	for k, v := range cfg.Storage {
		ro.Storage[k] = v
	}
	maint := configuration.Parameters{}
	for k, v := range cfg.Storage["maintenance"] {
		maint[k] = v
	}
	maint["readonly"] = map[any]any{"enabled": true}
	ro.Storage["maintenance"] = maint
	data, err := registry.Marshal(&ro)
	if err != nil {
		return err
	}
	return c.swapConfig(ctx, data)
}

func (c *Charm) resumeWrites(ctx context.Context, orig []byte) {
	if err := c.swapConfig(ctx, orig); err != nil {
		_ = c.Juju.ActionLog(ctx, "cannot restore the registry configuration after garbage collection: "+err.Error())
	}
}

// swapConfig writes a registry configuration and has the running registry
// serve it, keeping the file's owner and mode. The reload drains: when it
// returns, no request that began under the previous configuration (an
// upload committing a blob) is still running.
func (c *Charm) swapConfig(ctx context.Context, data []byte) error {
	acc, err := c.account(ctx)
	if err != nil {
		return err
	}
	f := files.File{Path: c.Paths.ConfigFile(), Content: data, Mode: 0o600, UID: acc.UID, GID: acc.GID}
	if _, err := files.Write(f); err != nil {
		return err
	}
	return c.reload(ctx, true)
}

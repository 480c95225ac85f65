package charm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/sirupsen/logrus"

	"github.com/canonical/docker-registry-charm/internal/files"
	"github.com/canonical/docker-registry-charm/internal/image"
	"github.com/canonical/docker-registry-charm/internal/registryconf"
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
	if !p.DryRun {
		if err := c.sweepIsSafe(ctx, env); err != nil {
			return nil, err
		}
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
	// Storage that does not answer is found before the registry stops
	// taking pushes, within a bound, not after a sweep that hangs.
	if err := c.checkGCStorage(ctx, cfg); err != nil {
		return nil, err
	}
	if !p.DryRun {
		// release is deferred before the error is looked at: a switch
		// that failed halfway must be undone too.
		release, err := c.holdWrites(ctx, cfg, orig)
		defer release()
		if err != nil {
			return nil, fmt.Errorf("cannot make the registry read-only for the sweep: %w", err)
		}
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

// checkGCStorage asks object storage the question the registry's health
// check asks, bounded (registryconf.CheckStorage: 10 s); the unit's own
// filesystem needs no check.
func (c *Charm) checkGCStorage(ctx context.Context, cfg *configuration.Configuration) error {
	if err := c.Machine.CheckStorage(ctx, cfg); err != nil {
		var se *registryconf.StorageError
		if errors.As(err, &se) {
			return fmt.Errorf("cannot collect garbage: %s (nothing was changed)", se.Problem)
		}
		return fmt.Errorf("cannot collect garbage: the storage does not answer: %w", err)
	}
	return nil
}

// sweepIsSafe refuses a sweep of storage that other units share while
// they accept pushes. holdWrites stops writes on this unit only; a blob
// uploaded through another unit during the sweep is in no manifest yet,
// so the sweep would delete it and the push would end with a manifest
// whose layer is gone. Units share storage only on S3 or Swift (each unit's
// filesystem is its own), and storage-read-only holds every unit.
func (c *Charm) sweepIsSafe(ctx context.Context, env *actionEnv) error {
	if !env.cfg.SharedStorage() || env.cfg.StorageReadOnly {
		return nil
	}
	ids, err := c.Juju.RelationIDs(ctx, epPeer)
	if err != nil || len(ids) == 0 {
		return err
	}
	peers, err := c.Juju.RelationList(ctx, ids[0])
	if err != nil || len(peers) == 0 {
		return err
	}
	return fmt.Errorf("%s share this object storage and still accept pushes, which the sweep could break: "+
		"run `juju config %s storage-read-only=true`, then garbage-collect, then set it back to false "+
		"(dry-run=true needs none of this)", strings.Join(peers, ", "), c.Juju.Env.AppName)
}

// swapConfig writes a registry configuration and has the running registry
// serve it, keeping the file's owner and mode. With drain, when it
// returns no request that began under the previous configuration (an
// upload committing a blob) is still running.
func (c *Charm) swapConfig(ctx context.Context, data []byte, drain bool) error {
	acc, err := c.Machine.Account(ctx)
	if err != nil {
		return err
	}
	f := files.File{Path: c.Paths.ConfigFile(), Content: data, Mode: readOnly, UID: 0, GID: acc.GID}
	if _, err := files.Write(f); err != nil {
		return err
	}
	return c.Workload.Reload(ctx, drain)
}

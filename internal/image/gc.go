package image

import (
	"context"
	"fmt"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/storage"
	"github.com/distribution/distribution/v3/registry/storage/driver/factory"

	"github.com/canonical/docker-registry-charm/internal/storagewait"

	// The drivers the charm configures (internal/registry registers the same
	// set for the server; importing them here keeps this package whole).
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/s3-aws"
)

// GCOptions are distribution's garbage-collect flags.
type GCOptions struct {
	DryRun bool // count what would go, delete nothing
	// DeleteUntagged also removes manifests no tag points to: the platform
	// manifests of a deleted index (without it their layers stay), earlier
	// pushes of a moved tag, and images pushed by digest only.
	DeleteUntagged bool
}

// GCResult counts what the sweep removed (or would remove, in a dry run).
type GCResult struct {
	BlobsDeleted     int   // layers, configs and manifest blobs
	ManifestsDeleted int   // untagged manifests unlinked (DeleteUntagged only)
	BytesFreed       int64 // sizes of the removed blobs' data
}

// GarbageCollect runs distribution's own mark and sweep over the storage of
// cfg. The registry must not accept writes meanwhile (a blob uploaded
// between mark and sweep is deleted), and must be reloaded afterwards so no
// cached blob descriptor outlives its blob; see the package doc.
func GarbageCollect(ctx context.Context, cfg *configuration.Configuration, opts GCOptions, log func(string)) (GCResult, error) {
	// S3 that went silent would otherwise hold the sweep, and the action,
	// for ever.
	storagewait.Bound(storageAnswerTimeout)
	d, err := factory.Create(ctx, cfg.Storage.Type(), cfg.Storage.Parameters())
	if err != nil {
		return GCResult{}, fmt.Errorf("cannot open %s storage: %w", cfg.Storage.Type(), err)
	}
	redisCache := usesRedisCache(cfg) && !opts.DryRun
	if redisCache {
		if err := redisReachable(ctx, cfg); err != nil {
			return GCResult{}, err
		}
	}
	rec := &recordingDriver{StorageDriver: d, dryRun: opts.DryRun}
	ns, err := storage.NewRegistry(ctx, rec)
	if err != nil {
		return GCResult{}, fmt.Errorf("cannot open the registry storage: %w", err)
	}
	say(log, "garbage collection on %s storage (dry run: %t, delete untagged: %t)", cfg.Storage.Type(), opts.DryRun, opts.DeleteUntagged)
	// DryRun stays false for distribution: the recording driver is what
	// skips the deletes, so a dry run counts exactly what a real one removes.
	err = storage.MarkAndSweep(ctx, rec, ns, storage.GCOpts{RemoveUntagged: opts.DeleteUntagged, Quiet: true})
	res := rec.result()
	if redisCache {
		// Also after a failed sweep: what it removed is gone.
		if ferr := forgetBlobs(ctx, cfg, rec.removedBlobs()); ferr != nil {
			return res, fmt.Errorf("garbage collection removed %d blobs but %w: flush the redis cache's database", res.BlobsDeleted, ferr)
		}
	}
	if err != nil {
		return res, fmt.Errorf("cannot garbage collect: %w", err)
	}
	verb := "removed"
	if opts.DryRun {
		verb = "would remove"
	}
	say(log, "%s %d blobs (%s) and %d manifests", verb, res.BlobsDeleted, humanBytes(res.BytesFreed), res.ManifestsDeleted)
	return res, nil
}

// storageAnswerTimeout bounds how long the sweep waits for object storage
// to begin answering one request. Per request, not for the sweep, which
// walks the whole bucket and may rightly take hours.
var storageAnswerTimeout = 60 * time.Second

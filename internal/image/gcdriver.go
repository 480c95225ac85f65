package image

import (
	"context"
	"path"
	"strings"
	"sync"

	"github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/opencontainers/go-digest"
)

// recordingDriver sees every delete of the sweep: it sizes each blob before
// it goes (exact bytes freed, on any driver, one Stat per removed blob) and,
// in a dry run, records without deleting.
type recordingDriver struct {
	driver.StorageDriver
	dryRun bool

	mu        sync.Mutex
	blobs     int
	manifests int
	bytes     int64
	removed   []digest.Digest // blobs deleted, for the redis cache
}

// Paths distribution's vacuum deletes (registry/storage/paths.go).
const (
	blobsRoot     = "/docker/registry/v2/blobs/"
	revisionsPart = "/_manifests/revisions/"
)

func (r *recordingDriver) Delete(ctx context.Context, p string) error {
	var size int64
	isBlob := strings.HasPrefix(p, blobsRoot)
	if isBlob {
		fi, err := r.StorageDriver.Stat(ctx, path.Join(p, "data"))
		if err == nil {
			size = fi.Size()
		}
	}
	if !r.dryRun {
		if err := r.StorageDriver.Delete(ctx, p); err != nil {
			return err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case isBlob:
		r.blobs++
		r.bytes += size
		if d, ok := blobDigest(p); ok {
			r.removed = append(r.removed, d)
		}
	case strings.Contains(p, revisionsPart):
		r.manifests++
	}
	return nil
}

func (r *recordingDriver) result() GCResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	return GCResult{BlobsDeleted: r.blobs, ManifestsDeleted: r.manifests, BytesFreed: r.bytes}
}

// blobDigest is the digest of a blob directory the sweep deletes:
// /docker/registry/v2/blobs/<algorithm>/<2 hex>/<hex>.
func blobDigest(p string) (digest.Digest, bool) {
	parts := strings.Split(strings.TrimPrefix(p, blobsRoot), "/")
	if len(parts) != 3 {
		return "", false
	}
	d := digest.NewDigestFromEncoded(digest.Algorithm(parts[0]), parts[2])
	return d, d.Validate() == nil
}

func (r *recordingDriver) removedBlobs() []digest.Digest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]digest.Digest(nil), r.removed...)
}

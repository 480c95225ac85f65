// Package image moves and maintains the content of the charm's registry:
// Push copies images in (registry to registry, every platform, digests
// kept; or from OCI layouts, archives and the local docker daemon), List and
// Delete read and remove manifests through the registry API, and
// GarbageCollect frees the blobs nothing references any more, with
// distribution's own mark and sweep on the registry's storage.
//
// # Garbage collection: what the caller must do around it
//
//  1. Put the registry in read-only mode (storage.maintenance.readonly
//     enabled) and reload it, so no upload or manifest put lands between
//     mark and sweep: a blob uploaded then is unreferenced at mark time and
//     deleted at sweep time, and the image that needs it is broken.
//  2. Call GarbageCollect with the registry's configuration (the same
//     storage section the registry runs with, so the same driver and root).
//  3. Reload the registry onto a new App (read-only off) — a new App, not
//     the old one: the old App's inmemory blob-descriptor cache still says
//     the swept blobs exist (distribution issues 2966, 4569), so a client
//     re-pushing them is told to skip them and ends up with an image whose
//     layers are gone (TestStaleCacheCorruptsARepushWithoutReload). With
//     the redis cache, flush the registry's blob-descriptor keys as well.
//  4. Restore read-only mode to what the operator configured
//     (storage-read-only), even when GarbageCollect failed.
//
// Deleting a manifest needs storage.delete enabled (charm option
// storage-delete); with it off Delete returns ErrDeleteDisabled.
package image

package image

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// source is an opened image, ready for remote.Push.
type source struct {
	taggable    remote.Taggable // a v1.Image or v1.ImageIndex
	name        string          // the image's reference, for the default destination
	digest      v1.Hash
	keepsDigest bool // registry and OCI sources: the target must hold the same digest
	platforms   []string
	cleanup     func()
}

func openSource(ctx context.Context, req PushRequest) (*source, error) {
	if !req.Local {
		return openRemote(ctx, req)
	}
	fi, err := os.Stat(req.Source)
	switch {
	case err == nil && fi.IsDir():
		return openLayoutDir(req.Source, req.Pick)
	case err == nil:
		return openArchive(req.Source, req.Pick, req.TempDir)
	case os.IsNotExist(err) && looksLikePath(req.Source):
		return nil, fmt.Errorf("cannot find %s: %w", req.Source, err)
	case os.IsNotExist(err):
		return openDaemon(ctx, req.Source, req.TempDir)
	default:
		return nil, fmt.Errorf("cannot read %s: %w", req.Source, err)
	}
}

// looksLikePath: image names never start with "/" or ".", paths often do.
func looksLikePath(s string) bool {
	return strings.HasPrefix(s, "/") || strings.HasPrefix(s, ".")
}

// openRemote reads the source's top manifest only: blobs stream later,
// straight from the source to the target.
func openRemote(ctx context.Context, req PushRequest) (*source, error) {
	ref, err := name.ParseReference(req.Source)
	if err != nil {
		return nil, fmt.Errorf("cannot parse image reference: %w", err)
	}
	opts, err := sourceOptions(ctx, req)
	if err != nil {
		return nil, err
	}
	desc, err := remote.Get(ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("cannot get %s from its registry: %w", ref, err)
	}
	src := &source{name: req.Source, digest: desc.Digest, keepsDigest: true, cleanup: func() {}}
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, fmt.Errorf("cannot read the index of %s: %w", ref, err)
		}
		src.taggable, src.platforms = idx, platformsOf(idx, nil)
		return src, nil
	}
	img, err := desc.Image()
	if err != nil {
		return nil, fmt.Errorf("cannot read the image %s: %w", ref, err)
	}
	src.taggable, src.platforms = img, platformsOf(nil, img)
	return src, nil
}

// platformsOf names the platforms of an index's children, or of an image.
func platformsOf(idx v1.ImageIndex, img v1.Image) []string {
	var out []string
	if idx != nil {
		m, err := idx.IndexManifest()
		if err != nil {
			return nil
		}
		for _, d := range m.Manifests {
			if d.Platform != nil {
				out = append(out, d.Platform.String())
			}
		}
		return out
	}
	if img != nil {
		if cf, err := img.ConfigFile(); err == nil && cf.OS != "" {
			out = append(out, cf.Platform().String())
		}
	}
	return out
}

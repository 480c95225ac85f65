package image

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/canonical/docker-registry-charm/internal/testing/images"
)

var testPlatforms = images.Linux

// twoPlatformIndex builds what `crane append` + `crane mutate
// --set-platform` + `crane index append` would: one random image per
// platform, joined in an OCI index.
func twoPlatformIndex(t testing.TB, layerSize int64, layers int64) v1.ImageIndex {
	t.Helper()
	idx, err := images.RandomIndex(layerSize, layers)
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

func platformImage(t testing.TB, layerSize, layers int64, p v1.Platform) v1.Image {
	t.Helper()
	img, err := images.Random(layerSize, layers, p)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// putIndex writes idx to the plain-http registry at ref.
func putIndex(t testing.TB, ref string, idx v1.ImageIndex, opts ...remote.Option) v1.Hash {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(r, idx, opts...); err != nil {
		t.Fatal(err)
	}
	h, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

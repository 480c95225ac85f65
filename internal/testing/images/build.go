package images

import (
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

// Linux are the two platforms of a multi-platform test image.
var Linux = []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}}

// WithPlatform is img with its config claiming p, what `crane mutate
// --set-platform` does.
func WithPlatform(img v1.Image, p v1.Platform) (v1.Image, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("cannot read the image config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	return mutate.ConfigFile(img, cf)
}

// Random is a random image of layers layers of layerSize bytes each,
// claiming platform p.
func Random(layerSize, layers int64, p v1.Platform) (v1.Image, error) {
	img, err := random.Image(layerSize, layers)
	if err != nil {
		return nil, err
	}
	return WithPlatform(img, p)
}

// Index joins imgs in an OCI index, each under the platform its config
// claims: what `crane index append` does.
func Index(imgs ...v1.Image) (v1.ImageIndex, error) {
	idx := v1.ImageIndex(empty.Index)
	for _, img := range imgs {
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, fmt.Errorf("cannot read the image config: %w", err)
		}
		p := cf.Platform()
		if p == nil {
			return nil, fmt.Errorf("an image of the index claims no platform")
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: p}})
	}
	return idx, nil
}

// RandomIndex is an index of one Random image per platform of Linux.
func RandomIndex(layerSize, layers int64) (v1.ImageIndex, error) {
	var imgs []v1.Image
	for _, p := range Linux {
		img, err := Random(layerSize, layers, p)
		if err != nil {
			return nil, err
		}
		imgs = append(imgs, img)
	}
	return Index(imgs...)
}

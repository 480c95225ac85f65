package main

import (
	"github.com/google/go-containerregistry/pkg/crane"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/canonical/docker-registry-charm/internal/testing/images"
)

// sampleArchive builds a small two-platform image index as an oci-archive
// (a tar of an OCI layout), the format `skopeo copy ... oci-archive:` and
// `crane pull --format=oci` produce.
func sampleArchive() ([]byte, error) {
	idx := v1.ImageIndex(empty.Index)
	for _, arch := range []string{"amd64", "arm64"} {
		layer, err := crane.Layer(map[string][]byte{"hello.txt": []byte("hello from the docker-registry charm (" + arch + ")\n")})
		if err != nil {
			return nil, err
		}
		img, err := mutate.AppendLayers(empty.Image, layer)
		if err != nil {
			return nil, err
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, err
		}
		cf.OS, cf.Architecture = "linux", arch
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			return nil, err
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}},
		})
	}
	return images.OCIArchive(idx, "demo/hello:1.0")
}

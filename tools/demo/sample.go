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
	var imgs []v1.Image
	for _, p := range images.Linux {
		layer, err := crane.Layer(map[string][]byte{"hello.txt": []byte("hello from the docker-registry charm (" + p.Architecture + ")\n")})
		if err != nil {
			return nil, err
		}
		img, err := mutate.AppendLayers(empty.Image, layer)
		if err != nil {
			return nil, err
		}
		if img, err = images.WithPlatform(img, p); err != nil {
			return nil, err
		}
		imgs = append(imgs, img)
	}
	idx, err := images.Index(imgs...)
	if err != nil {
		return nil, err
	}
	return images.OCIArchive(idx, "demo/hello:1.0")
}

package images

import (
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Size is every blob and manifest of idx: what a push moves, and what a
// registry stores for idx and nothing else (the index, each child
// manifest, config and layer).
func Size(idx v1.ImageIndex) (int64, error) {
	n, err := idx.Size()
	if err != nil {
		return 0, err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return 0, err
	}
	for _, d := range m.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			return 0, err
		}
		size, err := img.Size()
		if err != nil {
			return 0, err
		}
		im, err := img.Manifest()
		if err != nil {
			return 0, err
		}
		n += size + im.Config.Size
		for _, l := range im.Layers {
			n += l.Size
		}
	}
	return n, nil
}

// ReadLayers reads every layer of img to the end, as a pull does; reading
// a remote layer through checks it against its digest.
func ReadLayers(img v1.Image) error {
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	for _, l := range layers {
		if err := readLayer(l); err != nil {
			return err
		}
	}
	return nil
}

func readLayer(l v1.Layer) error {
	d, _ := l.Digest()
	rc, err := l.Compressed()
	if err != nil {
		return fmt.Errorf("cannot read layer %s: %w", d, err)
	}
	defer rc.Close()
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return fmt.Errorf("cannot read layer %s: %w", d, err)
	}
	return nil
}

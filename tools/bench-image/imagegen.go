package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/canonical/docker-registry-charm/internal/testing/images"
)

// benchIndex builds a two-platform OCI index, each platform `layers`
// gzip layers of incompressible data, `layerSize` bytes each. The content is
// seeded, so every run pushes the same digests. It returns the layer blobs
// too, for the machine-limit measurement.
func benchIndex(layers int, layerSize int64) (v1.ImageIndex, [][]byte, error) {
	var imgs []v1.Image
	var blobs [][]byte
	for i, p := range images.Linux {
		img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
		img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
		for l := 0; l < layers; l++ {
			layer, err := gzipLayer(uint64(i*layers+l), layerSize)
			if err != nil {
				return nil, nil, err
			}
			blobs = append(blobs, layer.blob)
			img, err = mutate.AppendLayers(img, layer)
			if err != nil {
				return nil, nil, fmt.Errorf("cannot build the image: %w", err)
			}
		}
		img, err := images.WithPlatform(img, p)
		if err != nil {
			return nil, nil, fmt.Errorf("cannot build the image: %w", err)
		}
		imgs = append(imgs, img)
	}
	idx, err := images.Index(imgs...)
	return idx, blobs, err
}

// gzipLayer is a tar holding one file of seeded random bytes, gzipped
// (Huffman only: random data does not compress, and it is fast to make).
func gzipLayer(seed uint64, size int64) (*memLayer, error) {
	var seedBytes [32]byte
	seedBytes[0], seedBytes[1] = byte(seed), byte(seed>>8)
	rng := rand.NewChaCha8(seedBytes)
	var buf bytes.Buffer
	buf.Grow(int(size + size/100))
	zw, _ := gzip.NewWriterLevel(&buf, gzip.HuffmanOnly)
	diff := sha256.New()
	tw := tar.NewWriter(io.MultiWriter(zw, diff))
	if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("data-%d", seed), Mode: 0o644, Size: size, Typeflag: tar.TypeReg}); err != nil {
		return nil, err
	}
	chunk := make([]byte, 1<<20)
	for left := size; left > 0; left -= int64(len(chunk)) {
		n := min(left, int64(len(chunk)))
		rng.Read(chunk[:n])
		if _, err := tw.Write(chunk[:n]); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	l := &memLayer{blob: buf.Bytes()}
	l.diffID = v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(diff.Sum(nil))}
	sum := sha256.Sum256(l.blob)
	l.digest = v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
	return l, nil
}

// memLayer is a gzip layer held in memory with its digests precomputed.
type memLayer struct {
	blob           []byte
	digest, diffID v1.Hash
}

func (l *memLayer) Digest() (v1.Hash, error) { return l.digest, nil }
func (l *memLayer) DiffID() (v1.Hash, error) { return l.diffID, nil }
func (l *memLayer) Size() (int64, error)     { return int64(len(l.blob)), nil }
func (l *memLayer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.blob)), nil
}
func (l *memLayer) Uncompressed() (io.ReadCloser, error) {
	return gzip.NewReader(bytes.NewReader(l.blob))
}
func (l *memLayer) MediaType() (types.MediaType, error) { return types.OCILayer, nil }

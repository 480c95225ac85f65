package image

import (
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// OCI annotations that name an image inside a layout.
const (
	annotRefName        = "org.opencontainers.image.ref.name" // often just the tag
	annotContainerdName = "io.containerd.image.name"          // a full reference
)

// openLayoutDir opens one image (or index) of an OCI image layout. Its
// bytes are pushed as they are, so the digest is kept.
func openLayoutDir(dir, pick string) (*source, error) {
	top, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot read the OCI layout %s: %w", dir, err)
	}
	m, err := top.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("cannot read the OCI layout %s: %w", dir, err)
	}
	desc, err := pickDescriptor(m.Manifests, pick)
	if err != nil {
		return nil, fmt.Errorf("cannot choose an image in %s: %w", dir, err)
	}
	src := &source{name: layoutName(desc, pick), digest: desc.Digest, keepsDigest: true, cleanup: func() {}}
	if desc.MediaType.IsIndex() {
		idx, err := top.ImageIndex(desc.Digest)
		if err != nil {
			return nil, fmt.Errorf("cannot read index %s in %s: %w", desc.Digest, dir, err)
		}
		src.taggable, src.platforms = idx, platformsOf(idx, nil)
		return src, nil
	}
	img, err := top.Image(desc.Digest)
	if err != nil {
		return nil, fmt.Errorf("cannot read image %s in %s: %w", desc.Digest, dir, err)
	}
	src.taggable, src.platforms = img, platformsOf(nil, img)
	return src, nil
}

// pickDescriptor takes the only entry, or the one whose name matches pick
// (the full containerd name, the ref.name annotation, or just its tag).
func pickDescriptor(descs []v1.Descriptor, pick string) (v1.Descriptor, error) {
	if pick == "" {
		if len(descs) == 1 {
			return descs[0], nil
		}
		return v1.Descriptor{}, fmt.Errorf("%d images (%s): say which one", len(descs), strings.Join(descNames(descs), ", "))
	}
	for _, d := range descs {
		if matchesPick(d, pick) {
			return d, nil
		}
	}
	return v1.Descriptor{}, fmt.Errorf("no image named %q (have: %s)", pick, strings.Join(descNames(descs), ", "))
}

func matchesPick(d v1.Descriptor, pick string) bool {
	full, ref := d.Annotations[annotContainerdName], d.Annotations[annotRefName]
	if pick == full || pick == ref || pick == d.Digest.String() {
		return true
	}
	if full != "" && sameRef(full, pick) {
		return true
	}
	// A bare ref.name is a tag: "app:1.0" picks the entry named "1.0".
	_, tag, _ := splitRef(pick)
	return ref != "" && !strings.Contains(ref, "/") && tag == ref
}

// sameRef compares two references the way docker resolves them
// ("nginx:1" and "docker.io/library/nginx:1" are the same).
func sameRef(a, b string) bool {
	pa, ta, _ := splitRef(normalise(a))
	pb, tb, _ := splitRef(normalise(b))
	return pa == pb && ta == tb
}

func normalise(ref string) string {
	if registryPart(ref) == "" {
		ref = "docker.io/" + ref
	}
	if rest, ok := strings.CutPrefix(ref, "docker.io/"); ok && !strings.Contains(rest, "/") {
		ref = "docker.io/library/" + rest
	}
	if _, tag, dg := splitRef(ref); tag == "" && dg == "" {
		ref += ":latest"
	}
	return ref
}

func descNames(descs []v1.Descriptor) []string {
	out := make([]string, 0, len(descs))
	for _, d := range descs {
		n := d.Annotations[annotContainerdName]
		if n == "" {
			n = d.Annotations[annotRefName]
		}
		if n == "" {
			n = d.Digest.String()
		}
		out = append(out, n)
	}
	return out
}

// layoutName is the image's full reference when the layout records one
// (a bare ref.name is usually only a tag, which names no repository).
func layoutName(d v1.Descriptor, pick string) string {
	if n := d.Annotations[annotContainerdName]; n != "" {
		return n
	}
	if n := d.Annotations[annotRefName]; strings.Contains(n, "/") {
		return n
	}
	if strings.Contains(pick, ":") && !strings.HasPrefix(pick, "sha256:") {
		return pick
	}
	return ""
}

package image

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// openArchive opens a tarball: an oci-archive (a tar of an OCI layout,
// digests kept) or a docker-archive (`docker save` before docker 25, whose
// uncompressed layers get compressed again, so digests change). A `docker
// save` from docker 25 or later holds both; the OCI side wins.
func openArchive(path, pick, tmp string) (*source, error) {
	kind, err := archiveKind(path)
	if err != nil {
		return nil, err
	}
	if kind == "oci" {
		return openOCIArchive(path, pick, tmp)
	}
	return openDockerArchive(path, pick)
}

// archiveKind looks at the entry names: "oci-layout" or "manifest.json".
func archiveKind(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("cannot open %s: %w", path, err)
	}
	defer f.Close()
	r, err := maybeGunzip(f)
	if err != nil {
		return "", fmt.Errorf("cannot read %s: %w", path, err)
	}
	kind := ""
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("cannot read %s as a tar archive: %w", path, err)
		}
		switch strings.TrimPrefix(h.Name, "./") {
		case "oci-layout":
			return "oci", nil
		case "manifest.json":
			kind = "docker"
		}
	}
	if kind == "" {
		return "", fmt.Errorf("cannot use %s: neither an OCI layout nor a docker save archive", path)
	}
	return kind, nil
}

func maybeGunzip(f *os.File) (io.Reader, error) {
	br := bufio.NewReader(f)
	magic, err := br.Peek(2)
	if err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		return gzip.NewReader(br)
	}
	return br, nil
}

// openOCIArchive extracts the layout to a temporary directory under tmp
// (removed by the source's cleanup) and opens it there.
func openOCIArchive(path, pick, tmp string) (*source, error) {
	dir, err := os.MkdirTemp(tmp, "image-oci-")
	if err != nil {
		return nil, fmt.Errorf("cannot create a directory to extract %s: %w", path, err)
	}
	if err := extract(path, dir); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	src, err := openLayoutDir(dir, pick)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	src.cleanup = func() { os.RemoveAll(dir) }
	return src, nil
}

// extract writes the regular files of the tar under dir, refusing any name
// that would land outside it.
func extract(path, dir string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("cannot open %s: %w", path, err)
	}
	defer f.Close()
	r, err := maybeGunzip(f)
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", path, err)
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("cannot read %s as a tar archive: %w", path, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		if err := extractFile(tr, dir, h.Name); err != nil {
			return fmt.Errorf("cannot extract %s from %s: %w", h.Name, path, err)
		}
	}
}

func extractFile(r io.Reader, dir, name string) error {
	clean := filepath.Clean("/" + name)
	out := filepath.Join(dir, clean)
	if err := os.MkdirAll(filepath.Dir(out), 0o700); err != nil {
		return err
	}
	w, err := os.OpenFile(out, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// openDockerArchive opens one image of a `docker save` tarball: the one
// tagged pick, or the only one.
func openDockerArchive(path, pick string) (*source, error) {
	opener := func() (io.ReadCloser, error) { return os.Open(path) }
	m, err := tarball.LoadManifest(opener)
	if err != nil {
		return nil, fmt.Errorf("cannot read the docker archive %s: %w", path, err)
	}
	var tag *name.Tag
	if pick != "" {
		t, err := name.NewTag(pick)
		if err != nil {
			return nil, fmt.Errorf("cannot parse image name %q: %w", pick, err)
		}
		tag = &t
	} else if len(m) != 1 {
		return nil, fmt.Errorf("cannot choose an image in %s: %d images (%s): say which one", path, len(m), strings.Join(allRepoTags(m), ", "))
	}
	img, err := tarball.Image(opener, tag)
	if err != nil {
		return nil, fmt.Errorf("cannot read the docker archive %s: %w", path, err)
	}
	h, err := img.Digest()
	if err != nil {
		return nil, fmt.Errorf("cannot read the docker archive %s: %w", path, err)
	}
	src := &source{taggable: img, digest: h, platforms: platformsOf(nil, img), cleanup: func() {}}
	src.name = pick
	if pick == "" && len(m[0].RepoTags) > 0 {
		src.name = m[0].RepoTags[0]
	}
	return src, nil
}

func allRepoTags(m tarball.Manifest) []string {
	var out []string
	for _, d := range m {
		out = append(out, d.RepoTags...)
	}
	return out
}

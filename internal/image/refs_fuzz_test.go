package image

import (
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
)

// FuzzDefaultDest parses any word of push's image parameter as the action
// does (splitRef, defaultDest). The destination is always in this
// registry (or the action fails saying why), and for a reference
// go-containerregistry accepts, the pushed copy keeps the source's tag (or
// else its digest) and its path. Seeds are the
// references the README and actions.yaml document.
func FuzzDefaultDest(f *testing.F) {
	for _, s := range []string{
		"rocks.canonical.com:443/cdk/pause:3.6", "registry.k8s.io/pause:3.6", "nginx", "docker.io/library/nginx:1.27",
		"localhost/x@sha256:" + strings.Repeat("a", 64), "quay.io/a/b:c@sha256:" + strings.Repeat("0", 64),
		"a:", "@", "host:5000", ":tag", "a/b/c:d:e", "[::1]:5000/x:y",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		const netloc = "10.0.0.5:5000"
		dest, err := defaultDest(netloc, src)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "cannot ") {
				t.Fatalf("error %q", err)
			}
			return
		}
		if !strings.HasPrefix(dest, netloc+"/") {
			t.Fatalf("%q lands at %q, outside this registry", src, dest)
		}
		ref, err := name.ParseReference(src, name.StrictValidation)
		if err != nil {
			return
		}
		got, err := name.ParseReference(dest, name.StrictValidation)
		if err != nil {
			t.Fatalf("%q is a valid reference, its destination %q is not: %v", src, dest, err)
		}
		if got.Context().RegistryStr() != netloc {
			t.Fatalf("%q lands in registry %q", src, got.Context().RegistryStr())
		}
		// "repo:tag@digest" copies the digest's content and keeps the tag.
		keptTag := strings.Contains(src, ":"+got.Identifier()+"@")
		if got.Identifier() != ref.Identifier() && !keptTag {
			t.Fatalf("%q keeps %q as %q", src, ref.Identifier(), got.Identifier())
		}
		// The path is kept: Docker Hub's implied "library/" may go, the
		// source's registry host may become the first path component.
		src, repo := ref.Context().RepositoryStr(), got.Context().RepositoryStr()
		if !strings.HasSuffix(src, repo) && !strings.HasSuffix(repo, "/"+src) {
			t.Fatalf("repository %q lands in repository %q", src, repo)
		}
	})
}

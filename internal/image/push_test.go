package image

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

const (
	user     = "admin"
	password = "s3cret-pass"
)

// pullAndVerify pulls ref from the target, every manifest and blob, and
// checks all digests and sizes.
func pullAndVerify(t testing.TB, tg Target, ref string) v1.Hash {
	t.Helper()
	r, err := tg.ref(ref)
	if err != nil {
		t.Fatal(err)
	}
	opts, err := tg.Options(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(r, opts...)
	if err != nil {
		t.Fatalf("cannot pull %s: %v", ref, err)
	}
	if desc.MediaType.IsIndex() {
		idx, _ := desc.ImageIndex()
		m, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range m.Manifests {
			img, err := idx.Image(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
			verifyImage(t, img)
		}
	} else {
		img, _ := desc.Image()
		verifyImage(t, img)
	}
	return desc.Digest
}

func TestPushKeepsIndexDigestAndEveryPlatform(t *testing.T) {
	src := newRegistry(t, regOpts{})
	dst := newRegistry(t, regOpts{tls: true, user: user, password: password})
	want := putIndex(t, src.Netloc+"/team/app:1.0", twoPlatformIndex(t, 64<<10, 2))

	var lines []string
	res := Push(context.Background(), PushRequest{
		Source:   src.Netloc + "/team/app:1.0",
		Target:   dst.target(user, password),
		Progress: func(s string) { lines = append(lines, s) },
	})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if want := dst.Netloc + "/127.0.0.1/team/app:1.0"; res.Dest != want {
		t.Errorf("dest %q, want %q: the source as given, under the target", res.Dest, want)
	}
	if res.Digest != want.String() {
		t.Errorf("digest %s, want the index digest %s", res.Digest, want)
	}
	if !slices.Equal(res.Platforms, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("platforms %v", res.Platforms)
	}
	if res.BytesCopied < 4*64<<10 {
		t.Errorf("copied %d bytes, want at least the four layers", res.BytesCopied)
	}
	if got := pullAndVerify(t, dst.target(user, password), res.Dest); got != want {
		t.Errorf("target holds %s, want %s", got, want)
	}
	if len(lines) > 5 {
		t.Errorf("%d progress lines for a small image: %q", len(lines), lines)
	}
}

func TestPushAgainCopiesNothing(t *testing.T) {
	src := newRegistry(t, regOpts{})
	dst := newRegistry(t, regOpts{tls: true, user: user, password: password})
	putIndex(t, src.Netloc+"/app:1", twoPlatformIndex(t, 256<<10, 3))
	req := PushRequest{Source: src.Netloc + "/app:1", Dest: "app:1", Target: dst.target(user, password)}
	if res := Push(context.Background(), req); res.Err != nil {
		t.Fatal(res.Err)
	}
	res := Push(context.Background(), req)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	t.Logf("re-push took %s", res.Duration)
	if res.BytesCopied != 0 {
		t.Errorf("re-push uploaded %d bytes, want 0", res.BytesCopied)
	}
	if res.Duration > time.Second {
		t.Errorf("re-push took %s", res.Duration)
	}
	// Same content under a new tag: every blob is skipped too.
	req.Dest = "app:copy"
	if res := Push(context.Background(), req); res.Err != nil || res.BytesCopied != 0 {
		t.Errorf("push under a new tag: err %v, copied %d", res.Err, res.BytesCopied)
	}
}

// privateSource is a TLS + basic-auth source registry (credentials only
// ever travel over TLS), trusted through SourceCAPEM.
func privateSource(t *testing.T) (*testRegistry, string) {
	src := newRegistry(t, regOpts{tls: true, user: "puller", password: "pull-pass"})
	ref := src.Netloc + "/private/app:2"
	r, _ := name.ParseReference(ref)
	opts, _ := src.target("puller", "pull-pass").Options(context.Background())
	if err := remote.WriteIndex(r, twoPlatformIndex(t, 32<<10, 1), opts...); err != nil {
		t.Fatal(err)
	}
	return src, ref
}

func TestPushFromPrivateSource(t *testing.T) {
	src, ref := privateSource(t)
	dst := newRegistry(t, regOpts{})
	req := PushRequest{Source: ref, SourceCAPEM: src.CAPEM, Target: dst.target("", "")}

	res := Push(context.Background(), req)
	errContains(t, res.Err, "cannot push", ref, "UNAUTHORIZED")

	req.SourceAuth = Auth{Username: "puller", Password: "pull-pass"}
	if res := Push(context.Background(), req); res.Err != nil {
		t.Fatal(res.Err)
	}
	pullAndVerify(t, dst.target("", ""), dst.Netloc+"/127.0.0.1/private/app:2")
}

func TestSourceCredentialsNeverGoOverPlainHTTP(t *testing.T) {
	src := newRegistry(t, regOpts{user: "puller", password: "pull-pass"})
	dst := newRegistry(t, regOpts{})
	res := Push(context.Background(), PushRequest{
		Source:     src.Netloc + "/x:1",
		SourceAuth: Auth{Username: "puller", Password: "pull-pass"},
		Target:     dst.target("", ""),
	})
	errContains(t, res.Err, "cannot send credentials over plain http")
	if strings.Contains(res.Err.Error(), "pull-pass") {
		t.Fatal("the error shows the password")
	}
}

func TestTLSTargetNeedsItsCA(t *testing.T) {
	src := newRegistry(t, regOpts{})
	dst := newRegistry(t, regOpts{tls: true, user: user, password: password})
	putIndex(t, src.Netloc+"/app:1", twoPlatformIndex(t, 1<<10, 1))
	tg := dst.target(user, password)
	tg.CAPEM = nil // no trust, and no silent fallback to plain http
	res := Push(context.Background(), PushRequest{Source: src.Netloc + "/app:1", Dest: "app:1", Target: tg})
	errContains(t, res.Err, "certificate")
}

func TestPushAllCarriesOnAfterABadReference(t *testing.T) {
	src := newRegistry(t, regOpts{})
	dst := newRegistry(t, regOpts{tls: true, user: user, password: password})
	putIndex(t, src.Netloc+"/a:1", twoPlatformIndex(t, 8<<10, 1))
	putIndex(t, src.Netloc+"/b:1", twoPlatformIndex(t, 8<<10, 1))
	tg := dst.target(user, password)
	reqs := []PushRequest{
		{Source: src.Netloc + "/a:1", Dest: "a:1", Target: tg},
		{Source: src.Netloc + "/missing:1", Dest: "missing:1", Target: tg},
		{Source: "Not A Reference", Target: tg},
		{Source: src.Netloc + "/b:1", Dest: "b:1", Target: tg},
	}
	var lines []string
	results := PushAll(context.Background(), reqs, func(s string) { lines = append(lines, s) })
	if len(results) != 4 {
		t.Fatalf("%d results", len(results))
	}
	for _, i := range []int{0, 3} {
		if results[i].Err != nil {
			t.Errorf("%s: %v", results[i].Source, results[i].Err)
		}
	}
	errContains(t, results[1].Err, "missing:1", "MANIFEST_UNKNOWN")
	errContains(t, results[2].Err, "cannot parse")
	pullAndVerify(t, tg, "b:1")
	if len(lines) > 3*len(reqs) {
		t.Errorf("too chatty: %q", lines)
	}
}

// verifyImage reads the manifest, config and every layer and checks each
// against its digest and size.
func verifyImage(t testing.TB, img v1.Image) {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := img.RawConfigFile()
	checkBlob(t, "config", bytes.NewReader(raw), m.Config)
	for _, l := range m.Layers {
		layer, err := img.LayerByDigest(l.Digest)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := layer.Compressed()
		if err != nil {
			t.Fatalf("cannot pull layer %s: %v", l.Digest, err)
		}
		checkBlob(t, "layer", rc, l)
		rc.Close()
	}
}

func checkBlob(t testing.TB, what string, r io.Reader, want v1.Descriptor) {
	t.Helper()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		t.Fatalf("cannot read %s %s: %v", what, want.Digest, err)
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != want.Digest.String() || n != want.Size {
		t.Fatalf("%s %s: got %s (%d bytes), want %d bytes", what, want.Digest, got, n, want.Size)
	}
}

func TestPushByDigestAndSingleImage(t *testing.T) {
	src := newRegistry(t, regOpts{})
	dst := newRegistry(t, regOpts{})
	tg := dst.target("", "")
	img := platformImage(t, 8<<10, 2, testPlatforms[1])
	r, _ := name.ParseReference(src.Netloc+"/tools/one:1", name.Insecure)
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	h, _ := img.Digest()
	res := Push(context.Background(), PushRequest{Source: src.Netloc + "/tools/one@" + h.String(), Target: tg})
	if res.Err != nil || res.Dest != dst.Netloc+"/127.0.0.1/tools/one@"+h.String() || res.Digest != h.String() {
		t.Fatalf("%+v", res)
	}
	if !slices.Equal(res.Platforms, []string{"linux/arm64"}) || !strings.Contains(res.MediaType, "manifest") {
		t.Errorf("platforms %v, media type %s", res.Platforms, res.MediaType)
	}
	pullAndVerify(t, tg, res.Dest)
}

// TestDefaultDestination: the reference charm tagged `<netloc>/<image as
// given>` (canonical/docker-registry-charm, src/actions/push: `tag =
// '{}:{}/{}'.format(unit_private_ip(), port, image)`), keeping the source's
// registry host in the path; a port there would not be a valid path, so it
// goes.
func TestDefaultDestination(t *testing.T) {
	for src, want := range map[string]string{
		"nginx":                                 "10.0.0.5:5000/nginx:latest",
		"nginx:1.27":                            "10.0.0.5:5000/nginx:1.27",
		"library/nginx:1.27":                    "10.0.0.5:5000/library/nginx:1.27",
		"docker.io/library/redis:7":             "10.0.0.5:5000/docker.io/library/redis:7",
		"k8s.gcr.io/defaultbackend-amd64:1.5":   "10.0.0.5:5000/k8s.gcr.io/defaultbackend-amd64:1.5",
		"registry.k8s.io/pause:3.6":             "10.0.0.5:5000/registry.k8s.io/pause:3.6",
		"rocks.canonical.com:443/cdk/pause:3.9": "10.0.0.5:5000/rocks.canonical.com/cdk/pause:3.9",
		"ghcr.io/canonical/cdk/pause:3.9":       "10.0.0.5:5000/ghcr.io/canonical/cdk/pause:3.9",
		"localhost:5000/a/b:c":                  "10.0.0.5:5000/localhost/a/b:c",
		"localhost/a":                           "10.0.0.5:5000/localhost/a:latest",
		"10.0.0.9:5000/team/app:1":              "10.0.0.5:5000/10.0.0.9/team/app:1",
		"Quay.IO/x/y@sha256:abababababababababababababababababababababababababababababababab": "10.0.0.5:5000/quay.io/x/y@sha256:abababababababababababababababababababababababababababababababab",
		"example.com:443/p/q:1@sha256:d":                     "10.0.0.5:5000/example.com/p/q:1",
		"rocks.canonical.com:443/cdk/coredns/coredns:1.10.1": "10.0.0.5:5000/rocks.canonical.com/cdk/coredns/coredns:1.10.1",
	} {
		got, err := defaultDest("10.0.0.5:5000", src)
		if err != nil || got != want {
			t.Errorf("%s -> %s (%v), want %s", src, got, err, want)
		}
	}
	// What cannot become a path fails and says to name a destination.
	for _, src := range []string{"[::1]:5000/app:1", "[fe80::1]/app:1"} {
		if got, err := defaultDest("10.0.0.5:5000", src); err == nil || !strings.Contains(err.Error(), "tag") {
			t.Errorf("%s -> %s, %v; want an error asking for tag", src, got, err)
		}
	}
}

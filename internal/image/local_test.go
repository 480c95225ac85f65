package image

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// ociLayout writes a layout holding a two-platform index tagged "1.0" and
// a single image tagged "2.0", named the way skopeo and containerd do.
func ociLayout(t *testing.T) (dir string, idx v1.ImageIndex, img v1.Image) {
	dir = filepath.Join(t.TempDir(), "layout")
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	idx = twoPlatformIndex(t, 32<<10, 2)
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{annotRefName: "1.0"})); err != nil {
		t.Fatal(err)
	}
	img = platformImage(t, 16<<10, 1, testPlatforms[1])
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{
		annotRefName: "2.0", annotContainerdName: "docker.io/library/tool:2.0",
	})); err != nil {
		t.Fatal(err)
	}
	return dir, idx, img
}

func TestPushFromOCILayoutKeepsDigests(t *testing.T) {
	dst := newRegistry(t, regOpts{tls: true, user: user, password: password})
	tg := dst.target(user, password)
	dir, idx, img := ociLayout(t)
	ctx := context.Background()

	res := Push(ctx, PushRequest{Source: dir, Local: true, Target: tg})
	errContains(t, res.Err, "2 images", "1.0", "tool:2.0", "say which one")

	res = Push(ctx, PushRequest{Source: dir, Local: true, Pick: "1.0", Target: tg})
	errContains(t, res.Err, "names no image", "give one")

	res = Push(ctx, PushRequest{Source: dir, Local: true, Pick: "1.0", Dest: "oci/app:1.0", Target: tg})
	want, _ := idx.Digest()
	if res.Err != nil || res.Digest != want.String() || len(res.Platforms) != 2 {
		t.Fatalf("index from layout: %+v", res)
	}
	pullAndVerify(t, tg, "oci/app:1.0")

	// The containerd name gives the default destination.
	res = Push(ctx, PushRequest{Source: dir, Local: true, Pick: "tool:2.0", Target: tg})
	want, _ = img.Digest()
	if res.Err != nil || res.Dest != dst.Netloc+"/docker.io/library/tool:2.0" || res.Digest != want.String() {
		t.Fatalf("image from layout: %+v", res)
	}
	pullAndVerify(t, tg, res.Dest)
}

func TestPushFromOCIArchive(t *testing.T) {
	dst := newRegistry(t, regOpts{})
	tg := dst.target("", "")
	dir, idx, _ := ociLayout(t)
	archive := filepath.Join(t.TempDir(), "app.oci.tar")
	tarDir(t, dir, archive)

	// The extraction goes to a directory of the test's own, never the
	// shared /tmp, where other programs' files (or another test's) would
	// make the check below fail or pass by chance.
	tmp := t.TempDir()
	res := Push(context.Background(), PushRequest{Source: archive, Local: true, Pick: "1.0", Dest: "app:1.0", Target: tg, TempDir: tmp})
	want, _ := idx.Digest()
	if res.Err != nil || res.Digest != want.String() {
		t.Fatalf("%+v", res)
	}
	pullAndVerify(t, tg, "app:1.0")
	if left := dirEntries(t, tmp); len(left) > 0 {
		t.Errorf("extraction left behind: %v", left)
	}
}

// TestKilledPushLeftoversGoWithTheNextPush: a push killed while its archive
// was extracted (SIGKILL runs no deferred cleanup) leaves the extraction
// behind; the next action's CleanTempDir removes it, and only it.
func TestKilledPushLeftoversGoWithTheNextPush(t *testing.T) {
	dst := newRegistry(t, regOpts{})
	tg := dst.target("", "")
	dir, _, _ := ociLayout(t)
	archive := filepath.Join(t.TempDir(), "app.oci.tar")
	tarDir(t, dir, archive)
	tmp := filepath.Join(t.TempDir(), "charm-tmp")

	// What a killed push leaves: a half-written extraction, minutes old.
	left := filepath.Join(tmp, "image-oci-1234")
	if err := os.MkdirAll(filepath.Join(left, "blobs", "sha256"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(left, "blobs", "sha256", "partial"), make([]byte, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-10 * time.Minute)
	for _, p := range []string{filepath.Join(left, "blobs", "sha256"), filepath.Join(left, "blobs"), left} {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	// Something the running action made itself is not touched.
	started := time.Now()
	// File times come from the kernel's coarse clock, up to a tick behind
	// time.Now(): let it pass started first.
	time.Sleep(50 * time.Millisecond)
	mine := filepath.Join(tmp, "image-oci-current")
	if err := os.Mkdir(mine, 0o700); err != nil {
		t.Fatal(err)
	}

	n, err := CleanTempDir(tmp, started)
	if err != nil || n != 1 {
		t.Fatalf("CleanTempDir removed %d entries, %v; want the one leftover", n, err)
	}
	if got := dirEntries(t, tmp); len(got) != 1 || got[0] != "image-oci-current" {
		t.Errorf("after cleaning: %v", got)
	}
	if fi, err := os.Stat(tmp); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("temp dir mode %v, %v; want 0700", fi.Mode(), err)
	}
	os.Remove(mine)
	res := Push(context.Background(), PushRequest{Source: archive, Local: true, Pick: "1.0", Dest: "app:1.0", Target: tg, TempDir: tmp})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if got := dirEntries(t, tmp); len(got) > 0 {
		t.Errorf("the push left %v", got)
	}
}

func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestPushFromDockerArchive(t *testing.T) {
	dst := newRegistry(t, regOpts{})
	tg := dst.target("", "")
	a := platformImage(t, 16<<10, 2, testPlatforms[0])
	b := platformImage(t, 16<<10, 2, testPlatforms[1])
	archive := filepath.Join(t.TempDir(), "save.tar")
	tagA, _ := name.NewTag("example.com/team/a:1")
	tagB, _ := name.NewTag("example.com/team/b:1")
	if err := tarball.MultiWriteToFile(archive, map[name.Tag]v1.Image{tagA: a, tagB: b}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res := Push(ctx, PushRequest{Source: archive, Local: true, Target: tg})
	errContains(t, res.Err, "2 images", "example.com/team/a:1", "say which one")

	res = Push(ctx, PushRequest{Source: archive, Local: true, Pick: "example.com/team/b:1", Target: tg})
	if res.Err != nil || res.Dest != dst.Netloc+"/example.com/team/b:1" || len(res.Platforms) != 1 || res.Platforms[0] != "linux/arm64" {
		t.Fatalf("%+v", res)
	}
	pullAndVerify(t, tg, res.Dest)

	single := filepath.Join(t.TempDir(), "one.tar")
	if err := tarball.WriteToFile(single, tagA, a); err != nil {
		t.Fatal(err)
	}
	res = Push(ctx, PushRequest{Source: single, Local: true, Target: tg})
	if res.Err != nil || res.Dest != dst.Netloc+"/example.com/team/a:1" {
		t.Fatalf("%+v", res)
	}
	pullAndVerify(t, tg, res.Dest)
}

func TestPushFromMissingPath(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no.sock"))
	dst := newRegistry(t, regOpts{})
	res := Push(context.Background(), PushRequest{Source: "/nonexistent/image.tar", Local: true, Target: dst.target("", "")})
	errContains(t, res.Err, "cannot find /nonexistent/image.tar", "no such file")
	res = Push(context.Background(), PushRequest{Source: "nginx:1.25", Local: true, Target: dst.target("", "")})
	errContains(t, res.Err, "no such file", "no docker daemon")
}

// tarDir writes dir as a tar (what `skopeo copy ... oci-archive:` makes).
func tarDir(t *testing.T, dir, out string) {
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	err = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || !fi.Mode().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if err := tw.WriteHeader(&tar.Header{Name: rel, Mode: 0o644, Size: fi.Size(), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		r, err := os.Open(p)
		if err != nil {
			return err
		}
		defer r.Close()
		_, err = io.Copy(tw, r)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}

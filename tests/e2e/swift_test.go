package e2e

// The packed charm with Swift storage against ncw/swift's test server
// (swifttest, in the test process; see swift_helpers_test.go), configured
// the way an operator does it: storage-swift-* options, Swift's v1 auth
// (the only one swifttest speaks). Images pushed land in the container
// and only there, a layer past one 20 MiB chunk as a static large object;
// garbage-collect takes blobs with their segments; a password Swift
// refuses is named in status, never quoted, and the registry keeps
// serving meanwhile.

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/canonical/docker-registry-charm/internal/testing/deploy"
)

// swiftBigLayer is past the driver's 20 MiB chunk: a two-segment SLO.
const swiftBigLayer = 25 << 20

func swiftImage(t testing.TB, layerSize int64, layers int64) (v1.Image, string) {
	t.Helper()
	img, err := random.Image(layerSize, layers)
	if err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return img, d.String()
}

func TestSwiftStorage(t *testing.T) {
	t.Parallel()
	e := deploy.New(t)
	ctx := context.Background()
	sw := newSwift(t, e)
	config := sw.Config()
	config["storage-delete"] = true
	netloc := deployOne(t, e, config)
	ready := "Ready at " + netloc + " (http)."
	wantStatus(t, e, "active", ready)
	c := deploy.Client{Env: e}
	ref := func(repoTag string) name.Reference {
		r, err := c.Ref(netloc, repoTag)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	keep, keepDigest := swiftImage(t, 300<<10, 3)
	victim, victimDigest := swiftImage(t, swiftBigLayer, 1)

	t.Run("push lands in the container and pulls back intact", func(t *testing.T) {
		for repo, img := range map[string]v1.Image{"swift/keep:1": keep, "swift/victim:1": victim} {
			start := time.Now()
			if err := remote.Write(ref(repo), img, c.Options()...); err != nil {
				t.Fatalf("push %s: %v\n%s", repo, err, e.Machine(unit0).ServiceLog("docker-registry.service"))
			}
			t.Logf("pushed %s in %s", repo, time.Since(start).Round(time.Millisecond))
		}
		if got, err := relPullDigest(c, netloc, "swift/keep:1"); err != nil || got != keepDigest {
			t.Fatalf("pulled swift/keep:1 as %s (%v), pushed %s", got, err, keepDigest)
		}
		pullIntact(t, ref("swift/keep:1"), c.Options()...)
		pullIntact(t, ref("swift/victim:1"), c.Options()...)
		for _, img := range []v1.Image{keep, victim} {
			for d, size := range s3ImageBlobs(t, img) {
				ok, got, segs := sw.Blob(d)
				if !ok || got != size {
					t.Errorf("blob %s: in the container %t with %d bytes, pushed %d bytes", d, ok, got, size)
				}
				if size > 20<<20 && len(segs) != 2 {
					t.Errorf("blob %s of %d bytes is made of %d segments, want 2 of at most 20 MiB", d, size, len(segs))
				}
			}
		}
		if n := diskUsage(t, e.Machine(unit0).Path("/srv/registry")); n != 0 {
			t.Errorf("the unit wrote %d bytes under /srv/registry with Swift storage", n)
		}
	})

	t.Run("garbage-collect takes blobs with their segments", func(t *testing.T) {
		res := runAction(t, e, unit0, "rmi", map[string]any{"image": "swift/victim:1"})
		mustComplete(t, res)
		if result(res, "deleted.0.digest") != victimDigest {
			t.Fatalf("rmi reported %v, want %s deleted", flatResults(res), victimDigest)
		}
		victimBlobs := s3ImageBlobs(t, victim)
		var victimBytes int64
		var victimSegments []string
		for d, size := range victimBlobs {
			victimBytes += size
			_, _, segs := sw.Blob(d)
			victimSegments = append(victimSegments, segs...)
		}
		if len(victimSegments) == 0 {
			t.Fatal("the victim has no segmented blob: the test would not see segments left behind")
		}
		res = runAction(t, e, unit0, "garbage-collect", nil)
		mustComplete(t, res)
		t.Logf("garbage-collect on Swift: %v", flatResults(res))
		if got := result(res, "bytes-freed"); got != strconv.FormatInt(victimBytes, 10) {
			t.Errorf("bytes-freed = %s, the victim's blobs are %d bytes", got, victimBytes)
		}
		for d := range victimBlobs {
			if ok, _, _ := sw.Blob(d); ok {
				t.Errorf("the victim's blob %s is still in the container", d)
			}
		}
		left := sw.Objects("segments/")
		for _, s := range victimSegments {
			if _, ok := left[s]; ok {
				t.Errorf("segment %s of a collected blob is still in the container", s)
			}
		}
		for d := range s3ImageBlobs(t, keep) {
			if ok, _, _ := sw.Blob(d); !ok {
				t.Errorf("the kept image's blob %s went from the container", d)
			}
		}
		wantCollected(t, ref, c, "swift", victim)
	})

	t.Run("a password Swift refuses", func(t *testing.T) {
		good, err := e.Machine(unit0).ReadFile("/etc/docker/registry/config.yml")
		if err != nil {
			t.Fatal(err)
		}
		wrong := randomSecret(t)
		if err := e.Model.SetConfig(ctx, map[string]any{"storage-swift-password": wrong}); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, e, "blocked", "Swift refused the login: check storage-swift-username, storage-swift-password, "+
			"storage-swift-tenant and storage-swift-domain (serving the previous configuration)")
		if cfg, _ := e.Machine(unit0).ReadFile("/etc/docker/registry/config.yml"); !bytes.Equal(cfg, good) {
			t.Error("config.yml changed: the registry no longer runs its last good configuration")
		}
		if got, err := relPullDigest(c, netloc, "swift/keep:1"); err != nil || got != keepDigest {
			t.Errorf("the image pushed before does not pull: %s %v", got, err)
		}
		if st := e.Model.Unit(unit0).Status(); strings.Contains(st.Message, wrong) {
			t.Error("the password appears in status")
		}
		for n, l := range e.Model.Unit(unit0).Logs() {
			if strings.Contains(l.Message, wrong) {
				t.Errorf("the password appears in juju-log line %d (%s)", n, l.Hook)
			}
		}
		if strings.Contains(e.Machine(unit0).ServiceLog("docker-registry.service"), wrong) {
			t.Error("the password appears in the registry's log")
		}
		if err := e.Model.SetConfig(ctx, map[string]any{"storage-swift-password": swiftUser}); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, e, "active", ready)
	})
}

// TestSwiftConformance is the OCI conformance suite (the profile and
// setup of TestOCIConformance) against the charm's registry on Swift.
func TestSwiftConformance(t *testing.T) {
	t.Parallel()
	var sw *swiftService
	ociConformance(t, func(u *regUnit) map[string]any {
		sw = newSwift(t, u.E)
		return sw.Config()
	})
	// The suite ran on Swift, not on the unit's disk.
	if n := len(sw.Objects("files/docker/registry/v2/blobs/")); n == 0 {
		t.Error("no blob reached the Swift container")
	} else {
		t.Logf("%d blob objects in the Swift container after the suite", n)
	}
}

package e2e

// The packed charm with storage-cache=redis: two units on one S3 bucket
// (SeaweedFS) share one blob-descriptor cache in Debian's redis-server on
// its own machine. Redis going away does not stop pulls or pushes (the
// registry answers from storage), status says what is wrong, and redis
// coming back is used again.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/canonical/docker-registry-charm/internal/testing/deploy"
)

func TestRedisSharedCache(t *testing.T) {
	t.Parallel()
	e := deploy.New(t)
	ctx := context.Background()
	const unit1 = "docker-registry/1"
	s := newS3(t, e)
	rd := newRedis(t, e)
	config := s.Config()
	for k, v := range rd.Config() {
		config[k] = v
	}
	config["storage-delete"] = true
	if err := e.Model.SetConfig(ctx, config); err != nil {
		t.Fatal(err)
	}
	if err := e.Model.Deploy(ctx, 2); err != nil {
		t.Fatalf("deploy: %v\n%s", err, s3ServiceLog(e, unit0, s))
	}
	addr0 := net.JoinHostPort(e.Machine(unit0).Addr().String(), "5000")
	addr1 := net.JoinHostPort(e.Machine(unit1).Addr().String(), "5000")
	ready := "Ready at " + addr0 + " (http)."
	wantStatus(t, e, "active", ready)
	c := deploy.Client{Env: e}
	layer0 := func(img v1.Image) string {
		ls, _ := img.Layers()
		d, _ := ls[0].Digest()
		return d.String()
	}
	head := func(addr, repo, digest string) int {
		t.Helper()
		resp, err := s3HTTP(e).Head(fmt.Sprintf("http://%s/v2/%s/blobs/%s", addr, repo, digest))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	img, digest := s3Image(t)
	t.Run("units share one cache", func(t *testing.T) {
		if err := relPush(c, addr0, "redis/app:1", img); err != nil {
			t.Fatalf("push: %v\n%s", err, s3ServiceLog(e, unit0, s))
		}
		if !rd.Cached(t, layer0(img)) {
			t.Fatal("the layer pushed through unit 0 is not in redis")
		}
		before := rd.Hits(t)
		if code := head(addr1, "redis/app", layer0(img)); code != http.StatusOK {
			t.Fatalf("HEAD on unit 1 = %d", code)
		}
		if after := rd.Hits(t); after <= before {
			t.Errorf("unit 1 did not answer from the shared cache (redis hits %d → %d)", before, after)
		}
		if got, err := relPullDigest(c, addr1, "redis/app:1"); err != nil || got != digest {
			t.Fatalf("pull through unit 1: %s %v", got, err)
		}
	})

	t.Run("redis going away", func(t *testing.T) {
		rd.Stop()
		start := time.Now()
		for _, addr := range []string{addr0, addr1} {
			ref, _ := c.Ref(addr, "redis/app:1")
			pullIntact(t, ref, c.Options()...)
		}
		t.Logf("two pulls with redis down in %s", time.Since(start).Round(time.Millisecond))
		other, otherDigest := s3Image(t)
		if err := relPush(c, addr1, "redis/down:1", other); err != nil {
			t.Errorf("push with redis down: %v", err)
		}
		if got, err := relPullDigest(c, addr0, "redis/down:1"); err != nil || got != otherDigest {
			t.Errorf("pull through unit 0 of what unit 1 took with redis down: %s %v", got, err)
		}
		waitStatus(t, e, 60*time.Second, "blocked", "Redis cache does not answer (check redis-addresses and the server)")
		t.Logf("status said so %s after redis stopped", time.Since(start).Round(time.Second))
		// The rmi action deletes through the API, which distribution
		// refuses while its cache cannot be cleared.
		res := runAction(t, e, unit0, "rmi", map[string]any{"image": "redis/down:1"}, rd.Password)
		t.Logf("rmi with redis down: %s %q", res.Status, res.Message)
		if !res.Failed() {
			t.Error("rmi succeeded with redis down; status and README say deletes fail")
		}
	})

	t.Run("redis coming back", func(t *testing.T) {
		rd.Start(t)
		waitStatus(t, e, 60*time.Second, "active", ready)
		img2, _ := s3Image(t)
		if err := relPush(c, addr1, "redis/back:1", img2); err != nil {
			t.Fatal(err)
		}
		if !rd.Cached(t, layer0(img2)) {
			t.Error("after redis came back, a pushed layer is not cached")
		}
		if got, err := relPullDigest(c, addr0, "redis/app:1"); err != nil || got != digest {
			t.Errorf("pull after redis came back: %s %v", got, err)
		}
	})

	for _, u := range []string{unit0, unit1} {
		assertNoSecretLeaked(t, e, u, s)
		if st := e.Model.Unit(u).Status(); strings.Contains(st.Message, rd.Password) {
			t.Errorf("%s: the redis password appears in status", u)
		}
		for _, l := range e.Model.Unit(u).Logs() {
			if strings.Contains(l.Message, rd.Password) {
				t.Errorf("%s: the redis password appears in juju-log (%s)", u, l.Hook)
			}
		}
		if strings.Contains(e.Machine(u).ServiceLog("docker-registry.service"), rd.Password) {
			t.Errorf("%s: the redis password appears in the registry's log", u)
		}
	}
}

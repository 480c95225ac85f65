package image

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/redis/go-redis/v9"
)

// startRedis runs Debian's redis-server on a free 127.0.0.1 port for the
// test; the returned func kills it.
func startRedis(t *testing.T) (addr string, kill func()) {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed (apt-get install redis-server)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command("redis-server", "--bind", "127.0.0.1", "--port", port,
		"--save", "", "--appendonly", "no", "--dir", t.TempDir())
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once gosync.Once
	kill = func() { once.Do(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }) }
	t.Cleanup(kill)
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	for deadline := time.Now().Add(10 * time.Second); c.Ping(context.Background()).Err() != nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("redis-server never answered on %s", addr)
		}
	}
	return addr, kill
}

// TestGarbageCollectClearsRedisCache: the sweep clears what it removed
// from a shared redis cache, which a reload cannot drop. Without that, the
// registry (and every other unit) answers HEAD 200 for a collected layer.
// With redis down the sweep is refused before it deletes anything.
func TestGarbageCollectClearsRedisCache(t *testing.T) {
	ctx := context.Background()
	addr, kill := startRedis(t)
	cfg := registryConfig(t, t.TempDir(), regOpts{})
	cfg.Storage["cache"] = configuration.Parameters{"blobdescriptor": "redis"}
	cfg.Redis.Options = configuration.RedisOptions{Addrs: []string{addr}, MaxRetries: -1}
	srv := httptest.NewServer(newApp(t, cfg))
	t.Cleanup(srv.Close)
	netloc := srv.Listener.Addr().String()

	img, err := random.Image(32<<10, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(netloc + "/gc/redis:1")
	if err := remote.Write(ref, img, remote.WithContext(ctx)); err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	layer, _ := layers[0].Digest()
	d, _ := img.Digest()
	if err := remote.Delete(ref.Context().Digest(d.String())); err != nil {
		t.Fatal(err)
	}
	head := func() int {
		resp, err := http.Head(fmt.Sprintf("http://%s/v2/gc/redis/blobs/%s", netloc, layer))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := head(); code != http.StatusOK {
		t.Fatalf("HEAD layer before the sweep = %d", code)
	}
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	if n, _ := c.HLen(ctx, "blobs::"+layer.String()).Result(); n == 0 {
		t.Fatal("the layer's descriptor is not in redis before the sweep")
	}
	res, err := GarbageCollect(ctx, cfg, GCOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.BlobsDeleted < 2 {
		t.Fatalf("the sweep removed %d blobs, want the layer, config and manifest", res.BlobsDeleted)
	}
	if n, _ := c.HLen(ctx, "blobs::"+layer.String()).Result(); n != 0 {
		t.Errorf("the collected layer's descriptor is still in redis (%d fields)", n)
	}
	if code := head(); code != http.StatusNotFound {
		t.Errorf("HEAD of the collected layer = %d, want 404: the registry serves a stale descriptor", code)
	}

	// Redis down: refused before anything is deleted.
	img2, _ := random.Image(32<<10, 1)
	ref2, _ := name.ParseReference(netloc + "/gc/redis:2")
	if err := remote.Write(ref2, img2); err != nil {
		t.Fatal(err)
	}
	d2, _ := img2.Digest()
	if err := remote.Delete(ref2.Context().Digest(d2.String())); err != nil {
		t.Fatal(err)
	}
	kill()
	before := blobCount(t, cfg)
	_, err = GarbageCollect(ctx, cfg, GCOptions{}, nil)
	if err == nil || !strings.Contains(err.Error(), "does not answer") {
		t.Fatalf("garbage collection with redis down: %v, want a refusal", err)
	}
	if after := blobCount(t, cfg); after != before {
		t.Errorf("a refused sweep changed the storage: %d → %d blob dirs", before, after)
	}
	// A dry run needs no redis.
	if _, err := GarbageCollect(ctx, cfg, GCOptions{DryRun: true}, nil); err != nil {
		t.Errorf("dry run with redis down: %v", err)
	}
}

func blobCount(t *testing.T, cfg *configuration.Configuration) int {
	t.Helper()
	root := fmt.Sprint(cfg.Storage["filesystem"]["rootdirectory"])
	n := 0
	for _, shard := range mustReadDir(t, root+"/docker/registry/v2/blobs/sha256") {
		n += len(mustReadDir(t, root+"/docker/registry/v2/blobs/sha256/"+shard))
	}
	return n
}

func mustReadDir(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

package registry

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/canonical/docker-registry-charm/internal/config"
	"github.com/canonical/docker-registry-charm/internal/registryconf"
)

// testRedis is Debian's redis-server on 127.0.0.1, in its own temp dir,
// with a password; Stop and Start keep its port.
type testRedis struct {
	Addr, Password string
	dir            string
	cmd            *exec.Cmd
}

func startRedis(t testing.TB) *testRedis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed (apt-get install redis-server)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	r := &testRedis{Addr: addr, Password: fmt.Sprintf("pw-%d-%x", os.Getpid(), time.Now().UnixNano()), dir: t.TempDir()}
	r.Start(t)
	t.Cleanup(r.Stop)
	return r
}

func (r *testRedis) Start(t testing.TB) {
	t.Helper()
	_, port, _ := net.SplitHostPort(r.Addr)
	// The password goes through a config file, not argv.
	conf := filepath.Join(r.dir, "redis.conf")
	if err := os.WriteFile(conf, []byte("requirepass "+r.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r.cmd = exec.Command("redis-server", conf, "--bind", "127.0.0.1", "--port", port,
		"--save", "", "--appendonly", "no", "--dir", r.dir, "--daemonize", "no")
	r.cmd.Stdout, r.cmd.Stderr = io.Discard, io.Discard
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := r.Client()
	defer c.Close()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c.Ping(context.Background()).Err() == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server never answered on %s", r.Addr)
		}
	}
}

// Stop kills redis (SIGKILL: an outage, not a shutdown).
func (r *testRedis) Stop() {
	if r.cmd != nil && r.cmd.Process != nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
		r.cmd = nil
	}
}

func (r *testRedis) Client() *redis.Client {
	return redis.NewClient(&redis.Options{Addr: r.Addr, Password: r.Password, MaxRetries: -1})
}

// redisInput renders the charm's configuration for filesystem storage
// and the redis cache at r.
func redisInput(r *testRedis, root string) registryconf.RenderInput {
	in := registryconf.RenderInput{AppName: "docker-registry", HTTPSecret: "http-secret-value", DataDir: root, ListenAddr: "127.0.0.1:0"}
	in.Config.LogLevel = "info"
	in.Config.StorageCache = config.CacheRedis
	in.Config.RedisAddresses = r.Addr
	in.Config.RedisPassword = r.Password
	in.Config.StorageDelete = true
	return in
}

func serveRendered(t *testing.T, in registryconf.RenderInput) *running {
	t.Helper()
	cfg, err := registryconf.Render(in)
	if err != nil {
		t.Fatal(err)
	}
	data, err := registryconf.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := &running{cfgPath: filepath.Join(t.TempDir(), "config.yml"), stderr: &syncBuffer{}, done: make(chan error, 1)}
	if err := os.WriteFile(r.cfgPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	s, err := NewServer(ctx, ServeOptions{ConfigPath: r.cfgPath, Stdout: io.Discard, Stderr: r.stderr})
	if err != nil {
		cancel()
		t.Fatalf("cannot start the registry: %v", err)
	}
	r.Server = s
	go func() { r.done <- s.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

func waitFailing(t *testing.T, r *running, want bool, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		if slices.Contains(r.FailingChecks(), RedisCheck) == want {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("after %s FailingChecks = %v, want %s failing: %t", within, r.FailingChecks(), RedisCheck, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestRedisCacheSharedAndOptional runs the rendered configuration against
// a real redis: blob descriptors land in redis, a second registry on the
// same storage and redis answers from them, and with redis killed both
// keep serving from storage while the advisory check says redis is gone
// (without gating: the API answers). When redis is back, the check passes
// and descriptors are cached again.
func TestRedisCacheSharedAndOptional(t *testing.T) {
	rd := startRedis(t)
	root := t.TempDir()
	a := serveRendered(t, redisInput(rd, root))
	b := serveRendered(t, redisInput(rd, root))
	rc := rd.Client()
	defer rc.Close()
	ctx := context.Background()

	refA, img := pushRandom(t, a.host(), "shared/app", 1<<16, 2)
	layers, _ := img.Layers()
	d, _ := layers[0].Digest()
	if n, err := rc.Exists(ctx, "blobs::"+d.String()).Result(); err != nil || n != 1 {
		t.Fatalf("the pushed layer's descriptor is not in redis: %d %v", n, err)
	}
	hits := func() int64 {
		info, err := rc.Info(ctx, "stats").Result()
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, l := range strings.Split(info, "\r\n") {
			if v, ok := strings.CutPrefix(l, "keyspace_hits:"); ok {
				fmt.Sscan(v, &n)
			}
		}
		return n
	}
	before := hits()
	resp, err := http.Head(fmt.Sprintf("http://%s/v2/shared/app/blobs/%s", b.host(), d))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("HEAD on the second registry: %v %v", err, resp)
	}
	if after := hits(); after <= before {
		t.Errorf("the second registry did not read the shared cache (redis hits %d → %d)", before, after)
	}
	if f := a.FailingChecks(); len(f) != 0 {
		t.Errorf("failing checks with redis up: %v", f)
	}

	rd.Stop()
	start := time.Now()
	if err := pullAndCompare(t, refA, img); err != nil {
		t.Fatalf("pull with redis down: %v", err)
	}
	// go-redis's default three retries with backoff took 1.5 s here.
	if took := time.Since(start); took > time.Second {
		t.Errorf("a pull with redis down took %s: the cache lookup retries or waits", took)
	}
	t.Logf("pull with redis down: %s", time.Since(start).Round(time.Millisecond))
	start = time.Now()
	ref2, img2 := pushRandom(t, b.host(), "shared/down", 1<<16, 2)
	t.Logf("push with redis down: %s", time.Since(start).Round(time.Millisecond))
	if err := pullAndCompare(t, ref2, img2); err != nil {
		t.Fatalf("pull of the image pushed while redis was down: %v", err)
	}
	took := waitFailing(t, a, true, 30*time.Second)
	t.Logf("the %s check failed %s after the first pull without redis", RedisCheck, took.Round(time.Second))
	// Advisory: the API still answers.
	if resp, err := http.Get("http://" + a.host() + "/v2/"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("GET /v2/ with redis down: %v %v", err, resp)
	}
	// What distribution does with a delete: the cache's Clear comes
	// first and its error fails the request (README and status say so).
	m2, _ := img2.Digest()
	l2, _ := img2.Layers()
	d2, _ := l2[0].Digest()
	for _, path := range []string{"manifests/" + m2.String(), "blobs/" + d2.String()} {
		req, _ := http.NewRequest(http.MethodDelete, fmt.Sprintf("http://%s/v2/shared/down/%s", a.host(), path), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusInternalServerError {
			t.Errorf("DELETE %s with redis down: %s; the docs say deletes fail", path, resp.Status)
		}
	}

	rd.Start(t)
	waitFailing(t, a, false, 30*time.Second)
	_, img3 := pushRandom(t, a.host(), "shared/back", 1<<16, 1)
	l3, _ := img3.Layers()
	d3, _ := l3[0].Digest()
	if n, err := rc.Exists(ctx, "blobs::"+d3.String()).Result(); err != nil || n != 1 {
		t.Errorf("after redis came back, a pushed layer's descriptor is not cached: %d %v", n, err)
	}
	if strings.Contains(a.stderr.String(), rd.Password) || strings.Contains(b.stderr.String(), rd.Password) {
		t.Error("the redis password appears in the registry's log")
	}
}

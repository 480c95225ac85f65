package e2e

// Redis for the redis suite and the scaling benchmark: Debian's
// redis-server on a machine of the test's cloud named "redis", as an
// operator's redis on the units' network. The password reaches redis in a
// config file on its machine, never in argv.

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/canonical/docker-registry-charm/internal/testing/deploy"
	"github.com/canonical/docker-registry-charm/internal/testing/sim/machine"
)

const redisPort = 6379

type redisService struct {
	m        *machine.Machine
	p        *machine.Process
	Addr     string // host:port on the units' network
	Password string // never print it
	Client   *redis.Client
}

// newRedis starts redis-server on a new machine "redis" and stops it
// when the test ends.
func newRedis(t testing.TB, e *deploy.Env) *redisService {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed (apt-get install redis-server)")
	}
	m, err := e.Cloud.NewMachine("redis")
	if err != nil {
		t.Fatalf("cannot create the redis machine: %v", err)
	}
	r := &redisService{m: m, Addr: net.JoinHostPort(m.Addr().String(), strconv.Itoa(redisPort)), Password: randomSecret(t)}
	conf := fmt.Sprintf("bind %s\nport %d\nrequirepass %s\nsave \"\"\nappendonly no\ndir /srv\nprotected-mode no\n", m.Addr(), redisPort, r.Password)
	if err := m.WriteFile("/etc/redis/test.conf", []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	r.Client = redis.NewClient(&redis.Options{
		Addr: r.Addr, Password: r.Password, MaxRetries: -1,
		Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return e.Cloud.DialContext(ctx, network, addr)
		},
	})
	t.Cleanup(func() { r.Stop(); r.Client.Close() })
	r.Start(t)
	return r
}

// Start runs redis-server (again, after Stop: an empty cache) and waits
// until it answers.
func (r *redisService) Start(t testing.TB) {
	t.Helper()
	p, err := r.m.Command(context.Background(), "redis-server", "/etc/redis/test.conf").Start()
	if err != nil {
		t.Fatalf("cannot start redis-server: %v", err)
	}
	r.p = p
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if err := r.Client.Ping(context.Background()).Err(); err == nil {
			return
		} else if time.Now().After(deadline) {
			t.Fatalf("redis-server never answered at %s: %v\n%s", r.Addr, err, strings.ReplaceAll(p.Output(), r.Password, "<redacted>"))
		}
	}
}

// Stop stops redis: an outage.
func (r *redisService) Stop() {
	if r.p != nil {
		r.p.Stop(5 * time.Second)
		r.p = nil
	}
}

// Config is the charm configuration that puts the blob-descriptor cache
// in this redis.
func (r *redisService) Config() map[string]any {
	return map[string]any{"storage-cache": "redis", "redis-addresses": r.Addr, "redis-password": r.Password}
}

// Hits is redis's keyspace_hits: lookups that found a key.
func (r *redisService) Hits(t testing.TB) int64 {
	t.Helper()
	info, err := r.Client.Info(context.Background(), "stats").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(l, "keyspace_hits:"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	t.Fatal("redis INFO has no keyspace_hits")
	return 0
}

// Cached reports whether a blob's descriptor is in the cache.
func (r *redisService) Cached(t testing.TB, digest string) bool {
	t.Helper()
	n, err := r.Client.Exists(context.Background(), "blobs::"+digest).Result()
	if err != nil {
		t.Fatal(err)
	}
	return n == 1
}

package charm

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/canonical/docker-registry-charm/internal/pki/pkitest"
	"github.com/canonical/docker-registry-charm/internal/registry"
	"github.com/canonical/docker-registry-charm/internal/registryconf"
)

// A redis outage is not a storage outage: the registry serves from
// storage, so status says what fails (deletes, garbage-collect) and names
// the option to check; a storage failure at the same time wins, without
// the redis check in its list.
func TestRedisOutageShowsInStatus(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.SetConfig(ctx, map[string]any{"storage-cache": "redis", "redis-addresses": "10.0.0.5:6379", "redis-password": "pw-not-shown"}))
	h.must(h.model.Deploy(ctx, 1))
	h.wantStatus(unit0, "active", "Ready at")
	cfg := h.file(unit0, "/etc/docker/registry/config.yml")
	for _, want := range []string{"blobdescriptor: redis", "- 10.0.0.5:6379", "maxretries: -1"} {
		if !strings.Contains(cfg, want) {
			t.Errorf("config.yml lacks %q:\n%s", want, cfg)
		}
	}

	set := func(failing ...string) {
		h.mu.Lock()
		h.failing = failing
		h.mu.Unlock()
		h.must(h.model.UpdateStatus(ctx))
	}
	set(registry.RedisCheck)
	h.wantStatus(unit0, "blocked", "Redis cache does not answer (check redis-addresses and the server): pulls and pushes are served from storage, deletes and garbage-collect fail")
	set("storagedriver_s3", registry.RedisCheck)
	h.wantStatus(unit0, "blocked", "Registry storage fails its health check (storagedriver_s3):")
	set()
	h.wantStatus(unit0, "active", "Ready at")
	if strings.Contains(h.status(unit0).Message, "pw-not-shown") {
		t.Error("status shows the redis password")
	}
}

// redis-tls-ca is written where config.yml says, readable by the
// service's group, and removed when TLS to redis is turned off.
func TestRedisCAWritten(t *testing.T) {
	h := newHarness(t)
	ca := pkitest.NewCA(t, "redis CA")
	h.must(h.model.SetConfig(ctx, map[string]any{"storage-cache": "redis", "redis-addresses": "redis.example.com:6380",
		"redis-tls": true, "redis-tls-ca": base64.StdEncoding.EncodeToString(ca.CertPEM)}))
	h.must(h.model.Deploy(ctx, 1))
	h.wantStatus(unit0, "active", "Ready at")
	if got := h.file(unit0, machineRedisCA); got != string(ca.CertPEM) {
		t.Errorf("%s = %q, want the CA", machineRedisCA, got)
	}
	if cfg := h.file(unit0, "/etc/docker/registry/config.yml"); !strings.Contains(cfg, "- "+machineRedisCA) {
		t.Errorf("config.yml does not name the CA file:\n%s", cfg)
	}
	h.must(h.model.SetConfig(ctx, map[string]any{"redis-tls-ca": ""}))
	if h.exists(unit0, machineRedisCA) {
		t.Error("the CA file stays after redis-tls-ca is unset")
	}
	if cfg := h.file(unit0, "/etc/docker/registry/config.yml"); !strings.Contains(cfg, "- "+registryconf.SystemCABundle) {
		t.Errorf("redis-tls without a CA does not trust the system bundle:\n%s", cfg)
	}
}

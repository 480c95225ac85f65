package charm

import (
	"slices"

	"github.com/canonical/docker-registry-charm/internal/juju"
	"github.com/canonical/docker-registry-charm/internal/registry"
	"github.com/canonical/docker-registry-charm/internal/registryconf"
)

// planRedis writes redis-tls-ca where the registry reads it, when the
// shared redis cache talks TLS with a CA of its own.
func planRedis(o *Observed, d *Desired, in *registryconf.RenderInput) {
	cfg := o.Config
	if !cfg.UsesRedis() || !cfg.RedisTLS {
		return
	}
	if ca := cfg.RedisCA(); ca != nil {
		d.RedisCA = ca
		in.RedisCAPath = machineRedisCA
	}
}

// storageChecks are the failing checks that gate the registry's API (its
// storage's), without the advisory redis one.
func storageChecks(failing []string) []string {
	return slices.DeleteFunc(slices.Clone(failing), func(n string) bool { return n == registry.RedisCheck })
}

func redisDown(failing []string) bool { return slices.Contains(failing, registry.RedisCheck) }

// redisDownStatus says what a redis outage means, measured against
// distribution v3.1.2: every blob lookup falls back to storage, so pulls
// and pushes go on; a delete clears the cache first and fails with 500;
// garbage-collect refuses to sweep (it must clear the cache after).
var redisDownStatus = juju.Status{Name: juju.StatusBlocked, Message: "Redis cache does not answer (check redis-addresses and the server): " +
	"pulls and pushes are served from storage, deletes and garbage-collect fail until it is back"}

package registryconf

import (
	"time"

	"github.com/distribution/distribution/v3/configuration"

	"github.com/canonical/docker-registry-charm/internal/config"
)

// SystemCABundle is Debian's bundle of the machine's trusted CAs.
// distribution talks TLS to redis only when given root CAs (or a client
// certificate), so redis-tls without redis-tls-ca names this bundle.
const SystemCABundle = "/etc/ssl/certs/ca-certificates.crt"

// Timeouts of the redis client. go-redis waits 5 s to dial and 3 s per
// reply by default, and every blob lookup asks the cache first: a redis
// host that drops packets would add that to each request. A cache that
// is slower than this is worse than none, and the registry then answers
// from storage.
const (
	redisDialTimeout = 1 * time.Second
	redisIOTimeout   = 500 * time.Millisecond
	// redisClientName shows in redis's CLIENT LIST, to tell the
	// registry's connections from others.
	redisClientName = "docker-registry"
)

// blobDescriptorCache is the storage.cache.blobdescriptor value.
func blobDescriptorCache(c config.Config) string {
	if c.UsesRedis() {
		return config.CacheRedis
	}
	return blobDescriptorInMemory
}

// renderRedis is distribution's redis section: the pool the redis
// blob-descriptor cache uses. Empty unless storage-cache is redis.
// RedisCAPath names the file the charm wrote redis-tls-ca to.
func renderRedis(in RenderInput) configuration.Redis {
	c := in.Config
	if !c.UsesRedis() {
		return configuration.Redis{}
	}
	r := configuration.Redis{Options: configuration.RedisOptions{
		Addrs:        c.RedisAddrs(),
		ClientName:   redisClientName,
		DB:           c.RedisDatabase,
		Password:     c.RedisPassword,
		DialTimeout:  redisDialTimeout,
		ReadTimeout:  redisIOTimeout,
		WriteTimeout: redisIOTimeout,
		// No retries: a failed cache lookup falls back to storage at
		// once instead of backing off up to three times per request.
		MaxRetries: -1,
	}}
	if c.RedisTLS {
		r.TLS.RootCAs = []string{orDefault(in.RedisCAPath, SystemCABundle)}
	}
	return r
}

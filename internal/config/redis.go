package config

import (
	"net"
	"strconv"
	"strings"
)

// CacheRedis is the storage-cache value that keeps blob descriptors in a
// redis shared by every unit.
const CacheRedis = "redis"

// Redis holds the redis-* options: where the shared blob-descriptor cache
// lives when storage-cache is redis. Embedded in Config.
type Redis struct {
	// RedisAddresses is one host:port, or several (a Redis Cluster's seed
	// nodes), separated by commas or spaces.
	RedisAddresses string `json:"redis-addresses"`
	RedisPassword  string `json:"redis-password"`
	RedisDatabase  int    `json:"redis-database"`
	RedisTLS       bool   `json:"redis-tls"`
	// RedisTLSCA is a base64 PEM bundle, as tls-ca-blob; unset with TLS
	// on means the machine's trusted CAs.
	RedisTLSCA string `json:"redis-tls-ca"`
}

// UsesRedis reports whether the blob-descriptor cache is redis.
func (c Config) UsesRedis() bool { return c.StorageCache == CacheRedis }

// RedisAddrs splits redis-addresses into its host:port entries.
func (r Redis) RedisAddrs() []string {
	return strings.FieldsFunc(r.RedisAddresses, func(c rune) bool {
		return c == ',' || c == ' ' || c == '\t'
	})
}

// RedisCA decodes redis-tls-ca; nil when unset or not base64.
func (r Redis) RedisCA() []byte {
	if r.RedisTLSCA == "" {
		return nil
	}
	b, err := decodeBase64(r.RedisTLSCA)
	if err != nil {
		return nil
	}
	return b
}

// checkRedis checks the redis-* options when storage-cache is redis;
// otherwise they are inert. Messages never quote redis-password.
func (c Config) checkRedis(v *validator) {
	if !c.UsesRedis() {
		return
	}
	addrs := c.RedisAddrs()
	switch {
	case !v.singleLine("redis-addresses", c.RedisAddresses):
	case len(addrs) == 0:
		v.add("redis-addresses", "must be set when storage-cache is redis: the host:port of the redis server (e.g. 10.0.0.5:6379)")
	default:
		for _, a := range addrs {
			if !isHostPort(a) {
				v.add("redis-addresses", "must be host:port entries separated by commas (got %q)", clip(a))
				break
			}
		}
	}
	// The password reaches config.yml as one YAML string; a line break
	// in it is a paste mistake, not a password.
	v.singleLine("redis-password", c.RedisPassword)
	switch {
	case c.RedisDatabase < 0:
		v.add("redis-database", "must be 0 or more (got %d)", c.RedisDatabase)
	case c.RedisDatabase > 0 && len(addrs) > 1:
		v.add("redis-database", "must be 0 with several redis-addresses: a Redis Cluster has only database 0")
	}
	if c.RedisTLSCA != "" {
		if !c.RedisTLS {
			v.add("redis-tls-ca", "is only used with redis-tls=true; set that or unset this")
		}
		v.certificatesBlob("redis-tls-ca", c.RedisTLSCA)
	}
}

func isHostPort(s string) bool {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" || strings.ContainsAny(host, "/@?#") {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 1 && n <= 65535
}

// clip keeps a quoted value short enough for one log line.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}

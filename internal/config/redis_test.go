package config

import (
	"strings"
	"testing"
)

func redisConfig() Config {
	c := defaults()
	c.StorageCache = CacheRedis
	c.RedisAddresses = "10.0.0.5:6379"
	return c
}

func TestRedisValidAccepted(t *testing.T) {
	cert, _ := keyPair(t)
	for name, change := range map[string]func(*Config){
		"one address":           func(*Config) {},
		"cluster seeds":         func(c *Config) { c.RedisAddresses = "10.0.0.5:6379, 10.0.0.6:6379 redis.example.com:7000" },
		"ipv6":                  func(c *Config) { c.RedisAddresses = "[fd00::5]:6379" },
		"password and database": func(c *Config) { c.RedisPassword, c.RedisDatabase = "p@ss word:#", 3 },
		"tls with a CA":         func(c *Config) { c.RedisTLS, c.RedisTLSCA = true, b64(cert) },
		"tls with system CAs":   func(c *Config) { c.RedisTLS = true },
	} {
		c := redisConfig()
		change(&c)
		if got := c.Validate(); len(got) != 0 {
			t.Errorf("%s: got problems %v", name, got)
		}
	}
	// Without storage-cache=redis the options are inert.
	c := defaults()
	c.RedisAddresses, c.RedisDatabase = "garbage", -1
	if got := c.Validate(); len(got) != 0 {
		t.Errorf("redis-* with storage-cache=inmemory: got problems %v", got)
	}
}

func TestRedisInvalidNamesTheOption(t *testing.T) {
	const password = "hunter2\nsecond line"
	cert, _ := keyPair(t)
	tests := []struct {
		name   string
		change func(*Config)
		option string
		want   string
	}{
		{"no address", func(c *Config) { c.RedisAddresses = " , " }, "redis-addresses", "must be set when storage-cache is redis"},
		{"no port", func(c *Config) { c.RedisAddresses = "10.0.0.5" }, "redis-addresses", `host:port entries separated by commas (got "10.0.0.5")`},
		{"port zero", func(c *Config) { c.RedisAddresses = "r:0" }, "redis-addresses", "host:port"},
		{"port too high", func(c *Config) { c.RedisAddresses = "r:6379,r:99999" }, "redis-addresses", `(got "r:99999")`},
		{"url", func(c *Config) { c.RedisAddresses = "redis://r:6379" }, "redis-addresses", "host:port"},
		{"credentials in address", func(c *Config) { c.RedisAddresses = "user@r:6379" }, "redis-addresses", "host:port"},
		{"newline", func(c *Config) { c.RedisAddresses = "r:6379\nr:6380" }, "redis-addresses", "one line"},
		{"huge", func(c *Config) { c.RedisAddresses = strings.Repeat("r", 1<<20) }, "redis-addresses", `(got "` + strings.Repeat("r", 64) + `…")`},
		{"password newline", func(c *Config) { c.RedisPassword = password }, "redis-password", "one line"},
		{"negative database", func(c *Config) { c.RedisDatabase = -1 }, "redis-database", "must be 0 or more"},
		{"database on a cluster", func(c *Config) { c.RedisAddresses, c.RedisDatabase = "a:1,b:2", 1 }, "redis-database", "Redis Cluster"},
		{"ca without tls", func(c *Config) { c.RedisTLSCA = b64(cert) }, "redis-tls-ca", "only used with redis-tls=true"},
		{"ca garbage", func(c *Config) { c.RedisTLS, c.RedisTLSCA = true, b64([]byte("hello")) }, "redis-tls-ca", "no PEM certificate found"},
		{"ca not base64", func(c *Config) { c.RedisTLS, c.RedisTLSCA = true, "%%%" }, "redis-tls-ca", "base64"},
	}
	for _, tt := range tests {
		c := redisConfig()
		tt.change(&c)
		got := c.Validate()
		found := false
		for _, p := range got {
			if strings.Contains(p.Message, "hunter2") || strings.Contains(p.Message, "second line") {
				t.Errorf("%s: the problem about %s quotes the password", tt.name, p.Option)
			}
			found = found || (p.Option == tt.option && strings.Contains(p.Message, tt.want))
		}
		if !found {
			t.Errorf("%s: got %v, want %s: ...%s...", tt.name, got, tt.option, tt.want)
		}
		if status := FormatProblems(got); !strings.Contains(status, tt.option) {
			t.Errorf("%s: status %q does not name %s", tt.name, status, tt.option)
		}
	}
}

func TestRedisAddrsSplit(t *testing.T) {
	r := Redis{RedisAddresses: " a:1,b:2  c:3,\t,"}
	if got := strings.Join(r.RedisAddrs(), "|"); got != "a:1|b:2|c:3" {
		t.Errorf("RedisAddrs = %q", got)
	}
}

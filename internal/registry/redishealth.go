package registry

import (
	"context"
	"fmt"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/health"
	"github.com/redis/go-redis/v9"
	"github.com/sirupsen/logrus"

	"github.com/canonical/docker-registry-charm/internal/redisconn"
)

// RedisCheck names the check that fails while the shared blob-descriptor
// cache's redis does not answer. distribution has no such check: without
// redis it answers every blob lookup from storage (its cached statter
// falls back), so the check is advisory: it never gates requests the way
// the storage checks do, and status tells the operator instead.
const RedisCheck = "redis_cache"

// How often redis is asked, and how many misses in a row fail the check
// (a restart of redis is not an outage).
const (
	redisCheckInterval  = 5 * time.Second
	redisCheckThreshold = 2
)

// watchRedis registers, in reg, RedisCheck for the redis section of cfg,
// and polls it until ctx ends. Without a redis section it does nothing.
func watchRedis(ctx context.Context, cfg *configuration.Configuration, reg *health.Registry) {
	if len(cfg.Redis.Options.Addrs) == 0 {
		return
	}
	client, err := redisconn.New(cfg.Redis)
	if err != nil {
		logrus.Warnf("redis check not started: %v", err)
		return
	}
	context.AfterFunc(ctx, func() { _ = client.Close() })
	u := health.NewThresholdStatusUpdater(redisCheckThreshold)
	reg.Register(RedisCheck, u)
	go health.Poll(ctx, u, health.CheckFunc(func(ctx context.Context) error {
		return pingRedis(ctx, client)
	}), redisCheckInterval)
}

func pingRedis(ctx context.Context, client redis.UniversalClient) error {
	ctx, cancel := context.WithTimeout(ctx, redisCheckInterval/2)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		// go-redis errors name the address, never the password.
		logrus.Errorf("redis check: the blob-descriptor cache does not answer: %v", err)
		return fmt.Errorf("redis does not answer: %w", err)
	}
	return nil
}

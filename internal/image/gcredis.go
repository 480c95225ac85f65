package image

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/distribution/distribution/v3"
	"github.com/distribution/distribution/v3/configuration"
	rediscache "github.com/distribution/distribution/v3/registry/storage/cache/redis"
	"github.com/opencontainers/go-digest"

	"github.com/canonical/docker-registry-charm/internal/redisconn"
)

// A redis blob-descriptor cache is shared by every unit and outlives the
// reload that drops an in-memory one: a descriptor of a collected blob
// left there would have every unit answer HEAD with 200 for a blob that
// is gone, and a client pushing that layer again would skip uploading it.
// So the sweep needs redis: it is refused while redis is down, and
// afterwards the descriptors of the blobs it removed are cleared with
// distribution's own cache code (repository-scoped lookups read the
// global descriptor, so clearing that one is enough).

// usesRedisCache reports whether cfg keeps blob descriptors in redis.
func usesRedisCache(cfg *configuration.Configuration) bool {
	return len(cfg.Redis.Options.Addrs) > 0 &&
		fmt.Sprint(cfg.Storage["cache"]["blobdescriptor"]) == "redis"
}

// redisReachable fails when the cache's redis does not answer.
func redisReachable(ctx context.Context, cfg *configuration.Configuration) error {
	c, err := redisconn.New(cfg.Redis)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("the redis cache at %s does not answer (%w): the sweep would leave it describing deleted blobs; bring redis back first",
			strings.Join(cfg.Redis.Options.Addrs, ","), err)
	}
	return nil
}

// forgetBlobs clears the cached descriptors of blobs.
func forgetBlobs(ctx context.Context, cfg *configuration.Configuration, blobs []digest.Digest) error {
	if len(blobs) == 0 {
		return nil
	}
	c, err := redisconn.New(cfg.Redis)
	if err != nil {
		return err
	}
	defer c.Close()
	cache := rediscache.NewRedisBlobDescriptorCacheProvider(c)
	for _, d := range blobs {
		// A blob no unit looked up since the cache was last flushed is
		// not in it.
		if err := cache.Clear(ctx, d); err != nil && !errors.Is(err, distribution.ErrBlobUnknown) {
			return fmt.Errorf("cannot clear blob %s from the redis cache: %w", d, err)
		}
	}
	return nil
}

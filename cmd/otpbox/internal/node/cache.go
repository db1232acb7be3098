package node

import (
	"net/url"
	"strconv"

	"github.com/otpbox/otpbox/cache"
)

// cacheConfig is the cache's configuration without its tiers: the L1
// size and the default TTL (which promoted copies use too).
func (c Config) cacheConfig() cache.Config {
	return cache.Config{L1Size: int(c.L1CacheSize), DefaultTTL: c.DefaultCacheTTL.Duration}
}

// redisURL returns c.Redis with go-redis's pool_size (PoolSize) and
// pool_timeout (ConnectionTimeout) options added, so that every Redis
// client of the node (the sandbox store and the cache's L3) gets them.
// Options already in the URL win; an empty or unparsable URL is returned
// as it is (Validate refuses the latter).
func (c Config) redisURL() string {
	if c.Redis == "" {
		return ""
	}
	u, err := url.Parse(c.Redis)
	if err != nil {
		return c.Redis
	}
	q := u.Query()
	if !q.Has("pool_size") && c.PoolSize > 0 {
		q.Set("pool_size", strconv.Itoa(int(c.PoolSize)))
	}
	if !q.Has("pool_timeout") && c.ConnectionTimeout.Duration > 0 {
		q.Set("pool_timeout", c.ConnectionTimeout.Duration.String())
	}
	u.RawQuery = q.Encode()
	return u.String()
}

package node

import (
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// TestRedisURLPool: pool_size and connection_timeout reach go-redis
// through the URL that both the sandbox store and the cache's L3 parse;
// options the URL sets itself win.
func TestRedisURLPool(t *testing.T) {
	for _, tc := range []struct {
		name, url   string
		pool        int
		poolTimeout time.Duration
	}{
		{"defaults", "redis://127.0.0.1:6379/2", 50, 30 * time.Second},
		{"with credentials", "redis://user:p%40ss@127.0.0.1:6379", 50, 30 * time.Second},
		{"TLS", "rediss://127.0.0.1:6380/0", 50, 30 * time.Second},
		{"the URL's own", "redis://127.0.0.1:6379/0?pool_size=7&pool_timeout=2s&read_timeout=1s", 7, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Redis = tc.url
			opt, err := goredis.ParseURL(cfg.redisURL())
			if err != nil {
				t.Fatalf("ParseURL(%s): %v", cfg.redisURL(), err)
			}
			if opt.PoolSize != tc.pool || opt.PoolTimeout != tc.poolTimeout {
				t.Errorf("pool %d, timeout %v; want %d, %v", opt.PoolSize, opt.PoolTimeout, tc.pool, tc.poolTimeout)
			}
			orig, _ := goredis.ParseURL(tc.url)
			if opt.Addr != orig.Addr || opt.DB != orig.DB || opt.Username != orig.Username ||
				opt.Password != orig.Password || (opt.TLSConfig == nil) != (orig.TLSConfig == nil) {
				t.Errorf("%s changed the connection: %+v", cfg.redisURL(), opt)
			}
		})
	}
	if got := DefaultConfig().redisURL(); got != "" {
		t.Errorf("no Redis: %q", got)
	}
}

func TestMemoryAndCacheConfig(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MemoryGCThreshold, cfg.MemoryLimit = 0.6, 256<<20
	cfg.MemoryCheckInterval = Duration{time.Second}
	mc := cfg.memoryConfig()
	if mc.Threshold != 0.6 || mc.Interval != time.Second || mc.Limit != 256<<20 {
		t.Errorf("memory config = %+v", mc)
	}
	cfg.MemoryOptimizationEnabled = False
	if mc := cfg.memoryConfig(); mc.Interval >= 0 {
		t.Errorf("disabled: interval %v, want negative (no periodic checks)", mc.Interval)
	}
	cfg.L1CacheSize, cfg.DefaultCacheTTL = 8<<20, Duration{time.Minute}
	if cc := cfg.cacheConfig(); cc.L1Size != 8<<20 || cc.DefaultTTL != time.Minute {
		t.Errorf("cache config = %+v", cc)
	}
}

package cache

import (
	"context"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// DefaultRedisPrefix is prepended to every key L3 stores, so Clear can find
// the cache's keys and leave the rest of the database alone.
const DefaultRedisPrefix = "otpbox:cache:"

// RedisClient is the part of go-redis L3 uses; *goredis.Client,
// *goredis.ClusterClient and goredis.UniversalClient satisfy it.
type RedisClient interface {
	Get(ctx context.Context, key string) *goredis.StringCmd
	Set(ctx context.Context, key string, value any, expiration time.Duration) *goredis.StatusCmd
	Del(ctx context.Context, keys ...string) *goredis.IntCmd
	Scan(ctx context.Context, cursor uint64, match string, count int64) *goredis.ScanCmd
}

// L3 is the shared Redis tier. TTLs are Redis's own (SET with PX/EX), so
// they follow Redis's clock, not Config.Clock.
type L3 struct {
	rc     RedisClient
	prefix string
}

var _ Tier = (*L3)(nil)

// NewL3 returns an L3 on rc with DefaultRedisPrefix. The caller keeps
// ownership of rc and closes it.
func NewL3(rc RedisClient) *L3 { return &L3{rc: rc, prefix: DefaultRedisPrefix} }

// NewL3URL parses a redis:// URL (see goredis.ParseURL) and returns an L3
// on a new client, and a func that closes the client.
func NewL3URL(url string) (*L3, func() error, error) {
	opt, err := goredis.ParseURL(url)
	if err != nil {
		return nil, nil, fmt.Errorf("parse redis url: %w", err)
	}
	c := goredis.NewClient(opt)
	return NewL3(c), c.Close, nil
}

// Get returns the value stored under key.
func (l *L3) Get(ctx context.Context, key string) ([]byte, bool, error) {
	v, err := l.rc.Get(ctx, l.prefix+key).Bytes()
	if errors.Is(err, goredis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return v, true, nil
}

// Set stores val under key, expiring after ttl (0: never).
func (l *L3) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	return l.rc.Set(ctx, l.prefix+key, val, ttl).Err()
}

// Delete removes key.
func (l *L3) Delete(ctx context.Context, key string) error {
	return l.rc.Del(ctx, l.prefix+key).Err()
}

// Clear deletes every key under the prefix, scanning in batches of 1000.
func (l *L3) Clear(ctx context.Context) error {
	var cursor uint64
	for {
		keys, next, err := l.rc.Scan(ctx, cursor, l.prefix+"*", 1000).Result()
		if err != nil {
			return err
		}
		if len(keys) > 0 {
			if err := l.rc.Del(ctx, keys...).Err(); err != nil {
				return err
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// Stats reports nothing of its own: Redis evicts and expires on its side.
func (l *L3) Stats() TierStats { return TierStats{Entries: -1} }

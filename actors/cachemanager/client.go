package cachemanager

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/otpbox/otpbox/cache"
)

// DefaultTimeout bounds a request to the manager when ctx has no earlier
// deadline.
const DefaultTimeout = 5 * time.Second

// Client is the typed API of the design's CacheManager. Get, Put, Delete
// and GetOrLoad call the Cache directly and concurrently, never through
// the mailbox; ClearCache, GetCacheStats, OptimizeAllCaches and Configure
// go to the manager actor. A Client is safe for concurrent use.
type Client struct {
	root *actor.RootContext
	pid  *actor.PID
	c    *cache.Cache
}

// NewClient returns a client of the manager at pid (for a supervised
// manager, the stable Supervisor.Whereis(ChildID)) managing c.
func NewClient(root *actor.RootContext, pid *actor.PID, c *cache.Cache) *Client {
	return &Client{root: root, pid: pid, c: c}
}

// Cache returns the managed cache.
func (cl *Client) Cache() *cache.Cache { return cl.c }

// Get returns key's value (design: get/2).
func (cl *Client) Get(ctx context.Context, key string) ([]byte, bool, error) {
	return cl.c.Get(ctx, key)
}

// Put stores a value (design: put/3; ttl and tier are PutOptions).
func (cl *Client) Put(ctx context.Context, key string, val []byte, opts ...cache.PutOption) error {
	return cl.c.Put(ctx, key, val, opts...)
}

// Delete removes a key (design: delete/1).
func (cl *Client) Delete(ctx context.Context, key string) error { return cl.c.Delete(ctx, key) }

// GetOrLoad returns key's value, loading it once on a miss.
func (cl *Client) GetOrLoad(ctx context.Context, key string, load cache.Loader, opts ...cache.PutOption) ([]byte, error) {
	return cl.c.GetOrLoad(ctx, key, load, opts...)
}

// ClearCache empties a tier, or all (design: clear_cache/1).
func (cl *Client) ClearCache(ctx context.Context, tier cache.TierID) error {
	return done(cl.request(ctx, &ClearCache{Tier: tier}))
}

// GetCacheStats returns the statistics and the last roll-up (design:
// get_cache_stats/0).
func (cl *Client) GetCacheStats(ctx context.Context) (*CacheStats, error) {
	res, err := cl.request(ctx, &GetCacheStats{})
	if err != nil {
		return nil, err
	}
	s, ok := res.(*CacheStats)
	if !ok {
		return nil, fmt.Errorf("%w: %T", ErrUnexpectedReply, res)
	}
	return s, nil
}

// OptimizeAllCaches asks the manager for maintenance and returns at once
// (design: optimize_all_caches/0, a cast).
func (cl *Client) OptimizeAllCaches() { cl.root.Send(cl.pid, &OptimizeAllCaches{}) }

// Configure sets the maintenance interval.
func (cl *Client) Configure(ctx context.Context, interval time.Duration) error {
	return done(cl.request(ctx, &Configure{Interval: interval}))
}

func (cl *Client) request(ctx context.Context, msg message) (any, error) {
	timeout := DefaultTimeout
	if d, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(d))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res, err := cl.root.RequestFuture(cl.pid, msg, timeout).Result()
	if err != nil {
		return nil, fmt.Errorf("cachemanager %T: %w", msg, err)
	}
	return res, nil
}

func done(res any, err error) error {
	if err != nil {
		return err
	}
	d, ok := res.(*Done)
	if !ok {
		return fmt.Errorf("%w: %T", ErrUnexpectedReply, res)
	}
	return d.Err
}

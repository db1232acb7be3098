package cache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"

	goredis "github.com/redis/go-redis/v9"
)

// DefaultBusChannel is the Redis channel RedisBus uses when none is given.
const DefaultBusChannel = "otpbox:cache:invalidate"

// Publisher broadcasts keys whose L1 copies other nodes must drop. Set
// Config.Bus to one when nodes share L3 but have no L2 Members.
type Publisher interface {
	Publish(ctx context.Context, keys []string) error
}

// RedisBus is a Publisher over Redis pub/sub: Put and Delete publish the
// key, and every other node's Serve drops it from its L1. Pub/sub delivers
// at most once: a node that is disconnected when a key changes keeps its L1
// copy until the copy's TTL, which Config.PromoteTTL and the Put TTLs
// bound.
type RedisBus struct {
	rc      *goredis.Client
	channel string
	self    string
}

var _ Publisher = (*RedisBus)(nil)

type busMessage struct {
	From string   `json:"from"`
	Keys []string `json:"keys"`
}

// NewRedisBus returns a bus on rc and channel (DefaultBusChannel if empty).
func NewRedisBus(rc *goredis.Client, channel string) *RedisBus {
	if channel == "" {
		channel = DefaultBusChannel
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	return &RedisBus{rc: rc, channel: channel, self: hex.EncodeToString(id[:])}
}

// Publish sends keys to the other nodes.
func (b *RedisBus) Publish(ctx context.Context, keys []string) error {
	msg, err := json.Marshal(busMessage{From: b.self, Keys: keys})
	if err != nil {
		return err
	}
	return b.rc.Publish(ctx, b.channel, msg).Err()
}

// Subscribe subscribes to the channel and returns once Redis has confirmed
// it; run the returned Subscription's Serve to apply invalidations to c.
func (b *RedisBus) Subscribe(ctx context.Context, c *Cache) (*Subscription, error) {
	ps := b.rc.Subscribe(ctx, b.channel)
	if _, err := ps.Receive(ctx); err != nil {
		_ = ps.Close()
		return nil, fmt.Errorf("subscribe %s: %w", b.channel, err)
	}
	return &Subscription{bus: b, ps: ps, c: c}, nil
}

// Subscription receives another node's invalidations.
type Subscription struct {
	bus *RedisBus
	ps  *goredis.PubSub
	c   *Cache
}

// Serve drops the keys other nodes publish from c's L1 until ctx is done,
// then closes the subscription and returns ctx's error once it has stopped.
// go-redis resubscribes by itself after a reconnect.
func (s *Subscription) Serve(ctx context.Context) error {
	defer s.ps.Close()
	ch := s.ps.Channel()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case m, ok := <-ch:
			if !ok {
				return fmt.Errorf("subscription %s closed", s.bus.channel)
			}
			var bm busMessage
			if json.Unmarshal([]byte(m.Payload), &bm) == nil && bm.From != s.bus.self {
				s.c.InvalidateLocal(bm.Keys...)
			}
		}
	}
}

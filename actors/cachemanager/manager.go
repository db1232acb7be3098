package cachemanager

import (
	"context"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/scheduler"
	"github.com/otpbox/otpbox/cache"
	"github.com/otpbox/otpbox/supervision"
)

// ChildID is the supervision child id ChildSpec uses.
const ChildID = "cachemanager"

// DefaultInterval is the maintenance interval when Config.Interval is 0.
const DefaultInterval = 30 * time.Second

// Config configures the manager. The zero value works.
type Config struct {
	// Interval between maintenance ticks; default DefaultInterval; negative
	// disables periodic maintenance (OptimizeAllCaches still works).
	Interval time.Duration
	// Clock timestamps roll-ups; default time.Now.
	Clock func() time.Time
}

// Props returns the props of a manager of c.
func Props(c *cache.Cache, cfg Config) *actor.Props {
	return actor.PropsFromProducer(Producer(c, cfg))
}

// Producer returns a producer of managers of c, for supervision.Spawn.
func Producer(c *cache.Cache, cfg Config) actor.Producer {
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	return func() actor.Actor { return &manager{c: c, cfg: cfg} }
}

// ChildSpec is the manager as a permanent supervised worker with id ChildID.
// A restart builds a new manager around the same Cache: the cache's
// contents and counters survive, only the roll-up history is lost.
func ChildSpec(c *cache.Cache, cfg Config) supervision.ChildSpec {
	return supervision.ChildSpec{ID: ChildID, Start: supervision.Spawn(Producer(c, cfg))}
}

// manager is the CacheManager actor. Only Receive touches its fields.
type manager struct {
	c      *cache.Cache
	cfg    Config
	cancel scheduler.CancelFunc
	last   cache.Stats
	lastAt time.Time
	rollUp RollUp
	opt    uint64
}

func (m *manager) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		m.lastAt = m.cfg.Clock()
		m.last = m.c.Stats()
		m.schedule(ctx)
	case *actor.Stopping:
		m.stopTimer()
	case *Get:
		v, ok, _ := m.c.Get(context.Background(), msg.Key)
		ctx.Respond(&GetResult{Value: v, Found: ok})
	case *Put:
		ctx.Respond(&Done{Err: m.put(msg)})
	case *Delete:
		ctx.Respond(&Done{Err: m.c.Delete(context.Background(), msg.Key)})
	case *ClearCache:
		ctx.Respond(&Done{Err: m.c.Clear(context.Background(), msg.Tier)})
	case *GetCacheStats:
		ctx.Respond(&CacheStats{Stats: m.c.Stats(), Health: m.c.Health(), RollUp: m.rollUp, Optimizations: m.opt})
	case *OptimizeAllCaches:
		m.optimize()
	case *Tick:
		m.optimize()
	case *Configure:
		m.cfg.Interval = msg.Interval
		m.schedule(ctx)
		ctx.Respond(&Done{})
	case actor.SystemMessage, actor.AutoReceiveMessage:
	default:
		ctx.Logger().Warn("cachemanager: unknown message", slog.Any("type", msg))
	}
}

func (m *manager) put(p *Put) error {
	var opts []cache.PutOption
	if p.TTL > 0 {
		opts = append(opts, cache.WithTTL(p.TTL))
	}
	if p.Tier != cache.AllTiers {
		opts = append(opts, cache.InTier(p.Tier))
	}
	return m.c.Put(context.Background(), p.Key, p.Value, opts...)
}

// optimize probes degraded tiers and rolls the statistics up. freecache
// expires lazily and evicts in O(1) on write, so there is no entry sweep.
func (m *manager) optimize() {
	degraded := m.c.Maintain(context.Background())
	now := m.cfg.Clock()
	s := m.c.Stats()
	r := RollUp{At: now, Window: now.Sub(m.lastAt), Requests: s.TotalRequests - m.last.TotalRequests, DegradedTiers: degraded}
	if r.Requests > 0 {
		r.HitRate = float64(s.Hits-m.last.Hits) / float64(r.Requests)
	}
	if r.Window > 0 {
		r.RequestsPerSecond = float64(r.Requests) / r.Window.Seconds()
	}
	m.rollUp, m.last, m.lastAt = r, s, now
	m.opt++
}

func (m *manager) schedule(ctx actor.Context) {
	m.stopTimer()
	if m.cfg.Interval <= 0 {
		return
	}
	m.cancel = scheduler.NewTimerScheduler(ctx.ActorSystem().Root).
		SendRepeatedly(m.cfg.Interval, m.cfg.Interval, ctx.Self(), &Tick{})
}

func (m *manager) stopTimer() {
	if m.cancel != nil {
		m.cancel()
		m.cancel = nil
	}
}

package loadbalancer

import (
	"context"
	"fmt"
	"time"

	"github.com/otpbox/otpbox/cluster"
)

// NeedsRebalancing reports whether a round would run now: rebalancing is
// enabled, the cooldown has passed and the spread exceeds the threshold.
func (b *Balancer) NeedsRebalancing() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.skip(b.cfg.Clock(), spread(b.order)) == ""
}

// skip returns why a round would not run now, or "".
func (b *Balancer) skip(now time.Time, s float64) SkipReason {
	switch {
	case !*b.cfg.RebalancingEnabled:
		return SkipDisabled
	case b.cfg.RebalanceCooldown > 0 && !b.lastRound.IsZero() && now.Sub(b.lastRound) < b.cfg.RebalanceCooldown:
		return SkipCooldown
	case s <= b.cfg.RebalanceThreshold:
		return SkipBalanced
	}
	return ""
}

// Rebalance runs one rebalancing round through m (the design's
// perform_load_rebalancing) and returns what it did. Rounds are serialised.
//
// A round runs when rebalancing is enabled, the cooldown since the last
// round that attempted a move has passed and the spread exceeds the
// threshold (else Skipped says why). It then repeats: take the most loaded
// node (sandboxes per weight) among the alive, non-draining ones, and the
// least loaded among those that accept (passing, not draining); stop if the
// spread is within the threshold or if moving one sandbox would leave the
// target more loaded than the source was; otherwise migrate the next of
// the source's sandboxes to the target (Migrate). The round counts what
// each node hosts (Migrator.Placed) rather than the estimates, which lag;
// the spread it reports is over those counts.
// At most MaxMovesPerRound migrations are attempted. A failed migration is
// reported and its target takes no more moves in the round; a source whose
// Placed fails or runs out is passed over. Each Migrator call is bounded by
// ActionTimeout and ctx. Moves are counted on the nodes' loads until their
// next report.
func (b *Balancer) Rebalance(ctx context.Context, m cluster.Migrator) *Rebalanced {
	b.roundMu.Lock()
	defer b.roundMu.Unlock()

	b.mu.Lock()
	now := b.cfg.Clock()
	r := &Rebalanced{At: now, SpreadBefore: spread(b.order)}
	r.SpreadAfter = r.SpreadBefore
	r.Skipped = b.skip(now, r.SpreadBefore)
	if r.Skipped == "" && m == nil {
		r.Skipped = SkipNoMigrator
	}
	if r.Skipped != "" {
		b.mu.Unlock()
		return r
	}
	cfg := b.cfg
	var slots []*slot
	for _, n := range b.order {
		if n.counted() {
			slots = append(slots, &slot{name: n.name, n: n.sandboxes(), w: n.weight(), accepts: n.accepts()})
		}
	}
	b.mu.Unlock()

	// The estimates lag (reports arrive with heartbeats, placements by
	// other members are not counted here): a round works on what each
	// node actually hosts. A node that cannot say gives nothing away.
	for _, sl := range slots {
		ids, err := call(ctx, cfg.ActionTimeout, func(c context.Context) ([]string, error) { return m.Placed(c, sl.name) })
		sl.fetched = true
		if err != nil {
			r.Failures = append(r.Failures, MoveFailure{Move: Move{From: sl.name},
				Err: fmt.Errorf("list sandboxes on %s: %w", sl.name, err)})
			sl.exhausted = true
			continue
		}
		sl.ids, sl.n = ids, len(ids)
	}
	r.SpreadBefore = slotSpread(slots)
	if r.SpreadBefore <= cfg.RebalanceThreshold {
		r.SpreadAfter = r.SpreadBefore
		r.Skipped = SkipBalanced
		return r
	}

	attempts := 0
	for attempts < cfg.MaxMovesPerRound && ctx.Err() == nil && slotSpread(slots) > cfg.RebalanceThreshold {
		src, dst := extremes(slots)
		if src == nil || dst == nil || src.after(-1) < dst.after(+1) {
			break
		}
		if len(src.ids) == 0 {
			src.exhausted = true
			continue
		}
		mv := Move{Identity: src.ids[0], From: src.name, To: dst.name}
		src.ids = src.ids[1:]
		attempts++
		_, err := call(ctx, cfg.ActionTimeout, func(c context.Context) (struct{}, error) {
			return struct{}{}, m.Migrate(c, mv.Identity, mv.To)
		})
		if err != nil {
			r.Failures = append(r.Failures, MoveFailure{Move: mv,
				Err: fmt.Errorf("migrate %s from %s to %s: %w", mv.Identity, mv.From, mv.To, err)})
			dst.failed = true
			b.metrics.migrations.WithLabelValues("failed").Inc()
			continue
		}
		src.n--
		dst.n++
		r.Moves = append(r.Moves, mv)
		b.metrics.migrations.WithLabelValues("moved").Inc()
		b.mu.Lock()
		if n, ok := b.nodes[mv.From]; ok {
			n.moved--
		}
		if n, ok := b.nodes[mv.To]; ok {
			n.moved++
		}
		b.mu.Unlock()
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	if attempts > 0 {
		b.lastRound = now
		b.metrics.rounds.Inc()
	} else {
		r.Skipped = SkipNoMove
	}
	r.SpreadAfter = slotSpread(slots)
	return r
}

// slot is a node's load during a round.
type slot struct {
	name      string
	n, w      int // sandboxes, weight
	accepts   bool
	fetched   bool     // Placed was called: n and ids are what it said
	ids       []string // sandboxes not tried yet
	exhausted bool     // nothing (more) to move away
	failed    bool     // a migration to it failed
}

// after is the slot's load with d more sandboxes.
func (s *slot) after(d int) float64 { return float64(s.n+d) / float64(s.w) }

func slotSpread(slots []*slot) float64 {
	lo, hi := 0.0, 0.0
	for i, s := range slots {
		l := s.after(0)
		if i == 0 || l < lo {
			lo = l
		}
		if i == 0 || l > hi {
			hi = l
		}
	}
	if len(slots) < 2 || hi == 0 {
		return 0
	}
	return (hi - lo) / hi
}

// extremes returns the most loaded slot that may still give a sandbox and
// the least loaded other slot that may take one; the first in name order
// on ties.
func extremes(slots []*slot) (src, dst *slot) {
	for _, s := range slots {
		if !s.exhausted && (src == nil || s.after(0) > src.after(0)) {
			src = s
		}
	}
	for _, s := range slots {
		if s != src && s.accepts && !s.failed && (dst == nil || s.after(0) < dst.after(0)) {
			dst = s
		}
	}
	return src, dst
}

// call runs f with a context bounded by ctx and timeout.
func call[T any](ctx context.Context, timeout time.Duration, f func(context.Context) (T, error)) (T, error) {
	c, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return f(c)
}

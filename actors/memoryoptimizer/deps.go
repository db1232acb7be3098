package memoryoptimizer

import "context"

// Shrinker releases memory held by a cache (the L1 tier) and returns the
// bytes it estimates it freed.
type Shrinker interface {
	Shrink(ctx context.Context) (freed int64, err error)
}

// ShrinkFunc adapts a function to Shrinker.
type ShrinkFunc func(ctx context.Context) (int64, error)

// Shrink calls f.
func (f ShrinkFunc) Shrink(ctx context.Context) (int64, error) { return f(ctx) }

// Passivator passivates up to n of the least recently used idle sandboxes
// and returns how many it passivated; 0 means none is left to passivate.
type Passivator interface {
	PassivateIdle(ctx context.Context, n int) (int, error)
}

// PassivateFunc adapts a function to Passivator.
type PassivateFunc func(ctx context.Context, n int) (int, error)

// PassivateIdle calls f.
func (f PassivateFunc) PassivateIdle(ctx context.Context, n int) (int, error) { return f(ctx, n) }

// Outsized describes a sandbox with outsized memory or a long mailbox.
type Outsized struct {
	ID      string
	Bytes   uint64
	Mailbox int
}

// Reporter lists the sandboxes with outsized memory or long mailboxes.
type Reporter interface {
	Outsized(ctx context.Context) ([]Outsized, error)
}

// Deps are the optimizer's optional collaborators; nil ones are skipped.
type Deps struct {
	Shrinker   Shrinker
	Passivator Passivator
	Reporter   Reporter
	// Metrics counts actions; nil counts into a private Metrics.
	Metrics *Metrics
}

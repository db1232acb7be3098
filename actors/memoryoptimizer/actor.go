package memoryoptimizer

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/scheduler"
	"github.com/otpbox/otpbox/supervision"
)

// ChildID is the supervision child id ChildSpec uses.
const ChildID = "memoryoptimizer"

// Defaults for a zero Config.
const (
	DefaultInterval       = 30 * time.Second
	DefaultThreshold      = 0.8
	DefaultTarget         = 0.7
	DefaultMinSoftLimit   = 64 << 20
	DefaultPassivateBatch = 8
	DefaultMaxRounds      = 16
	DefaultActionTimeout  = 10 * time.Second
	DefaultKeepActions    = 16
)

// Config configures the optimizer. The zero value works.
type Config struct {
	// Interval between checks; default DefaultInterval; negative disables
	// periodic checks (Tick and Optimize still work).
	Interval time.Duration
	// Limit, when non-zero, is the memory limit in bytes that utilization
	// is measured against (LimitSource "config"), in place of the cgroup
	// limit, the Go soft limit or the host's MemTotal.
	Limit uint64
	// Threshold of Utilization above which a check optimizes; default
	// DefaultThreshold.
	Threshold float64
	// Target utilization a pass works down to (soft limit, passivation);
	// default DefaultTarget, at most Threshold.
	Target float64
	// MinSoftLimit is the floor of the Go soft memory limit the optimizer
	// sets, so it never makes the GC thrash; default DefaultMinSoftLimit.
	MinSoftLimit int64
	// PassivateBatch is n per Passivator call; MaxRounds bounds the calls
	// per pass. Defaults DefaultPassivateBatch and DefaultMaxRounds.
	PassivateBatch int
	MaxRounds      int
	// ActionTimeout bounds each call of a dependency; default
	// DefaultActionTimeout.
	ActionTimeout time.Duration
	// MemInfoPath is the /proc/meminfo file; CgroupPaths the limit files
	// read in order (v2 memory.max, v1 memory.limit_in_bytes). Defaults
	// DefaultMemInfoPath and {DefaultCgroupV2Path, DefaultCgroupV1Path}.
	MemInfoPath string
	CgroupPaths []string
	// KeepActions is how many of the latest actions MemoryStats.LastActions
	// carries; default DefaultKeepActions.
	KeepActions int
	// Clock timestamps actions; default time.Now.
	Clock func() time.Time
}

func (c Config) withDefaults() Config {
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.Threshold <= 0 {
		c.Threshold = DefaultThreshold
	}
	if c.Target <= 0 {
		c.Target = DefaultTarget
	}
	c.Target = min(c.Target, c.Threshold)
	if c.MinSoftLimit <= 0 {
		c.MinSoftLimit = DefaultMinSoftLimit
	}
	if c.PassivateBatch <= 0 {
		c.PassivateBatch = DefaultPassivateBatch
	}
	if c.MaxRounds <= 0 {
		c.MaxRounds = DefaultMaxRounds
	}
	if c.ActionTimeout <= 0 {
		c.ActionTimeout = DefaultActionTimeout
	}
	if c.MemInfoPath == "" {
		c.MemInfoPath = DefaultMemInfoPath
	}
	if c.CgroupPaths == nil {
		c.CgroupPaths = []string{DefaultCgroupV2Path, DefaultCgroupV1Path}
	}
	if c.KeepActions <= 0 {
		c.KeepActions = DefaultKeepActions
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	return c
}

// Props returns the props of an optimizer.
func Props(deps Deps, cfg Config) *actor.Props { return actor.PropsFromProducer(Producer(deps, cfg)) }

// Producer returns a producer of optimizers, for supervision.Spawn.
func Producer(deps Deps, cfg Config) actor.Producer {
	cfg = cfg.withDefaults()
	if deps.Metrics == nil {
		deps.Metrics = NewMetrics()
	}
	return func() actor.Actor { return &optimizer{deps: deps, cfg: cfg} }
}

// ChildSpec is the optimizer as a permanent supervised worker with id
// ChildID.
func ChildSpec(deps Deps, cfg Config) supervision.ChildSpec {
	return supervision.ChildSpec{ID: ChildID, Start: supervision.Spawn(Producer(deps, cfg))}
}

// optimizer is the MemoryOptimizer actor. Only Receive touches its fields.
// The Go soft memory limit is process-wide: run one optimizer per process.
type optimizer struct {
	deps    Deps
	cfg     Config
	cancel  scheduler.CancelFunc
	origGo  int64 // soft limit before we changed it
	lowered bool
	passes  uint64
	recent  []Action // the latest actions, oldest first, at most cfg.KeepActions
}

func (o *optimizer) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		o.origGo = debug.SetMemoryLimit(-1)
		o.schedule(ctx)
	case *actor.Stopping:
		o.stopTimer()
		o.restore()
	case *actor.Restarting:
		o.stopTimer()
		o.restore()
	case *GetMemoryStats:
		ctx.Respond(o.stats())
	case *Optimize:
		res := o.optimize(ctx, o.stats())
		if ctx.Sender() != nil {
			ctx.Respond(res)
		}
	case *Tick:
		o.check(ctx)
	case *Configure:
		ctx.Respond(&Done{Err: o.configure(ctx, msg)})
	case actor.SystemMessage, actor.AutoReceiveMessage:
	default:
		ctx.Logger().Warn("memoryoptimizer: unknown message", slog.Any("type", msg))
	}
}

func (o *optimizer) stats() *MemoryStats {
	s := collect(&o.cfg, o.origGo)
	s.Threshold, s.Optimizations = o.cfg.Threshold, o.passes
	s.LastActions = append([]Action(nil), o.recent...) // the reply leaves the actor: a copy
	return &s
}

func (o *optimizer) check(ctx actor.Context) {
	if s := o.stats(); s.Utilization > o.cfg.Threshold {
		o.optimize(ctx, s)
	}
}

func (o *optimizer) configure(ctx actor.Context, c *Configure) error {
	if c.Threshold < 0 || c.Threshold > 1 {
		return ErrBadThreshold
	}
	if c.Threshold > 0 {
		o.cfg.Threshold = c.Threshold
		o.cfg.Target = min(o.cfg.Target, c.Threshold)
	}
	if c.Interval != 0 {
		o.cfg.Interval = c.Interval
		o.schedule(ctx)
	}
	return nil
}

// optimize runs one pass: lower the soft limit toward the target, GC and
// return memory to the OS, shrink, passivate until under target, report.
func (o *optimizer) optimize(ctx actor.Context, before *MemoryStats) *Optimized {
	o.passes++
	res := &Optimized{}
	act := func(kind, format string, args ...any) {
		a := Action{Kind: kind, Detail: fmt.Sprintf(format, args...), At: o.cfg.Clock()}
		res.Actions = append(res.Actions, a)
		o.remember(a)
		o.deps.Metrics.inc(kind)
		ctx.ActorSystem().EventStream.Publish(&a)
	}
	log := ctx.Logger()

	if before.Limit > 0 && before.Utilization > o.cfg.Threshold {
		target := max(int64(o.cfg.Target*float64(before.Limit)), o.cfg.MinSoftLimit)
		if cur := debug.SetMemoryLimit(-1); target < cur {
			debug.SetMemoryLimit(target)
			o.lowered = true
			act(KindSoftLimit, "soft memory limit %d -> %d bytes", cur, target)
		}
	}

	debug.FreeOSMemory() // forces a GC first
	after := o.stats()
	act(KindGC, "gc: used %d -> %d bytes", before.Used, after.Used)

	if o.deps.Shrinker != nil {
		c, cancel := context.WithTimeout(context.Background(), o.cfg.ActionTimeout)
		freed, err := o.deps.Shrinker.Shrink(c)
		cancel()
		if err != nil {
			log.Warn("memoryoptimizer: shrink", slog.Any("err", err))
		}
		act(KindShrink, "shrink freed %d bytes", freed)
	}

	if o.deps.Passivator != nil {
		total := 0
		for range o.cfg.MaxRounds {
			if s := o.stats(); s.Limit == 0 || s.Utilization <= o.cfg.Target {
				break
			}
			c, cancel := context.WithTimeout(context.Background(), o.cfg.ActionTimeout)
			n, err := o.deps.Passivator.PassivateIdle(c, o.cfg.PassivateBatch)
			cancel()
			if err != nil {
				log.Warn("memoryoptimizer: passivate", slog.Any("err", err))
			}
			if n <= 0 {
				break
			}
			total += n
			debug.FreeOSMemory()
		}
		if total > 0 {
			act(KindPassivate, "passivated %d idle sandboxes", total)
		}
	}

	if o.deps.Reporter != nil {
		c, cancel := context.WithTimeout(context.Background(), o.cfg.ActionTimeout)
		out, err := o.deps.Reporter.Outsized(c)
		cancel()
		if err != nil {
			log.Warn("memoryoptimizer: report", slog.Any("err", err))
		}
		for _, s := range out {
			act(KindReport, "sandbox %s: %d bytes, mailbox %d", s.ID, s.Bytes, s.Mailbox)
		}
	}

	if final := o.stats(); final.Used < before.Used {
		res.Freed = before.Used - final.Used
	}
	return res
}

// remember keeps a among the latest cfg.KeepActions actions.
func (o *optimizer) remember(a Action) {
	if len(o.recent) >= o.cfg.KeepActions {
		o.recent = append(o.recent[:0], o.recent[len(o.recent)-o.cfg.KeepActions+1:]...)
	}
	o.recent = append(o.recent, a)
}

// restore puts back the soft limit the process had before.
func (o *optimizer) restore() {
	if o.lowered {
		debug.SetMemoryLimit(o.origGo)
		o.lowered = false
	}
}

func (o *optimizer) schedule(ctx actor.Context) {
	o.stopTimer()
	if o.cfg.Interval <= 0 {
		return
	}
	o.cancel = scheduler.NewTimerScheduler(ctx.ActorSystem().Root).
		SendRepeatedly(o.cfg.Interval, o.cfg.Interval, ctx.Self(), &Tick{})
}

func (o *optimizer) stopTimer() {
	if o.cancel != nil {
		o.cancel()
		o.cancel = nil
	}
}

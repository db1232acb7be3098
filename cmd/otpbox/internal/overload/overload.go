// Package overload sheds a node's new work when its CPU is saturated, so
// that the work it admits stays fast.
//
// The signal is the Go scheduler's own latency (runtime/metrics'
// /sched/latencies:seconds: how long runnable goroutines waited for a
// CPU), read every Window. It rises when, and only when, the node has more
// to run than cores, whatever the cause (its own work, a load generator or
// another process on the same cores) and wherever the queue builds (in
// the kernel's socket buffers, in net/http's connection goroutines, in
// mailboxes), places a latency inside the node's own handlers cannot see.
// CockroachDB's admission control watches the same quantity (runnable
// goroutines per P).
//
// The controller is additive-increase, multiplicative-decrease on the
// share of new work refused: after Sustain windows in a row whose p99
// scheduling latency is over Target while calls queue in the node (at
// least MinQueued waiting), the share rises by Step (at most Max); a
// window under Target/2 lowers it by a tenth. A refused request costs the
// node an HTTP exchange and no sandbox work: the node answers 429 with
// Retry-After before it authenticates or reads the body.
package overload

import (
	"math"
	"math/rand/v2"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of Config.
const (
	DefaultTarget  = 10 * time.Millisecond
	DefaultWindow  = 50 * time.Millisecond
	DefaultSustain = 2
	DefaultStep    = 0.15
	DefaultMax     = 0.95
	// DefaultMinQueued is Config.MinQueued's default.
	DefaultMinQueued = 256
)

// Config configures a Shedder; zero fields mean the defaults.
type Config struct {
	// Target is the p99 scheduling latency above which the node is
	// overloaded. Negative disables shedding.
	Target time.Duration
	// Window is how often the latency is read.
	Window time.Duration
	// Sustain is how many windows in a row must be over Target before
	// the share refused rises: a short burst (a GC, a compaction) does
	// not refuse anything.
	Sustain int
	// Step is what the share refused rises by; Max is its ceiling.
	Step, Max float64
	// Queued returns how much work waits for a CPU (default: the
	// runtime's runnable goroutines, /sched/goroutines/runnable): the
	// share refused rises only while at least MinQueued (default
	// DefaultMinQueued) wait. A saturated CPU with little waiting (a
	// closed-loop client, a batch job beside the node) is not helped by
	// refusals: the waits are short already.
	Queued    func() int
	MinQueued int
	// Sample returns the scheduler latency histogram (tests); default
	// runtime/metrics.
	Sample func() *metrics.Float64Histogram
}

func (c Config) withDefaults() Config {
	if c.Target == 0 {
		c.Target = DefaultTarget
	}
	if c.Window <= 0 {
		c.Window = DefaultWindow
	}
	if c.Sustain <= 0 {
		c.Sustain = DefaultSustain
	}
	if c.Step <= 0 {
		c.Step = DefaultStep
	}
	if c.Max <= 0 || c.Max > 1 {
		c.Max = DefaultMax
	}
	if c.Sample == nil {
		c.Sample = readSchedLatencies
	}
	if c.Queued == nil {
		c.Queued = runnableGoroutines
	}
	if c.MinQueued <= 0 {
		c.MinQueued = DefaultMinQueued
	}
	return c
}

// Shedder decides which new work to refuse. Its methods are safe for
// concurrent use; Start's goroutine runs until Stop.
type Shedder struct {
	cfg   Config
	share atomic.Uint64 // math.Float64bits of the share refused
	shed  atomic.Uint64 // requests refused
	p99   atomic.Int64  // the last window's p99, ns

	// Owned by the controller goroutine.
	prev []uint64
	over int

	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
}

// New returns a Shedder; it refuses nothing until Start.
func New(cfg Config) *Shedder {
	return &Shedder{cfg: cfg.withDefaults(), stop: make(chan struct{}), done: make(chan struct{})}
}

// Start runs the controller until Stop. A Shedder whose Target is
// negative never starts one.
func (s *Shedder) Start() {
	if s.cfg.Target < 0 {
		close(s.done)
		return
	}
	s.observe() // the baseline
	go func() {
		defer close(s.done)
		t := time.NewTicker(s.cfg.Window)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				s.adjust(s.observe())
			}
		}
	}()
}

// Stop ends the controller and waits for it; nothing is refused after.
// It may be called more than once.
func (s *Shedder) Stop() {
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.done
	s.share.Store(0)
}

// Shed reports whether to refuse one request of new work, and counts it.
func (s *Shedder) Shed() bool {
	p := math.Float64frombits(s.share.Load())
	if p <= 0 || rand.Float64() >= p {
		return false
	}
	s.shed.Add(1)
	return true
}

// Stats is the controller's state.
type Stats struct {
	// Share is the share of new work refused now (0 to Max).
	Share float64
	// Shed counts the requests refused.
	Shed uint64
	// SchedP99 is the p99 scheduling latency of the last window.
	SchedP99 time.Duration
}

// Stats returns the controller's state.
func (s *Shedder) Stats() Stats {
	return Stats{Share: math.Float64frombits(s.share.Load()), Shed: s.shed.Load(), SchedP99: time.Duration(s.p99.Load())}
}

// adjust moves the share refused after a window whose p99 is p99.
func (s *Shedder) adjust(p99 time.Duration) {
	s.p99.Store(int64(p99))
	share := math.Float64frombits(s.share.Load())
	queued := s.cfg.Queued() >= s.cfg.MinQueued
	switch {
	case p99 > s.cfg.Target && queued:
		s.over++
		if s.over >= s.cfg.Sustain {
			share = min(s.cfg.Max, share+s.cfg.Step)
		}
	case p99 < s.cfg.Target/2:
		s.over = 0
		share *= 0.9
		if share < 0.01 {
			share = 0
		}
	default:
		s.over = 0
	}
	s.share.Store(math.Float64bits(share))
}

// observe returns the p99 of the scheduling latencies since the last
// call (0 when there were none).
func (s *Shedder) observe() time.Duration {
	h := s.cfg.Sample()
	if h == nil {
		return 0
	}
	counts := h.Counts
	if len(s.prev) != len(counts) {
		s.prev = make([]uint64, len(counts))
		copy(s.prev, counts)
		return 0
	}
	var total uint64
	for i, c := range counts {
		total += c - s.prev[i]
	}
	if total == 0 {
		return 0
	}
	// The smallest bucket bound under which 99% of the window's latencies
	// fall.
	want := total - total/100
	var seen uint64
	p99 := time.Duration(0)
	for i, c := range counts {
		seen += c - s.prev[i]
		if seen >= want {
			upper := h.Buckets[i+1]
			if math.IsInf(upper, 1) {
				upper = h.Buckets[i]
			}
			p99 = time.Duration(upper * float64(time.Second))
			break
		}
	}
	copy(s.prev, counts)
	return p99
}

const schedLatencies = "/sched/latencies:seconds"

func readSchedLatencies() *metrics.Float64Histogram {
	sample := []metrics.Sample{{Name: schedLatencies}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindFloat64Histogram {
		return nil
	}
	return sample[0].Value.Float64Histogram()
}

const runnable = "/sched/goroutines/runnable:goroutines"

// runnableGoroutines returns the goroutines waiting for a CPU, or a large
// number when the runtime does not say (the latency alone decides then).
func runnableGoroutines() int {
	sample := []metrics.Sample{{Name: runnable}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return math.MaxInt
	}
	return int(sample[0].Value.Uint64())
}

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
// When the latency stays over Target for Sustain windows in a row, the
// node is overloaded until a window under Target/2. Meanwhile the calls in
// progress are bounded by Little's law: at most Sojourn times the rate
// calls complete (never under MinLimit), so that an admitted call spends
// about Sojourn in the node, and the excess is refused at once. Refusing
// only the calls over that bound keeps the node doing as much as it can
// (an earlier controller refused a share of all new work, raised while
// the latency stayed high, and at 1.15 times capacity did a third less).
// A saturated CPU with few calls in progress (a closed-loop client, a
// batch job beside the node) refuses nothing: waits are short already.
// A refused request costs the node an HTTP exchange and no sandbox work:
// the node answers 429 with Retry-After before it authenticates or reads
// the body.
package overload

import (
	"math"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of Config.
const (
	DefaultTarget   = 10 * time.Millisecond
	DefaultWindow   = 50 * time.Millisecond
	DefaultSustain  = 4
	DefaultSojourn  = 50 * time.Millisecond
	DefaultMinLimit = 256
)

// Config configures a Shedder; zero fields mean the defaults.
type Config struct {
	// Target is the p99 scheduling latency above which the node is
	// overloaded. Negative disables shedding.
	Target time.Duration
	// Window is how often the latency is read.
	Window time.Duration
	// Sustain is how many windows in a row must be over Target before
	// the node is overloaded: a short burst (a GC, a compaction) does
	// not refuse anything.
	Sustain int
	// Sojourn is how long admitted calls are to stay in the node while
	// it is overloaded: the calls in progress are bounded to Sojourn
	// times the rate they complete at. MinLimit is the bound's floor.
	Sojourn  time.Duration
	MinLimit int
	// Calls returns the calls in progress and the count of calls
	// completed so far. Nil: nothing is ever refused.
	Calls func() (inFlight int, completed uint64)
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
	if c.Sojourn <= 0 {
		c.Sojourn = DefaultSojourn
	}
	if c.MinLimit <= 0 {
		c.MinLimit = DefaultMinLimit
	}
	if c.Sample == nil {
		c.Sample = readSchedLatencies
	}
	return c
}

// Shedder decides which new work to refuse. Its methods are safe for
// concurrent use; Start's goroutine runs until Stop.
type Shedder struct {
	cfg   Config
	limit atomic.Int64  // the calls in progress beyond which new work is refused; 0: none
	shed  atomic.Uint64 // requests refused
	p99   atomic.Int64  // the last window's p99, ns

	// Owned by the controller goroutine.
	prev      []uint64
	over      int     // windows in a row over Target
	completed uint64  // Calls' completed at the last window
	rate      float64 // calls completed per second, smoothed
	stopOnce  sync.Once
	stop      chan struct{}
	done      chan struct{}
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
	if s.cfg.Calls != nil {
		_, s.completed = s.cfg.Calls()
	}
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
	s.limit.Store(0)
}

// Shed reports whether to refuse one request of new work, and counts it.
func (s *Shedder) Shed() bool {
	limit := s.limit.Load()
	if limit == 0 {
		return false
	}
	if n, _ := s.cfg.Calls(); int64(n) < limit {
		return false
	}
	s.shed.Add(1)
	return true
}

// Stats is the controller's state.
type Stats struct {
	// Overloaded reports whether the node is overloaded now; Limit is
	// then the calls in progress beyond which new work is refused.
	Overloaded bool
	Limit      int
	// Shed counts the requests refused.
	Shed uint64
	// SchedP99 is the p99 scheduling latency of the last window.
	SchedP99 time.Duration
}

// Stats returns the controller's state.
func (s *Shedder) Stats() Stats {
	l := s.limit.Load()
	return Stats{Overloaded: l > 0, Limit: int(l), Shed: s.shed.Load(), SchedP99: time.Duration(s.p99.Load())}
}

// adjust updates the state after a window whose p99 is p99.
func (s *Shedder) adjust(p99 time.Duration) {
	s.p99.Store(int64(p99))
	if s.cfg.Calls == nil {
		return
	}
	_, completed := s.cfg.Calls()
	rate := float64(completed-s.completed) / s.cfg.Window.Seconds()
	s.completed = completed
	if s.rate == 0 {
		s.rate = rate
	} else {
		s.rate += (rate - s.rate) / 4
	}
	overloaded := s.limit.Load() > 0 // until a calm window
	switch {
	case p99 > s.cfg.Target:
		s.over++
		overloaded = overloaded || s.over >= s.cfg.Sustain
	case p99 < s.cfg.Target/2:
		s.over, overloaded = 0, false
	default:
		s.over = 0
	}
	if !overloaded {
		s.limit.Store(0)
		return
	}
	s.limit.Store(int64(max(s.cfg.MinLimit, int(s.rate*s.cfg.Sojourn.Seconds()))))
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

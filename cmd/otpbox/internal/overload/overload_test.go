package overload

import (
	"math"
	"runtime/metrics"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hist is a fake scheduler latency histogram: buckets at 1 ms, 10 ms,
// 100 ms and beyond; add records latencies.
type hist struct{ counts []uint64 }

var bounds = []float64{0, 0.001, 0.010, 0.100, math.Inf(1)}

func (h *hist) add(d time.Duration, n uint64) {
	for i := 1; i < len(bounds); i++ {
		if d.Seconds() < bounds[i] {
			h.counts[i-1] += n
			return
		}
	}
}

func (h *hist) sample() *metrics.Float64Histogram {
	return &metrics.Float64Histogram{Counts: append([]uint64(nil), h.counts...), Buckets: bounds}
}

// TestController: the share refused rises only after Sustain windows in
// a row over Target, by Step up to Max, and falls once the latency is
// low again; a burst of one window refuses nothing.
func TestController(t *testing.T) {
	h := &hist{counts: make([]uint64, 4)}
	s := New(Config{Target: 10 * time.Millisecond, Sustain: 2, Step: 0.25, Max: 0.5, Sample: h.sample, Queued: func() int { return 1000 }})
	s.observe()
	window := func(slow uint64) time.Duration {
		h.add(500*time.Microsecond, 1000-slow)
		h.add(50*time.Millisecond, slow)
		p99 := s.observe()
		s.adjust(p99)
		return p99
	}
	assert.Equal(t, time.Millisecond, window(5), "0.5% slow: p99 in the 1 ms bucket")
	assert.Zero(t, s.Stats().Share)

	assert.Equal(t, 100*time.Millisecond, window(50), "5% slow: p99 in the 100 ms bucket")
	assert.Zero(t, s.Stats().Share, "one window over is a burst")
	window(0)
	window(50)
	assert.Zero(t, s.Stats().Share, "the windows over must be in a row")
	window(50)
	assert.InDelta(t, 0.25, s.Stats().Share, 1e-9)
	window(50)
	window(50)
	assert.InDelta(t, 0.5, s.Stats().Share, 1e-9, "at most Max")
	window(0)
	assert.InDelta(t, 0.45, s.Stats().Share, 1e-9, "a calm window lowers it")
	for range 60 {
		window(0)
	}
	assert.Zero(t, s.Stats().Share, "and it ends at nothing refused")
	assert.Zero(t, s.Stats().Shed)
}

// TestShed: Shed refuses about the share it is at, and counts.
func TestShed(t *testing.T) {
	s := New(Config{})
	for range 1000 {
		require.False(t, s.Shed(), "nothing is refused before the node is overloaded")
	}
	s.share.Store(math.Float64bits(0.5))
	refused := 0
	for range 10_000 {
		if s.Shed() {
			refused++
		}
	}
	assert.InDelta(t, 5000, refused, 500)
	assert.EqualValues(t, refused, s.Stats().Shed)
}

// TestStartStop: the controller reads each window until Stop, which
// leaves nothing refused; a negative Target starts none.
func TestStartStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &hist{counts: make([]uint64, 4)}
		reads := 0
		s := New(Config{Target: 10 * time.Millisecond, Sustain: 1, Queued: func() int { return 1000 }, Sample: func() *metrics.Float64Histogram {
			reads++
			h.add(50*time.Millisecond, 100)
			return h.sample()
		}})
		s.Start()
		time.Sleep(5 * DefaultWindow)
		synctest.Wait()
		assert.Equal(t, 6, reads, "the baseline and one read a window")
		assert.Positive(t, s.Stats().Share)
		assert.Equal(t, 100*time.Millisecond, s.Stats().SchedP99)
		s.Stop()
		s.Stop()
		assert.Zero(t, s.Stats().Share)
		assert.False(t, s.Shed())

		off := New(Config{Target: -1, Sample: func() *metrics.Float64Histogram { t.Error("read while off"); return nil }})
		off.Start()
		off.Stop()
	})
}

// TestRuntimeSample: the runtime has the histogram this package reads.
func TestRuntimeSample(t *testing.T) {
	h := readSchedLatencies()
	require.NotNil(t, h)
	assert.Len(t, h.Buckets, len(h.Counts)+1)
}

// TestFewQueued: a saturated CPU with few calls in progress refuses
// nothing; the same with calls queuing does.
func TestFewQueued(t *testing.T) {
	h := &hist{counts: make([]uint64, 4)}
	queued := 10
	s := New(Config{Target: 10 * time.Millisecond, Sustain: 1, MinQueued: 64, Queued: func() int { return queued }, Sample: h.sample})
	s.observe()
	slow := func() {
		h.add(50*time.Millisecond, 100)
		s.adjust(s.observe())
	}
	slow()
	slow()
	assert.Zero(t, s.Stats().Share, "10 calls in progress: nothing to gain")
	queued = 500
	slow()
	assert.Positive(t, s.Stats().Share)
}

// TestRuntimeRunnable: the runtime says how many goroutines wait.
func TestRuntimeRunnable(t *testing.T) {
	assert.Less(t, runnableGoroutines(), math.MaxInt)
}

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

// calls is a fake of the node's call counts.
type calls struct {
	inFlight  int
	completed uint64
}

func (c *calls) get() (int, uint64) { return c.inFlight, c.completed }

// TestController: the node is overloaded only after Sustain windows in a
// row over Target, and until a window under Target/2; meanwhile the
// calls in progress are bounded to Sojourn times their completion rate,
// never under MinLimit.
func TestController(t *testing.T) {
	h := &hist{counts: make([]uint64, 4)}
	c := &calls{}
	s := New(Config{Target: 10 * time.Millisecond, Sustain: 2, Window: 50 * time.Millisecond,
		Sojourn: 100 * time.Millisecond, MinLimit: 64, Sample: h.sample, Calls: c.get})
	s.observe()
	window := func(slow uint64, done uint64) time.Duration {
		h.add(500*time.Microsecond, 1000-slow)
		h.add(50*time.Millisecond, slow)
		c.completed += done
		p99 := s.observe()
		s.adjust(p99)
		return p99
	}
	assert.Equal(t, time.Millisecond, window(5, 500), "0.5% slow: p99 in the 1 ms bucket")
	assert.False(t, s.Stats().Overloaded)

	assert.Equal(t, 100*time.Millisecond, window(50, 500), "5% slow: p99 in the 100 ms bucket")
	assert.False(t, s.Stats().Overloaded, "one window over is a burst")
	window(0, 500)
	window(50, 500)
	assert.False(t, s.Stats().Overloaded, "the windows over must be in a row")
	window(50, 500)
	st := s.Stats()
	require.True(t, st.Overloaded)
	assert.Equal(t, 1000, st.Limit, "10,000 calls/s × 100 ms")

	c.inFlight = 999
	assert.False(t, s.Shed(), "under the limit")
	c.inFlight = 1000
	assert.True(t, s.Shed(), "at the limit")
	assert.EqualValues(t, 1, s.Stats().Shed)

	window(50, 0)
	window(50, 0)
	window(50, 0)
	assert.Less(t, s.Stats().Limit, 1000, "the limit follows the completion rate")
	for range 20 {
		window(50, 0)
	}
	assert.Equal(t, 64, s.Stats().Limit, "never under MinLimit")

	window(20, 500) // p99 in the 100 ms bucket is still over; between Target/2 and Target holds
	assert.True(t, s.Stats().Overloaded)
	window(0, 500)
	assert.False(t, s.Stats().Overloaded, "a calm window ends it")
	c.inFlight = 1_000_000
	assert.False(t, s.Shed(), "nothing is refused when not overloaded")
}

// TestShedWithoutCalls: a Shedder that cannot count calls refuses nothing.
func TestShedWithoutCalls(t *testing.T) {
	h := &hist{counts: make([]uint64, 4)}
	s := New(Config{Sustain: 1, Sample: h.sample})
	s.observe()
	for range 3 {
		h.add(50*time.Millisecond, 100)
		s.adjust(s.observe())
	}
	assert.False(t, s.Stats().Overloaded)
	assert.False(t, s.Shed())
}

// TestStartStop: the controller reads each window until Stop, which
// leaves nothing refused; a negative Target starts none.
func TestStartStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &hist{counts: make([]uint64, 4)}
		reads := 0
		c := &calls{inFlight: 1000}
		s := New(Config{Target: 10 * time.Millisecond, Sustain: 1, Calls: c.get, Sample: func() *metrics.Float64Histogram {
			reads++
			h.add(50*time.Millisecond, 100)
			return h.sample()
		}})
		s.Start()
		time.Sleep(5 * DefaultWindow)
		synctest.Wait()
		assert.Equal(t, 6, reads, "the baseline and one read a window")
		assert.True(t, s.Stats().Overloaded)
		assert.True(t, s.Shed())
		assert.Equal(t, 100*time.Millisecond, s.Stats().SchedP99)
		s.Stop()
		s.Stop()
		assert.False(t, s.Stats().Overloaded)
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

package bench

import (
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Bounds of the latency histogram: 1 µs to 1 hour with 3 significant
// digits, so every reported percentile is within 0.1% of the measured
// value.
const (
	histMin    = 1                                   // µs
	histMax    = int64(time.Hour / time.Microsecond) // µs
	histDigits = 3
)

// latencies is an HDR histogram of request latencies in microseconds,
// with the failed requests counted by kind. It is safe for concurrent
// use.
type latencies struct {
	mu     sync.Mutex     // protects the fields below
	h      *hdr.Histogram // every request
	okh    *hdr.Histogram // the successful ones
	okMax  time.Duration
	errs   map[string]int
	ok     int
	first  string
	max    time.Duration // exact, where the histogram keeps 3 digits
	lastAt time.Time     // when the last request finished
}

func newLatencies() *latencies {
	return &latencies{h: hdr.New(histMin, histMax, histDigits), okh: hdr.New(histMin, histMax, histDigits), errs: make(map[string]int)}
}

// record adds one finished request: d from its scheduled send time to its
// answer, err its failure (nil for success), at when it finished.
func (l *latencies) record(d time.Duration, err error, at time.Time) {
	us := min(max(d.Microseconds(), histMin), histMax)
	l.mu.Lock()
	defer l.mu.Unlock()
	_ = l.h.RecordValue(us) // in range by construction
	l.max = max(l.max, d)
	if err != nil {
		if len(l.errs) == 0 && l.first == "" {
			l.first = err.Error()
		}
		l.errs[kindOf(err)]++
	} else {
		l.ok++
		_ = l.okh.RecordValue(us)
		l.okMax = max(l.okMax, d)
	}
	if at.After(l.lastAt) {
		l.lastAt = at
	}
}

// percentiles are a latency distribution in milliseconds.
type percentiles struct {
	P50MS  float64 `json:"p50_ms"`
	P90MS  float64 `json:"p90_ms"`
	P99MS  float64 `json:"p99_ms"`
	P999MS float64 `json:"p99_9_ms"`
	MaxMS  float64 `json:"max_ms"`
}

// percentiles returns those of every request.
func (l *latencies) percentiles() percentiles {
	l.mu.Lock()
	defer l.mu.Unlock()
	return quantiles(l.h, l.max)
}

// admitted returns the percentiles of the successful requests: what the
// requests a node admitted got, when it refused others (429).
func (l *latencies) admitted() percentiles {
	l.mu.Lock()
	defer l.mu.Unlock()
	return quantiles(l.okh, l.okMax)
}

func quantiles(h *hdr.Histogram, maxD time.Duration) percentiles {
	if h.TotalCount() == 0 {
		return percentiles{}
	}
	// The histogram answers the top of a value's bucket: never past the
	// exact maximum.
	q := func(p float64) float64 { return min(usToMS(h.ValueAtQuantile(p)), ms(maxD)) }
	return percentiles{P50MS: q(50), P90MS: q(90), P99MS: q(99), P999MS: q(99.9), MaxMS: ms(maxD)}
}

func usToMS(us int64) float64 { return float64(us) / 1000 }

package cache

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Stats is a snapshot of the cache's counters, with the design's JSON names
// (compile_cache_statistics). Rates are fractions of TotalRequests (Get
// calls) and are 0 when there were none.
type Stats struct {
	TotalRequests uint64                  `json:"total_requests"`
	Hits          uint64                  `json:"hits"`
	Misses        uint64                  `json:"misses"`
	HitRate       float64                 `json:"hit_rate"`
	L1HitRate     float64                 `json:"l1_hit_rate"`
	L2HitRate     float64                 `json:"l2_hit_rate"`
	L3HitRate     float64                 `json:"l3_hit_rate"`
	MissRate      float64                 `json:"miss_rate"`
	Tiers         map[string]TierSnapshot `json:"tiers"`
}

// TierSnapshot is one tier's part of Stats. Hits and Misses count lookups
// that reached the tier; HitRate is Hits/(Hits+Misses).
type TierSnapshot struct {
	TierStats
	Hits    uint64  `json:"hits"`
	Misses  uint64  `json:"misses"`
	Errors  uint64  `json:"errors"`
	HitRate float64 `json:"hit_rate"`
	// MeanLatency is the mean of the latency histogram (L1 sampled).
	MeanLatency time.Duration `json:"mean_latency_ns"`
	TierHealth
}

// TierHealth says whether a tier is being skipped after a failure.
type TierHealth struct {
	Degraded  bool      `json:"degraded"`
	LastError string    `json:"last_error,omitempty"`
	Since     time.Time `json:"since,omitzero"`
	RetryAt   time.Time `json:"retry_at,omitzero"`
}

// Health is the cache's health: OK unless a tier is degraded.
type Health struct {
	OK    bool                  `json:"ok"`
	Tiers map[string]TierHealth `json:"tiers"`
}

func rate(n, d uint64) float64 {
	if d == 0 {
		return 0
	}
	return float64(n) / float64(d)
}

// requests returns the number of Gets and of Gets no tier answered.
func (c *Cache) requests() (total, misses uint64) {
	for i := range c.reqs {
		total += c.reqs[i].total.Load()
		misses += c.reqs[i].misses.Load()
	}
	if c.l1 != nil {
		h, _, _ := c.tiers[0].sum()
		total += h
	}
	return total, misses
}

// Stats returns a snapshot of every configured tier's counters.
func (c *Cache) Stats() Stats {
	reqs, misses := c.requests()
	s := Stats{TotalRequests: reqs, Misses: misses, Hits: reqs - misses, Tiers: map[string]TierSnapshot{}}
	s.HitRate, s.MissRate = rate(s.Hits, reqs), rate(misses, reqs)
	for _, ts := range c.tiers {
		h, m, e := ts.sum()
		snap := TierSnapshot{TierStats: ts.t.Stats(), Hits: h, Misses: m, Errors: e,
			HitRate: rate(h, h+m), TierHealth: ts.health()}
		var d dto.Metric
		if ts.lat.Write(&d) == nil && d.GetHistogram().GetSampleCount() > 0 {
			hist := d.GetHistogram()
			snap.MeanLatency = time.Duration(hist.GetSampleSum() / float64(hist.GetSampleCount()) * 1e9)
		}
		s.Tiers[ts.id.String()] = snap
		switch ts.id {
		case L1Tier:
			s.L1HitRate = rate(h, reqs)
		case L2Tier:
			s.L2HitRate = rate(h, reqs)
		case L3Tier:
			s.L3HitRate = rate(h, reqs)
		}
	}
	return s
}

// Health reports which tiers are degraded.
func (c *Cache) Health() Health {
	h := Health{OK: true, Tiers: map[string]TierHealth{}}
	for _, ts := range c.tiers {
		th := ts.health()
		h.Tiers[ts.id.String()] = th
		h.OK = h.OK && !th.Degraded
	}
	return h
}

var (
	descRequests    = prometheus.NewDesc("otpbox_cache_requests_total", "Lookups that reached the tier (its hits and misses); the first tier's are every Get.", []string{"tier"}, nil)
	descHits        = prometheus.NewDesc("otpbox_cache_hits_total", "Lookups answered by the tier.", []string{"tier"}, nil)
	descMisses      = prometheus.NewDesc("otpbox_cache_misses_total", "Lookups the tier did not have.", []string{"tier"}, nil)
	descErrors      = prometheus.NewDesc("otpbox_cache_errors_total", "Tier operations that failed.", []string{"tier"}, nil)
	descEvictions   = prometheus.NewDesc("otpbox_cache_evictions_total", "Entries evicted to make room.", []string{"tier"}, nil)
	descExpirations = prometheus.NewDesc("otpbox_cache_expirations_total", "Entries dropped after their TTL.", []string{"tier"}, nil)
	descOversized   = prometheus.NewDesc("otpbox_cache_oversized_total", "Sets refused as too large for the tier.", []string{"tier"}, nil)
	descEntries     = prometheus.NewDesc("otpbox_cache_entries", "Entries in the tier (this node's part for L2).", []string{"tier"}, nil)
	descDegraded    = prometheus.NewDesc("otpbox_cache_degraded", "1 while the tier is skipped after a failure.", []string{"tier"}, nil)
)

// Describe implements prometheus.Collector: register a Cache to export the
// otpbox_cache_* metrics, labelled by tier only.
func (c *Cache) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRequests, descHits, descMisses, descErrors,
		descEvictions, descExpirations, descOversized, descEntries, descDegraded} {
		ch <- d
	}
	for _, ts := range c.tiers {
		ts.lat.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (c *Cache) Collect(ch chan<- prometheus.Metric) {
	for _, ts := range c.tiers {
		l := ts.id.String()
		h, m, e := ts.sum()
		ch <- prometheus.MustNewConstMetric(descRequests, prometheus.CounterValue, float64(h+m), l)
		st := ts.t.Stats()
		deg := 0.0
		if ts.degraded.Load() {
			deg = 1
		}
		ch <- prometheus.MustNewConstMetric(descHits, prometheus.CounterValue, float64(h), l)
		ch <- prometheus.MustNewConstMetric(descMisses, prometheus.CounterValue, float64(m), l)
		ch <- prometheus.MustNewConstMetric(descErrors, prometheus.CounterValue, float64(e), l)
		ch <- prometheus.MustNewConstMetric(descEvictions, prometheus.CounterValue, float64(st.Evictions), l)
		ch <- prometheus.MustNewConstMetric(descExpirations, prometheus.CounterValue, float64(st.Expirations), l)
		ch <- prometheus.MustNewConstMetric(descOversized, prometheus.CounterValue, float64(st.Oversized), l)
		ch <- prometheus.MustNewConstMetric(descEntries, prometheus.GaugeValue, float64(st.Entries), l)
		ch <- prometheus.MustNewConstMetric(descDegraded, prometheus.GaugeValue, deg, l)
		ts.lat.Collect(ch)
	}
}

var _ prometheus.Collector = (*Cache)(nil)

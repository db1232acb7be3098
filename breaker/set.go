package breaker

import (
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Set keeps a node's breakers by name, made on first use with the same
// Config (but the name). It is a prometheus.Collector of:
//
//	otpbox_breaker_state{breaker}          0 closed, 1 half-open, 2 open
//	otpbox_breaker_opened_total{breaker}   times it opened
//	otpbox_breaker_rejected_total{breaker} calls it refused
//
// It is safe for concurrent use.
type Set struct {
	cfg Config
	mu  sync.Mutex // protects m
	m   map[string]*Breaker
}

// NewSet returns an empty set whose breakers take cfg (Name aside).
func NewSet(cfg Config) *Set { return &Set{cfg: cfg, m: make(map[string]*Breaker)} }

// Get returns the breaker name, making it when needed.
func (s *Set) Get(name string) *Breaker {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.m[name]
	if !ok {
		cfg := s.cfg
		cfg.Name = name
		b = New(cfg)
		s.m[name] = b
	}
	return b
}

// Lookup returns the breaker name, if it was made.
func (s *Set) Lookup(name string) (*Breaker, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.m[name]
	return b, ok
}

// Status returns the state of the breakers whose name starts with
// prefix, sorted by name.
func (s *Set) Status(prefix string) []Status {
	s.mu.Lock()
	var out []Status
	for name, b := range s.m {
		if strings.HasPrefix(name, prefix) {
			out = append(out, b.Status())
		}
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b Status) int { return strings.Compare(a.Name, b.Name) })
	return out
}

var (
	descState    = prometheus.NewDesc("otpbox_breaker_state", "State of a circuit breaker: 0 closed, 1 half-open, 2 open.", []string{"breaker"}, nil)
	descOpened   = prometheus.NewDesc("otpbox_breaker_opened_total", "Times a circuit breaker opened.", []string{"breaker"}, nil)
	descRejected = prometheus.NewDesc("otpbox_breaker_rejected_total", "Calls a circuit breaker refused (failed fast).", []string{"breaker"}, nil)
)

// Describe implements prometheus.Collector.
func (s *Set) Describe(ch chan<- *prometheus.Desc) {
	ch <- descState
	ch <- descOpened
	ch <- descRejected
}

// Collect implements prometheus.Collector.
func (s *Set) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	bs := make([]*Breaker, 0, len(s.m))
	for _, b := range s.m {
		bs = append(bs, b)
	}
	s.mu.Unlock()
	for _, b := range bs {
		v := 0.0
		switch b.State() {
		case HalfOpen:
			v = 1
		case Open:
			v = 2
		}
		ch <- prometheus.MustNewConstMetric(descState, prometheus.GaugeValue, v, b.Name())
		ch <- prometheus.MustNewConstMetric(descOpened, prometheus.CounterValue, float64(b.opened.Load()), b.Name())
		ch <- prometheus.MustNewConstMetric(descRejected, prometheus.CounterValue, float64(b.rejected.Load()), b.Name())
	}
}

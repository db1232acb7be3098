package memoryoptimizer

import "github.com/prometheus/client_golang/prometheus"

// Metrics counts the optimizer's actions as otpbox_memory_actions_total{kind}.
type Metrics struct{ actions *prometheus.CounterVec }

// NewMetrics returns unregistered counters, every kind at zero so that
// the series exist from the first scrape; register Collector.
func NewMetrics() *Metrics {
	m := &Metrics{actions: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "otpbox_memory_actions_total",
		Help: "Memory optimizer actions taken, by kind.",
	}, []string{"kind"})}
	for _, k := range []string{KindSoftLimit, KindGC, KindShrink, KindPassivate, KindReport} {
		m.actions.WithLabelValues(k)
	}
	return m
}

// Collector returns the collector to register with a prometheus registry.
func (m *Metrics) Collector() prometheus.Collector { return m.actions }

func (m *Metrics) inc(kind string) { m.actions.WithLabelValues(kind).Inc() }

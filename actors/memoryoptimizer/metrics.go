package memoryoptimizer

import "github.com/prometheus/client_golang/prometheus"

// Metrics counts the optimizer's actions as otpbox_memory_actions_total{kind}.
type Metrics struct{ actions *prometheus.CounterVec }

// NewMetrics returns unregistered counters; register Collector.
func NewMetrics() *Metrics {
	return &Metrics{actions: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "otpbox_memory_actions_total",
		Help: "Memory optimizer actions taken, by kind.",
	}, []string{"kind"})}
}

// Collector returns the collector to register with a prometheus registry.
func (m *Metrics) Collector() prometheus.Collector { return m.actions }

func (m *Metrics) inc(kind string) { m.actions.WithLabelValues(kind).Inc() }

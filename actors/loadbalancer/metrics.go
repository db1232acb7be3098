package loadbalancer

import "github.com/prometheus/client_golang/prometheus"

// Metrics are a Balancer's prometheus metrics:
//
//	otpbox_loadbalancer_placements_total{node}   counter: activations placed
//	otpbox_loadbalancer_node_load{node}          gauge: sandboxes per weight
//	otpbox_loadbalancer_node_accepts{node}       gauge: 1 if the node takes new sandboxes
//	otpbox_loadbalancer_spread                   gauge: Distribution.Spread
//	otpbox_loadbalancer_rebalances_total         counter: rounds that attempted a move
//	otpbox_loadbalancer_migrations_total{result} counter: result moved or failed
//
// The gauges are refreshed whenever a Distribution is computed (every
// health check, every GetLoadDistribution, after a round). Register
// Collector with a registry; Metrics are safe for concurrent use.
type Metrics struct {
	placements *prometheus.CounterVec
	load       *prometheus.GaugeVec
	accepts    *prometheus.GaugeVec
	spread     prometheus.Gauge
	rounds     prometheus.Counter
	migrations *prometheus.CounterVec
}

// newMetrics returns unregistered metrics; the migration results are
// exported (at 0) from the start.
func newMetrics() *Metrics {
	m := &Metrics{
		placements: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "otpbox_loadbalancer_placements_total",
			Help: "Activations placed by the load balancer, by node.",
		}, []string{"node"}),
		load: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "otpbox_loadbalancer_node_load",
			Help: "Sandboxes per unit of capacity weight, by node.",
		}, []string{"node"}),
		accepts: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "otpbox_loadbalancer_node_accepts",
			Help: "1 if the node takes new sandboxes (passing, not draining), else 0.",
		}, []string{"node"}),
		spread: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "otpbox_loadbalancer_spread",
			Help: "Load spread among alive nodes: (max-min)/max of sandboxes per weight.",
		}),
		rounds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "otpbox_loadbalancer_rebalances_total",
			Help: "Rebalancing rounds that attempted at least one migration.",
		}),
		migrations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "otpbox_loadbalancer_migrations_total",
			Help: "Sandbox migrations attempted by rebalancing, by result (moved, failed).",
		}, []string{"result"}),
	}
	for _, r := range []string{"moved", "failed"} {
		m.migrations.WithLabelValues(r)
	}
	return m
}

// Collector returns one collector of all the metrics, to register with a
// prometheus registry.
func (m *Metrics) Collector() prometheus.Collector { return collectors{m} }

// forget drops node's series.
func (m *Metrics) forget(node string) {
	m.placements.DeleteLabelValues(node)
	m.load.DeleteLabelValues(node)
	m.accepts.DeleteLabelValues(node)
}

type collectors struct{ m *Metrics }

func (c collectors) all() []prometheus.Collector {
	return []prometheus.Collector{c.m.placements, c.m.load, c.m.accepts, c.m.spread, c.m.rounds, c.m.migrations}
}

func (c collectors) Describe(ch chan<- *prometheus.Desc) {
	for _, x := range c.all() {
		x.Describe(ch)
	}
}

func (c collectors) Collect(ch chan<- prometheus.Metric) {
	for _, x := range c.all() {
		x.Collect(ch)
	}
}

package scalability

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the manager's Prometheus collectors:
//
//	otpbox_scaling_operations_total{kind,result}    finished operations (succeeded, failed, cancelled)
//	otpbox_scaling_operation_duration_seconds{kind} how long they took (Deps.Clock)
//	otpbox_scaling_pending_operations{kind}         operations running now
//	otpbox_cluster_utilization                      utilization at the last check
type metrics struct {
	operations  *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	pending     *prometheus.GaugeVec
	utilization prometheus.Gauge
}

// newMetrics builds the collectors and registers them with reg (nil: none).
// Collectors already registered, by an earlier incarnation of the manager,
// are adopted.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		operations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "otpbox_scaling_operations_total",
			Help: "Finished scaling operations, by kind (scale_out, scale_in) and result (succeeded, failed, cancelled).",
		}, []string{"kind", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "otpbox_scaling_operation_duration_seconds",
			Help:    "Duration of finished scaling operations, by kind.",
			Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 600, 1200},
		}, []string{"kind"}),
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "otpbox_scaling_pending_operations",
			Help: "Scaling operations running now, by kind.",
		}, []string{"kind"}),
		utilization: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "otpbox_cluster_utilization",
			Help: "Cluster utilization (0..1) at the scalability manager's last check.",
		}),
	}
	// Every kind and result is exported (at 0) from the start.
	for _, k := range []Kind{ScaleOut, ScaleIn} {
		for _, r := range []string{"succeeded", "failed", "cancelled"} {
			m.operations.WithLabelValues(k.String(), r)
		}
		m.pending.WithLabelValues(k.String())
		m.duration.WithLabelValues(k.String())
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.operations, err = register(reg, m.operations); err != nil {
		return nil, err
	}
	if m.duration, err = register(reg, m.duration); err != nil {
		return nil, err
	}
	if m.pending, err = register(reg, m.pending); err != nil {
		return nil, err
	}
	if m.utilization, err = register(reg, m.utilization); err != nil {
		return nil, err
	}
	return m, nil
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, err
}

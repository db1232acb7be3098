package node

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/otpbox/otpbox/cmd/otpbox/internal/overload"
)

// TestOverloadMetrics: the gauges and the counter read the controller's
// state at scrape time.
func TestOverloadMetrics(t *testing.T) {
	st := overload.Stats{}
	reg := prometheus.NewRegistry()
	reg.MustRegister(overloadMetrics(func() overload.Stats { return st })...)
	const calm = `
# HELP otpbox_overload_active 1 while the node refuses part of its new work because its CPU is saturated (--overload-latency), else 0.
# TYPE otpbox_overload_active gauge
otpbox_overload_active 0
# HELP otpbox_overload_limit Sandbox calls in progress beyond which new work is refused while overloaded (0: not overloaded).
# TYPE otpbox_overload_limit gauge
otpbox_overload_limit 0
# HELP otpbox_overload_refused_total Requests of new work refused with 429 overloaded because the node's CPU was saturated.
# TYPE otpbox_overload_refused_total counter
otpbox_overload_refused_total 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(calm),
		"otpbox_overload_active", "otpbox_overload_limit", "otpbox_overload_refused_total"); err != nil {
		t.Error(err)
	}
	st = overload.Stats{Overloaded: true, Limit: 300, Shed: 7, SchedP99: 21 * time.Millisecond}
	const over = `
# HELP otpbox_overload_active 1 while the node refuses part of its new work because its CPU is saturated (--overload-latency), else 0.
# TYPE otpbox_overload_active gauge
otpbox_overload_active 1
# HELP otpbox_overload_limit Sandbox calls in progress beyond which new work is refused while overloaded (0: not overloaded).
# TYPE otpbox_overload_limit gauge
otpbox_overload_limit 300
# HELP otpbox_overload_refused_total Requests of new work refused with 429 overloaded because the node's CPU was saturated.
# TYPE otpbox_overload_refused_total counter
otpbox_overload_refused_total 7
# HELP otpbox_overload_sched_latency_p99_seconds p99 of the Go scheduling latency in the overload controller's last window (50 ms).
# TYPE otpbox_overload_sched_latency_p99_seconds gauge
otpbox_overload_sched_latency_p99_seconds 0.021
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(over)); err != nil {
		t.Error(err)
	}
}

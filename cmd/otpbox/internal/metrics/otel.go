package metrics

import (
	"context"
	"fmt"

	protometrics "github.com/asynkron/protoactor-go/metrics"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// MeterProvider returns an OpenTelemetry meter provider whose instruments
// are exported into the registry under the otpbox_ prefix: protoactor's
// protoactor_actor_spawn_count becomes
// otpbox_protoactor_actor_spawn_count_total. Unit suffixes, scope labels
// and target_info are left out. Call it at most once (the bridge
// registers one collector); shut the provider down after the actor
// system.
func (m *Metrics) MeterProvider() (*sdkmetric.MeterProvider, error) {
	exp, err := otelprom.New(
		otelprom.WithRegisterer(m.reg),
		otelprom.WithNamespace(Namespace),
		otelprom.WithoutUnits(),
		otelprom.WithoutScopeInfo(),
		otelprom.WithoutTargetInfo(),
	)
	if err != nil {
		return nil, fmt.Errorf("bridge opentelemetry metrics: %w", err)
	}
	return sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp)), nil
}

// protoactorCounters are protoactor's counters (name and description as
// protoactor creates them) that count events a healthy node may not have
// had yet.
var protoactorCounters = [][2]string{
	{"protoactor_actor_failure_count", "Number of actor failures"},
	{"protoactor_actor_restarted_count", "Number of actors restarts"},
	{"protoactor_actor_stopped_count", "Number of actors stopped"},
	{"protoactor_actor_spawn_count", "Number of actors spawn"},
	{"protoactor_deadletter_count", "Number of deadletters"},
	{"protoactor_futures_started_count", "Number of futures started"},
	{"protoactor_futures_completed_count", "Number of futures completed"},
	{"protoactor_futures_timed_out_count", "Number of futures timed out"},
}

// PrimeProtoactor starts protoactor's counters at zero for the actor
// system at address, so that their series exist from the first scrape
// (as otpbox_protoactor_…_total{address}) rather than after the first
// failure, stop or timed-out future. Call it after the actor system was
// created with the provider of MeterProvider installed globally.
func PrimeProtoactor(mp metric.MeterProvider, address string) {
	meter := mp.Meter(protometrics.LibName)
	attrs := metric.WithAttributes(attribute.String("address", address))
	for _, c := range protoactorCounters {
		counter, err := meter.Int64Counter(c[0], metric.WithDescription(c[1]), metric.WithUnit("1"))
		if err == nil {
			counter.Add(context.Background(), 0, attrs)
		}
	}
}

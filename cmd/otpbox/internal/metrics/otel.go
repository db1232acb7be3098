package metrics

import (
	"fmt"

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

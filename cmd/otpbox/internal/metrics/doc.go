// Package metrics is the node's Prometheus instrumentation: one registry
// (never the global default) holding every otpbox_* metric, the Go
// runtime and process collectors, and protoactor's OpenTelemetry metrics
// bridged in (otel.go). Metric names are in base units; labels come from
// small fixed sets, never a sandbox id.
package metrics

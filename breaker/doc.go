// Package breaker is otpbox's circuit breaker, the design's "Circuit
// Breakers", on github.com/sony/gobreaker: a dependency that fails
// Failures times in a row (the shared store, the cache's Redis tier, a
// remote member) is not called again for OpenFor; calls fail fast with an
// *OpenError that says when to come back (the HTTP API's 503
// circuit_open with Retry-After). Then Probes calls go through
// (half-open): one success closes the breaker, one failure opens it
// again.
//
// A Set keeps a node's breakers by name and exports them as Prometheus
// metrics; every change of state is logged.
package breaker

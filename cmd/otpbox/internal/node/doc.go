// Package node runs one otpbox node: an actor system whose own process
// tree is an OTP tree from the supervision package. The application
// supervisor (one_for_one) holds the admin listener, the sandbox host and
// the HTTP API, started in that order and stopped in reverse:
//
//	otpbox (one_for_one)
//	├── admin          pprof on loopback (when enabled)
//	├── sandbox_host   the Host's subtree
//	└── http           the /v1 API, /metrics
//
// The Host is a SandboxHost unless WithHost gives another: the sandbox
// package's grains on a single-member protoactor cluster on the node's
// actor system, with their journals in DataDir/sandboxes.db or Redis.
//
// Shutdown drains in order: readiness fails and new work is refused, the
// host passivates its sandboxes, the tree stops (HTTP first, finishing
// in-flight requests), the host closes (cluster member, store), then the
// actor system.
package node

// Package node runs one otpbox node: an actor system whose own process
// tree is an OTP tree from the supervision package. The application
// supervisor (one_for_one) holds, started in this order and stopped in
// reverse:
//
//	otpbox (one_for_one)
//	├── admin           pprof on loopback (when enabled)
//	├── cachemanager    the CacheManager
//	├── memoryoptimizer the MemoryOptimizer
//	├── sandbox_host    the Host's subtree
//	├── loadbalancer    the LoadBalancer (places new sandboxes)
//	├── scalability     the ScalabilityManager
//	└── http            the /v1 API, /metrics
//
// The Host is a SandboxHost unless WithHost gives another: the sandbox
// package's grains on a single-member protoactor cluster on the node's
// actor system, with their journals in the embedded Config.Journal (the
// wal store in DataDir/journal by default) or Redis; with
// Config.Consul, a member of a cluster whose membership is Consul's and
// whose placements and journals are in the shared Redis.
//
// Shutdown drains in order: readiness fails and new work is refused, the
// host hands its sandboxes to the other members (in a cluster) and
// passivates the rest, the tree stops (HTTP first, finishing in-flight
// requests), the nodes this one started for auto-scaling stop, the host
// closes (cluster member, Consul registration, store), then the actor
// system.
package node

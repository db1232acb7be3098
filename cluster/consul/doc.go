// Package consul is otpbox's cluster membership on a Consul agent. A
// Provider registers the node as an instance of the cluster's service,
// heartbeats it with the node's load, and watches the service to give
// every member the same view of the cluster (cluster.Membership). It also
// plugs into protoactor as its ClusterProvider. It replaces protoactor's
// clusterproviders/consul, which registers a new id per process, ignores
// forever a member that missed its TTL once, retries registration in a
// tight loop and never registers again after an agent restart.
//
// # Registration
//
// Each node registers one service instance with its local agent:
//
//	ID       Config.Node (stable across restarts of the node)
//	Name     Config.Cluster
//	Address  host:port of the node's protoactor remote
//	Tags     ["otpbox"]
//	Meta     api, slots, memory_bytes, cpus, version
//
// Because the id is the node's name and not a per-process id, a restarted
// node replaces its own entry: there is no critical ghost of the previous
// process waiting for DeregisterAfter.
//
// # Checks and what operators see
//
// The service carries two checks:
//
//   - "otpbox heartbeat" (otpbox:<node>:ttl), a TTL check the node updates
//     every Heartbeat. It turns critical when the node misses its TTL: the
//     process is dead, stopped or cut off from its agent. It is the check
//     that carries DeregisterCriticalServiceAfter (Config.DeregisterAfter),
//     so a node that stays dead is eventually removed.
//   - "otpbox readiness" (otpbox:<node>:ready), an HTTP check of
//     GET <API>/v1/health/ready every CheckInterval, registered only when
//     Config.API is set. 2xx is passing; 429 is warning (Consul maps it so
//     natively): the node is overloaded. Anything else is critical. It
//     starts as warning at each registration (alive, not yet known to
//     accept work) until Consul's first probe, within CheckInterval.
//
// A member's health is the worst of its service's checks, so in the Consul
// UI:
//
//   - passing: healthy, takes new sandboxes;
//   - warning: alive but takes no new sandboxes: overloaded (readiness
//     answered 429) or draining (heartbeat output starts with "draining");
//   - critical: missed heartbeats or down; other members treat it as gone.
//
// Node-level checks such as serfHealth are ignored: a sick agent must not
// take every member on its node down. A member that turns critical and then
// passes again (for example after a SIGSTOP and SIGCONT) is simply up again;
// nothing is blocked forever.
//
// The heartbeat's output is read by humans in the UI and parsed by the
// other members. Its first line is a summary, its second the node's
// cluster.Load as JSON:
//
//	ready · 12 active sandboxes · 3 passivated · backlog 0 · memory 45.1 MiB of 24.0 GiB (0.2%) · cpu 3% · latency 0.41 ms
//	otpbox-load: {"sandboxes":12,"passivated":3,"mailbox":0,…}
//
// Run the agents with check_update_interval = "0s": by default an agent
// syncs a check whose status did not change to the catalog only every 5
// minutes, so the other members would see stale load. With 0s every
// heartbeat with a new output is a catalog write (Heartbeat⁻¹ writes per
// member per second), fine for clusters of tens of nodes.
//
// # Failure detection
//
// A dead member is seen after at most TTL plus one blocking-query round
// trip (the watch starts at most one query per 50 ms, which also batches
// the changes of a busy cluster). The defaults (TTL 3 s, heartbeat 1 s) are conservative; TTL 1 s
// with a 250 ms heartbeat detects a dead member in about a second and is
// the recommended setting on a healthy network.
//
// # Failures of Consul
//
// Every call to Consul is retried with exponential backoff and jitter
// (100 ms doubling up to 5 s), never in a tight loop, and the log gets one
// line when Consul becomes unreachable and one when it is back. Calls time
// out too: a heartbeat after TTL, a blocking query 5 s after Consul should
// have answered, so a hung agent or a dead connection is retried. Start does
// not wait for Consul: with the agent down it returns at once and
// registration is retried in the background; Registered says when it
// succeeded. When a heartbeat finds that the agent no longer knows the
// check (the agent restarted and lost its state), the provider registers
// again at once. A failed watch keeps the last view: members are never
// dropped because Consul could not be asked.
//
// # protoactor
//
// StartMember reports to protoactor's MemberList only this member, once,
// with its kinds. protoactor blocks every member that ever left its
// topology forever (its remote blocklist never shrinks), so a member that
// missed one TTL could never rejoin. otpbox therefore places activations
// itself, on the members Members returns (see cluster.Directory and
// cluster.Placer), and protoactor only ever sees itself. StartClient starts
// the watch alone. protoactor's Cluster.Shutdown calls Shutdown only when
// graceful: after a non-graceful one, call Stop(false).
//
// # Lifecycle
//
// New validates the Config; Start (or StartMember or StartClient) starts
// the provider's goroutines: the heartbeat, the watch and the event
// dispatcher. Stop (or Shutdown) stops them and waits for them; a graceful
// stop then deregisters the service at once, so the others see the member
// leave immediately.
package consul

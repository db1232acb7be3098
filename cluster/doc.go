// Package cluster is otpbox's cluster layer on top of protoactor's: who the
// members are, and where each grain's single activation lives.
//
// Membership: a [Membership] lists the [Member]s with their health,
// capacity and load, and delivers node_up, node_down and node_updated
// [Event]s in order. [Static] is a single node; cluster/consul is the
// membership of a cluster through a Consul agent (stable service ids, a TTL
// heartbeat carrying the load, a readiness check, backoff and
// re-registration).
//
// Placement: a [Directory] is protoactor's IdentityLookup. On a single
// member ([NewDirectory]) it spawns every activation locally in O(1). In a
// cluster ([NewClusterDirectory]) each identity has one [Placement] in a
// shared [Registry] (Orleans' grain directory; [RedisRegistry] in
// production), changed only by compare-and-swap, so concurrent activations
// of one identity on different members agree on one winner, and removed
// when the identity ends ([Directory.Forget]; the sandbox store's Redis
// deletes it with the journal, [Directory.Forgotten]). A new
// activation goes where the [Placer] says (the LoadBalancer's strategy;
// [RoundRobin] by default); a placement on a member that is gone or
// draining moves on the next call. [Directory.Move] and [Directory.Drain]
// move live activations (passivate, then activate on the target), which
// is the [Migrator] that rebalancing and scale-in use. Members answer each
// other through a placement actor ([PlacementActor]) with the messages of
// cluster/clusterpb. [Directory.Warm] keeps activations of a kind spawned
// ahead of need, each told its identity by a [Bind] when taken.
//
// protoactor's own member list is told only about this member: it blocks
// every member that ever left its topology forever, so a member that
// stalled could never rejoin. Placement uses the Membership instead.
package cluster

// Package loadbalancer is the design's LoadBalancer GenServer
// (docs/performance.md) as a concurrency-safe
// core, Balancer, and a supervised protoactor actor that manages it.
//
// # Placement
//
// A Balancer implements cluster.Placer: the cluster calls Place on the hot
// path, under one mutex and without a round-trip to the actor. The
// strategies (Config.Strategy, SetStrategy; names as in the design's
// load_balancing_strategy) are round_robin; weighted_round_robin, nginx's
// smooth weighted round-robin over capacity weights (Capacity.Slots, else
// CPUs, else 1) and the default; least_connections; least_response_time;
// resource_based; and consistent_hash, rendezvous hashing of the identity
// with bounded load (no node takes a key once it holds ceil(1.25 ×
// average) sandboxes; the key walks on to the next node in its order).
// Strategy documents each. Between two reports of a node's load, every
// placement on it counts as one more sandbox and one more call in
// progress, so a burst does not pile onto the node that looked best at
// the last report.
//
// # Nodes, metrics and health
//
// The Balancer keeps per-node health, capacity and load. Load comes from
// ReportNodeMetrics (a cluster.Load) and from the membership; health from
// the membership's node_up, node_updated and node_down events or from
// NodeUp and NodeDown. A node that is down, overloaded (warning) or
// draining takes no placement.
//
// # Spread and rebalancing
//
// A node's load is its sandboxes per unit of capacity weight. The spread
// is (max − min) / max of that load over the alive, non-draining nodes, in
// [0, 1] (0 with fewer than two nodes or no sandboxes). When it exceeds
// Config.RebalanceThreshold (0.3), rebalancing is enabled, and the
// cooldown (1 min) since the last round has passed, a round moves
// sandboxes one at a time from the most to the least loaded node that
// accepts them, through the cluster.Migrator, until the spread is within
// the threshold, no move would help, or Config.MaxMovesPerRound (10)
// migrations were attempted (Balancer.Rebalance).
//
// # The actor
//
// The GenServer's public functions map to Client methods:
// report_node_metrics → ReportNodeMetrics (a cast), get_best_node →
// GetBestNode, get_load_distribution → GetLoadDistribution,
// trigger_rebalancing → TriggerRebalancing (waits for the round's result;
// send TriggerRebalancing for a cast), node_up/node_down → NodeUp/NodeDown,
// plus SetStrategy and SetRebalancing. The actor follows Deps.Membership
// (subscribed while it runs), checks health and balance every
// Config.HealthCheckInterval (5 s), and rebalances after a report, a
// node_down or a node_updated that leaves the load out of balance. It
// publishes *HealthChanged and *Rebalanced on the actor system's
// EventStream; Balancer.Metrics().Collector() exports prometheus metrics.
//
//	b, err := loadbalancer.NewBalancer(loadbalancer.Config{})
//	sup, err := supervision.Start(system, supervision.Spec{Name: "lb",
//		Children: []supervision.ChildSpec{loadbalancer.ChildSpec(b, loadbalancer.Deps{Membership: ms, Migrator: mig})}})
//	lb := loadbalancer.NewClient(system.Root, sup.Whereis(loadbalancer.ChildID))
//	node, err := b.Place(ctx, identity, candidates) // the hot path
package loadbalancer

// Package scalability is the design's ScalabilityManager GenServer
// (docs/performance.md) as a
// supervised protoactor actor that adds and removes otpbox nodes.
//
// The GenServer's public functions map to Client methods:
// get_cluster_status → GetClusterStatus, get_optimal_node_for_sandbox →
// GetOptimalNodeForSandbox, trigger_scale_out/trigger_scale_in →
// TriggerScaleOut/TriggerScaleIn, the :check_capacity tick →
// TriggerScaleCheck, plus SetConfig, GetConfig and History.
//
// # Utilization
//
// The manager reads members, their Capacity and their Load from a
// cluster.Membership. Serving members are alive (passing or warning) and
// not draining. The cluster's utilization is the largest of three figures
// over them (see Utilization): Σ sandboxes / Σ slots, memory used over
// memory (the capacity-weighted mean of Load.Memory) and CPU used over CPUs.
// It is the resource that runs out first, in 0..1.
//
// # Capacity checks
//
// Every Config.CheckInterval (30 s) the manager compares the utilization
// with the thresholds, the design's check_and_adjust_capacity:
//
//   - ≥ ImmediateThreshold (0.95): scale out, ignoring the cooldown. A
//     membership event (a member's load changed) also triggers this check.
//   - fewer nodes than MinNodes: scale out to MinNodes.
//   - ≥ ScaleOutThreshold (0.8): scale out by ScaleOutStep nodes.
//   - ≤ ScaleInThreshold (0.3): scale in by ScaleInStep nodes, unless the
//     nodes left would then be at ScaleOutThreshold or above.
//
// An operation starts only with a Provider (and, with Config.LeaderOnly,
// only on the leader: the alive member with the smallest name, the design's
// determine_cluster_leader), within MinNodes..MaxNodes, after
// Cooldown (5 min) since the last operation finished, and never while an
// operation of the same kind is pending (a scale-in never starts while any
// operation is pending). Each check's outcome is a *Decision, replied to
// TriggerScaleCheck and published on the actor system's EventStream.
//
// # Operations
//
// Provider calls never block the mailbox: each operation runs on a
// goroutine the manager owns, with a context cancelled when the manager
// stops (which waits for the goroutine) or after OperationTimeout, and
// reports its phases and its end as messages. Running operations are
// ClusterStatus.PendingOperations; finished ones, with their start and
// finish times, are the History. Each change is an *Operation published on
// the EventStream.
//
// A scale-out calls Provider.AddNodes and waits until the nodes it names
// are alive in the membership (JoinTimeout). A scale-in picks the serving
// nodes with the fewest sandboxes, never the manager's own (Config.Self),
// and for each in turn drains it through cluster.Migrator.Drain, waits
// until the membership shows it with 0 sandboxes (DrainTimeout), and only
// then calls Provider.RemoveNode. A node whose drain times out is not
// removed.
//
// # Providers
//
// ProcessProvider starts `otpbox node` processes on this host, each on a
// free 127.0.0.1 port, and stops them with SIGTERM (the node drains and
// leaves) then SIGKILL. CommandProvider runs an operator's command with
// `scale-out N` or `scale-in NAME`, for Nomad, Kubernetes or cloud
// autoscaling groups.
//
// # Placement
//
// GetOptimalNodeForSandbox filters the alive members that accept sandboxes
// and fit the Requirements (a free slot, the memory free, the CPU idle),
// then ranks them by the design's weighted score: free memory 0.3, idle CPU
// 0.3, free slots 0.3 (fractions of capacity) and locality 0.1 (the
// member's name or Deps.Zone is Requirements.Locality).
//
// # Metrics
//
// otpbox_scaling_operations_total{kind,result},
// otpbox_scaling_operation_duration_seconds{kind},
// otpbox_scaling_pending_operations{kind} and otpbox_cluster_utilization,
// registered with Deps.Registerer.
//
//	sup, _ := supervision.Start(system, supervision.Spec{Name: "scaling",
//		Children: []supervision.ChildSpec{scalability.ChildSpec(deps, scalability.DefaultConfig())}})
//	sm := scalability.NewClient(system.Root, sup.Whereis(scalability.ChildID))
package scalability

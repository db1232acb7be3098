package scalability

import (
	"fmt"
	"time"
)

// message seals the manager's vocabulary. Messages are local Go values.
type message interface{ isScalabilityMessage() }

// GetClusterStatus asks for the cluster's figures (design:
// get_cluster_status/0); the reply is *ClusterStatus.
type GetClusterStatus struct{}

// ClusterStatus answers GetClusterStatus, in the design's field names.
//
// Serving members are the alive members (passing or warning) that are not
// draining; TotalCapacity and the utilization are over them.
type ClusterStatus struct {
	// TotalNodes counts every known member, alive or not.
	TotalNodes int `json:"total_nodes"`
	// ActiveNodes counts the alive members (passing or warning), draining
	// ones included.
	ActiveNodes int `json:"active_nodes"`
	// DrainingNodes counts the alive members that are draining.
	DrainingNodes int `json:"draining_nodes"`
	// TotalCapacity is the sum of the serving members' sandbox slots
	// (members with unbounded slots add nothing).
	TotalCapacity int `json:"total_capacity"`
	// Sandboxes is the sum of the serving members' active sandboxes.
	Sandboxes int `json:"sandboxes"`
	// CurrentUtilization is Utilization.Max(): see Utilization.
	CurrentUtilization float64     `json:"current_utilization"`
	Utilization        Utilization `json:"utilization"`
	// PendingOperations are the operations running now, oldest first.
	PendingOperations []Operation `json:"pending_operations"`
	// LastScaleAction is when the last operation finished (zero: none
	// yet); the cooldown runs from it.
	LastScaleAction time.Time `json:"last_scale_action,omitzero"`
	// Leader is the alive member with the smallest name: with
	// Config.LeaderOnly, only its manager scales.
	Leader             string `json:"leader"`
	Self               string `json:"self"`
	AutoScalingEnabled bool   `json:"auto_scaling_enabled"`
}

// Utilization is the cluster's use of each resource over its serving
// members, each in 0..1:
//
//   - Sandboxes is Σ sandboxes / Σ slots over the members with bounded slots;
//   - Memory is the mean of Load.Memory weighted by Capacity.MemoryBytes
//     (so it is Σ used bytes / Σ memory);
//   - CPU is the mean of Load.CPU weighted by Capacity.CPUs.
//
// A weighted mean whose weights are all zero is the plain mean. The
// cluster's utilization, which scaling compares with the thresholds, is the
// largest of the three: the resource that runs out first.
type Utilization struct {
	Sandboxes float64 `json:"sandboxes"`
	Memory    float64 `json:"memory"`
	CPU       float64 `json:"cpu"`
}

// Max returns the largest of the three figures.
func (u Utilization) Max() float64 { return max(u.Sandboxes, u.Memory, u.CPU) }

// Requirements describe a sandbox to place.
type Requirements struct {
	// MemoryBytes the sandbox needs free on the member (0: any).
	MemoryBytes uint64 `json:"memory_bytes"`
	// CPU in cores the sandbox needs idle on the member (0: any).
	CPU float64 `json:"cpu"`
	// Locality prefers the member with this name or zone ("": none).
	Locality string `json:"locality"`
}

// String formats r for errors and logs.
func (r Requirements) String() string {
	s := fmt.Sprintf("memory %d bytes, cpu %g", r.MemoryBytes, r.CPU)
	if r.Locality != "" {
		s += ", locality " + r.Locality
	}
	return s
}

// GetOptimalNode asks for the member to place a sandbox on (design:
// get_optimal_node_for_sandbox/1); the reply is *OptimalNode.
type GetOptimalNode struct{ Requirements Requirements }

// OptimalNode answers GetOptimalNode: the member's name and its score, or
// Err (a *NoNodeError).
type OptimalNode struct {
	Node  string
	Score float64
	Err   error
}

// TriggerScaleCheck runs a capacity check now; the reply is the check's
// *Decision.
type TriggerScaleCheck struct{}

// TriggerScaleOut asks for a scale-out of Config.ScaleOutStep nodes (design:
// trigger_scale_out/1), within MaxNodes and the cooldown, whatever the
// utilization and even when auto-scaling is off. The reply is *Decision.
type TriggerScaleOut struct{ Reason string }

// TriggerScaleIn asks for a scale-in of Config.ScaleInStep nodes (design:
// trigger_scale_in/1), within MinNodes and the cooldown, whatever the
// utilization and even when auto-scaling is off. The reply is *Decision.
type TriggerScaleIn struct{ Reason string }

// SetConfig replaces the manager's policy; the reply is *Done with a
// *ConfigError for a config that makes no sense. A changed CheckInterval
// restarts the periodic check.
type SetConfig struct{ Config Config }

// GetConfig asks for the policy in force; the reply is *ConfigResult.
type GetConfig struct{}

// ConfigResult answers GetConfig, with defaults applied.
type ConfigResult struct{ Config Config }

// GetHistory asks for the finished operations; the reply is *HistoryResult.
type GetHistory struct{}

// HistoryResult answers GetHistory: the last Config.HistorySize finished
// operations, oldest first.
type HistoryResult struct{ Operations []Operation }

// Done answers commands that have no result; Err is nil on success.
type Done struct{ Err error }

// Tick is the periodic capacity check the manager sends itself every
// Config.CheckInterval. Its *Decision is published, not replied.
type Tick struct{}

// Kind is the kind of a scaling operation. The zero Kind is none.
type Kind uint8

// Operation kinds.
const (
	ScaleOut Kind = iota + 1
	ScaleIn
)

// String returns the design's name: scale_out, scale_in or none.
func (k Kind) String() string {
	switch k {
	case ScaleOut:
		return "scale_out"
	case ScaleIn:
		return "scale_in"
	}
	return "none"
}

// MarshalText encodes the kind as its String.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// State is the state of a scaling operation.
type State uint8

// Operation states.
const (
	// Running operations are pending: listed in ClusterStatus.
	Running State = iota
	Succeeded
	Failed
)

// String returns running, succeeded or failed.
func (s State) String() string {
	switch s {
	case Running:
		return "running"
	case Succeeded:
		return "succeeded"
	case Failed:
		return "failed"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// MarshalText encodes the state as its String.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Operation is one scale-out or scale-in. It is published on the actor
// system's EventStream when it starts, at each phase and when it finishes;
// the published value is a copy and is never changed. An operation running
// when the manager stops is cancelled and recorded nowhere but in
// otpbox_scaling_operations_total{result="cancelled"}.
type Operation struct {
	ID     string `json:"id"`
	Kind   Kind   `json:"kind"`
	Reason string `json:"reason"`
	// Count is the number of nodes to add or remove.
	Count int `json:"count"`
	// Nodes are, for a scale-in, the nodes chosen for removal; for a
	// scale-out, the nodes the provider added (once it returned).
	Nodes []string `json:"nodes,omitempty"`
	// Removed are the nodes a scale-in removed so far.
	Removed []string `json:"removed,omitempty"`
	State   State    `json:"state"`
	// Phase says what a running operation is doing (for example
	// "draining node-3").
	Phase      string    `json:"phase,omitempty"`
	Error      string    `json:"error,omitempty"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
}

// Duration is FinishedAt - StartedAt, 0 while running.
func (o Operation) Duration() time.Duration {
	if o.FinishedAt.IsZero() {
		return 0
	}
	return o.FinishedAt.Sub(o.StartedAt)
}

func (o Operation) clone() Operation {
	o.Nodes = append([]string(nil), o.Nodes...)
	o.Removed = append([]string(nil), o.Removed...)
	return o
}

// Decision is the outcome of a capacity check or of a TriggerScaleOut or
// TriggerScaleIn request, replied and published on the actor system's
// EventStream (the design's "Triggering scale out" and "Scale out skipped"
// logs), before the *Operation it started. Decisions of TriggerScaleCheck,
// Tick, TriggerScaleOut and TriggerScaleIn are always published; those of
// checks triggered by membership events and placements only when they
// start an operation.
type Decision struct {
	// Kind is the operation the utilization calls for (none within the
	// thresholds).
	Kind Kind
	// Reason is why: high_utilization, immediate_capacity_needed,
	// low_utilization, below_min_nodes, no_suitable_node, within_thresholds,
	// or the reason of a TriggerScaleOut/TriggerScaleIn request.
	Reason string
	// Utilization is the cluster's utilization at the check.
	Utilization float64
	// Operation is the operation started, nil if none.
	Operation *Operation
	// Skipped says why a wanted operation did not start (ErrCooldown,
	// ErrPending, ErrMaxNodes, …; match with errors.Is); nil otherwise.
	Skipped error
	At      time.Time
}

// String formats d for logs.
func (d *Decision) String() string {
	switch {
	case d.Operation != nil:
		return fmt.Sprintf("%s %d (%s, utilization %.2f): started %s", d.Kind, d.Operation.Count, d.Reason, d.Utilization, d.Operation.ID)
	case d.Skipped != nil:
		return fmt.Sprintf("%s (%s, utilization %.2f) skipped: %v", d.Kind, d.Reason, d.Utilization, d.Skipped)
	}
	return fmt.Sprintf("no scaling (%s, utilization %.2f)", d.Reason, d.Utilization)
}

// opProgress reports a running operation's new phase from its goroutine,
// and its nodes so far when not nil (added by a scale-out, removed by a
// scale-in).
type opProgress struct {
	id, phase string
	nodes     []string
}

// opFinished reports the end of an operation from its goroutine.
type opFinished struct {
	id    string
	nodes []string // scale-out: added; scale-in: removed
	err   error
}

// membershipChanged tells the manager a member's health or load changed.
type membershipChanged struct{}

func (*GetClusterStatus) isScalabilityMessage()  {}
func (*ClusterStatus) isScalabilityMessage()     {}
func (*GetOptimalNode) isScalabilityMessage()    {}
func (*OptimalNode) isScalabilityMessage()       {}
func (*TriggerScaleCheck) isScalabilityMessage() {}
func (*TriggerScaleOut) isScalabilityMessage()   {}
func (*TriggerScaleIn) isScalabilityMessage()    {}
func (*SetConfig) isScalabilityMessage()         {}
func (*GetConfig) isScalabilityMessage()         {}
func (*ConfigResult) isScalabilityMessage()      {}
func (*GetHistory) isScalabilityMessage()        {}
func (*HistoryResult) isScalabilityMessage()     {}
func (*Done) isScalabilityMessage()              {}
func (*Tick) isScalabilityMessage()              {}
func (*Operation) isScalabilityMessage()         {}
func (*Decision) isScalabilityMessage()          {}
func (*opProgress) isScalabilityMessage()        {}
func (*opFinished) isScalabilityMessage()        {}
func (*membershipChanged) isScalabilityMessage() {}

var _ = []message{(*GetClusterStatus)(nil), (*ClusterStatus)(nil), (*GetOptimalNode)(nil), (*OptimalNode)(nil),
	(*TriggerScaleCheck)(nil), (*TriggerScaleOut)(nil), (*TriggerScaleIn)(nil), (*SetConfig)(nil), (*GetConfig)(nil),
	(*ConfigResult)(nil), (*GetHistory)(nil), (*HistoryResult)(nil), (*Done)(nil), (*Tick)(nil),
	(*Operation)(nil), (*Decision)(nil), (*opProgress)(nil), (*opFinished)(nil), (*membershipChanged)(nil)}

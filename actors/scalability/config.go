package scalability

import (
	"time"
)

// Defaults, the design's where it has one ("Scalability Strategy",
// "Configuration").
const (
	DefaultMinNodes           = 2
	DefaultMaxNodes           = 20
	DefaultScaleOutThreshold  = 0.8
	DefaultScaleInThreshold   = 0.3
	DefaultImmediateThreshold = 0.95
	DefaultScaleOutStep       = 1
	DefaultScaleInStep        = 1
	DefaultCheckInterval      = 30 * time.Second
	DefaultCooldown           = 5 * time.Minute
	DefaultDrainTimeout       = 2 * time.Minute
	DefaultJoinTimeout        = 2 * time.Minute
	DefaultOperationTimeout   = 15 * time.Minute
	DefaultHistorySize        = 64
)

// Config is the manager's scaling policy, in the design's names. Start from
// DefaultConfig: a zero numeric field means its default, but a zero
// AutoScalingEnabled means off.
//
// Counts of nodes (MinNodes, MaxNodes and the steps) count alive members,
// minus nodes being removed, plus nodes being added.
type Config struct {
	// AutoScalingEnabled lets periodic checks, membership events and
	// placements that find no node start operations (DefaultConfig: true).
	// Off, checks still compute and report decisions, and explicit
	// TriggerScaleOut/TriggerScaleIn still act.
	AutoScalingEnabled bool `json:"auto_scaling_enabled"`
	// MinNodes is the fewest nodes a scale-in leaves (default 2; 1 suits a
	// single machine). Below it a check scales out.
	MinNodes int `json:"min_nodes"`
	// MaxNodes is the most nodes a scale-out makes (default 20).
	MaxNodes int `json:"max_nodes"`
	// ScaleOutThreshold: a check at or above this utilization scales out
	// (default 0.8).
	ScaleOutThreshold float64 `json:"scale_out_threshold"`
	// ScaleInThreshold: a check at or below this utilization scales in
	// (default 0.3).
	ScaleInThreshold float64 `json:"scale_in_threshold"`
	// ImmediateThreshold: at or above this utilization a scale-out ignores
	// the cooldown, and a membership event triggers a check (default 0.95).
	ImmediateThreshold float64 `json:"immediate_threshold"`
	// ScaleOutStep and ScaleInStep are the nodes one operation adds or
	// removes (default 1 each), clamped to MaxNodes and MinNodes.
	ScaleOutStep int `json:"scale_out_step"`
	ScaleInStep  int `json:"scale_in_step"`
	// CheckInterval between periodic capacity checks (default 30 s);
	// negative disables them (TriggerScaleCheck still works).
	CheckInterval time.Duration `json:"check_interval"`
	// Cooldown is the least time between the end of one operation and the
	// start of the next (default 5 min); negative means none.
	Cooldown time.Duration `json:"cooldown"`
	// DrainTimeout bounds the wait for a drained node to reach 0 sandboxes
	// (default 2 min).
	DrainTimeout time.Duration `json:"drain_timeout"`
	// JoinTimeout bounds the wait for added nodes to be alive in the
	// membership (default 2 min); negative skips the wait.
	JoinTimeout time.Duration `json:"join_timeout"`
	// OperationTimeout bounds a whole operation, provider calls included
	// (default 15 min).
	OperationTimeout time.Duration `json:"operation_timeout"`
	// Self is the name of the node the manager runs on, which is never
	// removed (default: Deps.Membership.Self()).
	Self string `json:"self"`
	// LeaderOnly makes only the leader act: the alive member with the
	// smallest name (the design's determine_cluster_leader). Set it when
	// every node runs a manager with the same provider (a CommandProvider);
	// leave it off when one node has the provider (a ProcessProvider).
	LeaderOnly bool `json:"leader_only"`
	// HistorySize bounds the finished operations kept (default 64).
	HistorySize int `json:"history_size"`
}

// DefaultConfig returns the design's defaults, auto-scaling on.
func DefaultConfig() Config {
	return Config{AutoScalingEnabled: true}.withDefaults()
}

// orDefault sets *v to d when it is zero.
func orDefault[T comparable](v *T, d T) {
	var zero T
	if *v == zero {
		*v = d
	}
}

func (c Config) withDefaults() Config {
	orDefault(&c.MinNodes, DefaultMinNodes)
	orDefault(&c.MaxNodes, DefaultMaxNodes)
	orDefault(&c.ScaleOutThreshold, DefaultScaleOutThreshold)
	orDefault(&c.ScaleInThreshold, DefaultScaleInThreshold)
	orDefault(&c.ImmediateThreshold, DefaultImmediateThreshold)
	orDefault(&c.ScaleOutStep, DefaultScaleOutStep)
	orDefault(&c.ScaleInStep, DefaultScaleInStep)
	orDefault(&c.CheckInterval, DefaultCheckInterval)
	orDefault(&c.Cooldown, DefaultCooldown)
	orDefault(&c.DrainTimeout, DefaultDrainTimeout)
	orDefault(&c.JoinTimeout, DefaultJoinTimeout)
	orDefault(&c.OperationTimeout, DefaultOperationTimeout)
	orDefault(&c.HistorySize, DefaultHistorySize)
	return c
}

// Validate reports the first field of c, with defaults applied, that makes
// no sense, as a *ConfigError: counts below 1, MinNodes > MaxNodes,
// thresholds outside (0, 1] or not ScaleIn < ScaleOut ≤ Immediate, a
// negative DrainTimeout or OperationTimeout.
func (c Config) Validate() error {
	c = c.withDefaults()
	bad := func(field string, v any, reason string) error {
		return &ConfigError{Field: field, Value: v, Reason: reason}
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"min_nodes", c.MinNodes}, {"max_nodes", c.MaxNodes}, {"scale_out_step", c.ScaleOutStep},
		{"scale_in_step", c.ScaleInStep}, {"history_size", c.HistorySize}} {
		if f.v < 1 {
			return bad(f.name, f.v, "must be at least 1")
		}
	}
	if c.MinNodes > c.MaxNodes {
		return bad("min_nodes", c.MinNodes, "more than max_nodes")
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"scale_in_threshold", c.ScaleInThreshold}, {"scale_out_threshold", c.ScaleOutThreshold},
		{"immediate_threshold", c.ImmediateThreshold}} {
		if !(f.v > 0 && f.v <= 1) { // also catches NaN
			return bad(f.name, f.v, "must be in (0, 1]")
		}
	}
	if c.ScaleInThreshold >= c.ScaleOutThreshold {
		return bad("scale_in_threshold", c.ScaleInThreshold, "not below scale_out_threshold")
	}
	if c.ScaleOutThreshold > c.ImmediateThreshold {
		return bad("scale_out_threshold", c.ScaleOutThreshold, "above immediate_threshold")
	}
	if c.DrainTimeout < 0 {
		return bad("drain_timeout", c.DrainTimeout, "negative")
	}
	if c.OperationTimeout < 0 {
		return bad("operation_timeout", c.OperationTimeout, "negative")
	}
	return nil
}

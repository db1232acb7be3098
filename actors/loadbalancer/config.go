package loadbalancer

import (
	"math"
	"time"
)

// Defaults for a zero Config: the design's load-balancing settings
// (load_balancing_strategy, health_check_interval, rebalancing_enabled,
// @rebalance_threshold, rebalance_cooldown) and ours.
const (
	DefaultHealthCheckInterval = 5 * time.Second
	DefaultRebalanceThreshold  = 0.3
	DefaultRebalanceCooldown   = time.Minute
	DefaultMaxMovesPerRound    = 10
	DefaultHashLoadFactor      = 1.25
	DefaultActionTimeout       = 30 * time.Second
)

// Config configures a Balancer and its actor. The zero value works: every
// zero field takes the default named in its comment.
type Config struct {
	// Strategy places activations; default DefaultStrategy
	// (weighted_round_robin). Parse config names with ParseStrategy.
	Strategy Strategy
	// HealthCheckInterval is the period of the actor's health and
	// rebalance check; default DefaultHealthCheckInterval (5 s); negative
	// disables the periodic check.
	HealthCheckInterval time.Duration
	// RebalancingEnabled switches automatic and triggered rebalancing;
	// nil means the default, true.
	RebalancingEnabled *bool
	// RebalanceThreshold is the spread (see Distribution.Spread) above
	// which the load is rebalanced, in (0, 1]; default
	// DefaultRebalanceThreshold (0.3).
	RebalanceThreshold float64
	// RebalanceCooldown is the least time between the start of a round
	// that moved (or tried to move) a sandbox and the next round; default
	// DefaultRebalanceCooldown (1 min, the design's 60_000 ms); negative
	// means no cooldown.
	RebalanceCooldown time.Duration
	// MaxMovesPerRound bounds the migrations a round attempts; default
	// DefaultMaxMovesPerRound (10).
	MaxMovesPerRound int
	// HashLoadFactor is c of consistent hashing with bounded load: no node
	// takes a key once it holds ceil(c × average) sandboxes. At least 1;
	// default DefaultHashLoadFactor (1.25); +Inf means plain rendezvous
	// hashing.
	HashLoadFactor float64
	// ActionTimeout bounds each Migrator call of a round; default
	// DefaultActionTimeout (30 s).
	ActionTimeout time.Duration
	// Clock is the time of cooldowns and reports; default time.Now.
	Clock func() time.Time
}

// withDefaults returns c with its zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.Strategy == "" {
		c.Strategy = DefaultStrategy
	}
	if c.HealthCheckInterval == 0 {
		c.HealthCheckInterval = DefaultHealthCheckInterval
	}
	if c.RebalancingEnabled == nil {
		c.RebalancingEnabled = new(true)
	}
	if c.RebalanceThreshold == 0 {
		c.RebalanceThreshold = DefaultRebalanceThreshold
	}
	if c.RebalanceCooldown == 0 {
		c.RebalanceCooldown = DefaultRebalanceCooldown
	}
	if c.MaxMovesPerRound == 0 {
		c.MaxMovesPerRound = DefaultMaxMovesPerRound
	}
	if c.HashLoadFactor == 0 {
		c.HashLoadFactor = DefaultHashLoadFactor
	}
	if c.ActionTimeout == 0 {
		c.ActionTimeout = DefaultActionTimeout
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	return c
}

// Validate reports the first invalid field as a *ConfigError. Zero fields
// are valid: they take their defaults.
func (c Config) Validate() error {
	bad := func(field string, v any, err error) error { return &ConfigError{Field: field, Value: v, Err: err} }
	switch {
	case c.Strategy != "" && !c.Strategy.Valid():
		return bad("Strategy", c.Strategy, ErrUnknownStrategy)
	case math.IsNaN(c.RebalanceThreshold) || c.RebalanceThreshold < 0 || c.RebalanceThreshold > 1:
		return bad("RebalanceThreshold", c.RebalanceThreshold, ErrBadThreshold)
	case c.MaxMovesPerRound < 0:
		return bad("MaxMovesPerRound", c.MaxMovesPerRound, ErrNegative)
	case math.IsNaN(c.HashLoadFactor) || (c.HashLoadFactor != 0 && c.HashLoadFactor < 1):
		return bad("HashLoadFactor", c.HashLoadFactor, ErrBadLoadFactor)
	case c.ActionTimeout < 0:
		return bad("ActionTimeout", c.ActionTimeout, ErrNegative)
	}
	return nil
}

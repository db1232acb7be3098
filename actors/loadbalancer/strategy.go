package loadbalancer

import (
	"fmt"
	"strings"
)

// Strategy is a placement strategy, named as in the design's
// load_balancing_strategy setting.
type Strategy string

// The strategies. Every one picks among the candidates that accept
// activations; ties between equally good nodes are broken in turn (a
// rotating start), so equal nodes share the work.
const (
	// RoundRobin places on the candidates in turn, in name order.
	RoundRobin Strategy = "round_robin"
	// WeightedRoundRobin is nginx's smooth weighted round-robin over the
	// nodes' capacity weights (Capacity.Slots, else CPUs, else 1): a node
	// of weight w gets w of every Σw placements, interleaved. It is the
	// design's default.
	WeightedRoundRobin Strategy = "weighted_round_robin"
	// LeastConnections places on the node with the fewest calls in
	// progress (Load.Mailbox plus placements since its last report), ties
	// by fewest sandboxes.
	LeastConnections Strategy = "least_connections"
	// LeastResponseTime places on the node with the lowest Load.LatencyMS;
	// a node with no latency yet counts as the mean of the others. Ties by
	// fewest calls in progress.
	LeastResponseTime Strategy = "least_response_time"
	// ResourceBased places on the node with the lowest utilisation: the
	// mean of its memory (Load.Memory), its CPU (Load.CPU) and, when it
	// declares Capacity.Slots, its sandboxes over its slots. Ties by fewest
	// sandboxes.
	ResourceBased Strategy = "resource_based"
	// ConsistentHash places a key (the identity) on the node that ranks
	// highest for it by rendezvous hashing, with bounded load: a node that
	// already holds ceil(HashLoadFactor × average) sandboxes is skipped for
	// the next node in the key's order.
	ConsistentHash Strategy = "consistent_hash"
)

// DefaultStrategy is the strategy of a zero Config: the design's
// load_balancing_strategy default. (The cluster places with
// cluster.RoundRobin until a Balancer is set as its Placer.)
const DefaultStrategy = WeightedRoundRobin

var strategies = []Strategy{RoundRobin, WeightedRoundRobin, LeastConnections, LeastResponseTime,
	ResourceBased, ConsistentHash}

// Strategies returns every strategy, in the order of the design.
func Strategies() []Strategy { return append([]Strategy(nil), strategies...) }

// ParseStrategy returns the strategy named s. Case, a leading ':' (an
// Elixir atom, as in the design's config) and '-' for '_' are tolerated:
// "round_robin", ":round_robin" and "Round-Robin" are RoundRobin. An
// unknown name gives an error wrapping ErrUnknownStrategy.
func ParseStrategy(s string) (Strategy, error) {
	name := Strategy(strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(strings.TrimSpace(s), ":")), "-", "_"))
	if !name.Valid() {
		return "", fmt.Errorf("%w: %q", ErrUnknownStrategy, s)
	}
	return name, nil
}

// Valid reports whether s is one of the strategies.
func (s Strategy) Valid() bool {
	switch s {
	case RoundRobin, WeightedRoundRobin, LeastConnections, LeastResponseTime, ResourceBased, ConsistentHash:
		return true
	}
	return false
}

// String returns the strategy's config name.
func (s Strategy) String() string { return string(s) }

// MarshalText implements encoding.TextMarshaler.
func (s Strategy) MarshalText() ([]byte, error) { return []byte(s), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseStrategy, so
// config files can name a strategy.
func (s *Strategy) UnmarshalText(b []byte) error {
	v, err := ParseStrategy(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

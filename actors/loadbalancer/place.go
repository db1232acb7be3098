package loadbalancer

import (
	"context"
	"fmt"
	"math"

	"github.com/otpbox/otpbox/cluster"
)

// Place implements cluster.Placer: it returns the candidate that the
// current strategy picks for the activation of identity (the key of
// consistent_hash) and counts the placement on it. Candidates the balancer
// knows to be down, overloaded (warning) or draining are passed over; for
// a candidate whose health it does not know, the candidate's own health
// decides. A candidate's Capacity is kept while the balancer has none for
// the node, and its Load is used while no report came (a changed candidate
// Load counts as a report).
//
// Place never blocks on I/O and does not allocate; ctx is not used. With no
// eligible candidate the error wraps ErrNoNodes and cluster.ErrNoMembers.
func (b *Balancer) Place(ctx context.Context, identity string, candidates []cluster.Member) (string, error) {
	if len(candidates) == 0 {
		return "", noNodes(identity, 0)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	eligible := b.scratch[:0]
	for i, n := range b.resolve(candidates) {
		c := &candidates[i]
		if n.capacity == (cluster.Capacity{}) {
			n.capacity = c.Capacity
		}
		if !n.reported && n.load != c.Load {
			n.load, n.pending, n.moved = c.Load, 0, 0
		}
		if n.accepts() || (n.health == "" && c.Health == cluster.Passing && !n.load.Draining) {
			eligible = append(eligible, n)
		}
	}
	if len(eligible) == 0 {
		// The caller offers only busy members (Consul's warning: none
		// accepts): place on one of them rather than nowhere.
		for i, n := range b.resolve(candidates) {
			if c := &candidates[i]; c.Alive() && n.health != cluster.Critical && !c.Load.Draining && !n.load.Draining {
				eligible = append(eligible, n)
			}
		}
	}
	defer func() { clear(eligible); b.scratch = eligible[:0] }()
	if len(eligible) == 0 {
		return "", noNodes(identity, len(candidates))
	}
	n := b.pick(identity, eligible)
	b.record(n)
	return n.name, nil
}

// Best returns the node the current strategy picks for key among the nodes
// known to be up (passing and not draining), and counts the placement on it:
// the design's get_best_node. With none, the error wraps ErrNoNodes and
// cluster.ErrNoMembers.
func (b *Balancer) Best(key string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	eligible := b.scratch[:0]
	for _, n := range b.order {
		if n.accepts() {
			eligible = append(eligible, n)
		}
	}
	defer func() { clear(eligible); b.scratch = eligible[:0] }()
	if len(eligible) == 0 {
		return "", noNodes(key, len(b.order))
	}
	n := b.pick(key, eligible)
	b.record(n)
	return n.name, nil
}

// resolve returns the nodes of candidates, in order, adding unknown ones.
// The cluster offers the same candidates call after call, so the last
// resolution is kept and reused while the names match: comparing names is
// cheaper than a map lookup each.
func (b *Balancer) resolve(candidates []cluster.Member) []*node {
	if len(candidates) == len(b.lastNames) {
		same := true
		for i := range candidates {
			if candidates[i].Name != b.lastNames[i] {
				same = false
				break
			}
		}
		if same {
			return b.lastNodes
		}
	}
	b.lastNames, b.lastNodes = b.lastNames[:0], b.lastNodes[:0]
	for i := range candidates {
		b.lastNames = append(b.lastNames, candidates[i].Name)
		b.lastNodes = append(b.lastNodes, b.get(candidates[i].Name))
	}
	return b.lastNodes
}

func noNodes(key string, n int) error {
	return fmt.Errorf("place %q among %d nodes: %w (%w)", key, n, ErrNoNodes, cluster.ErrNoMembers)
}

func (b *Balancer) record(n *node) {
	n.pending++
	n.placed++
	n.placements.Inc()
}

// pick applies the strategy to eligible (non-empty, in name order).
func (b *Balancer) pick(key string, eligible []*node) *node {
	switch b.cfg.Strategy {
	case RoundRobin:
		n := eligible[b.rr%uint64(len(eligible))]
		b.rr++
		return n
	case LeastConnections:
		for _, n := range eligible {
			n.score, n.tiebreak = float64(n.conns()), n.sandboxes()
		}
		return b.lowest(eligible)
	case LeastResponseTime:
		sum, known := 0.0, 0
		for _, n := range eligible {
			if n.load.LatencyMS > 0 {
				sum += n.load.LatencyMS
				known++
			}
		}
		mean := 0.0
		if known > 0 {
			mean = sum / float64(known)
		}
		for _, n := range eligible {
			n.score, n.tiebreak = n.load.LatencyMS, n.conns()
			if n.score <= 0 {
				n.score = mean
			}
		}
		return b.lowest(eligible)
	case ResourceBased:
		for _, n := range eligible {
			n.score, n.tiebreak = n.utilisation(), n.sandboxes()
		}
		return b.lowest(eligible)
	case ConsistentHash:
		return b.hashed(key, eligible)
	default: // WeightedRoundRobin
		return smooth(eligible)
	}
}

// smooth is nginx's smooth weighted round-robin
// (ngx_http_upstream_get_peer): every node's current weight grows by its
// weight, the largest is picked (the first in name order on a tie) and
// loses the total. Weights 5, 1, 1 give a a b a c a a.
func smooth(eligible []*node) *node {
	var best *node
	total := int64(0)
	for _, n := range eligible {
		w := int64(n.weight())
		n.current += w
		total += w
		if best == nil || n.current > best.current {
			best = n
		}
	}
	best.current -= total
	return best
}

// lowest returns the node with the lowest (score, tiebreak); among equal
// nodes, the first from a start that rotates with every pick.
func (b *Balancer) lowest(eligible []*node) *node {
	k := len(eligible)
	start := int(b.tie % uint64(k))
	b.tie++
	best := eligible[start]
	for i := 1; i < k; i++ {
		n := eligible[(start+i)%k]
		if n.score < best.score || (n.score == best.score && n.tiebreak < best.tiebreak) {
			best = n
		}
	}
	return best
}

// hashed is rendezvous (highest random weight) hashing with bounded load
// (Mirrokni, Thorup and Zadimoghaddam, "Consistent Hashing with Bounded
// Loads"): the eligible nodes are ranked by mix64(hash(key) ^ hash(node))
// and the key goes to the first in rank whose sandboxes are below
// ceil(c × (total+1) / n), c being HashLoadFactor. Since the least loaded
// node is always below that bound, a node is always found; removing a node
// only moves the keys it held (unless the others reach their bound).
func (b *Balancer) hashed(key string, eligible []*node) *node {
	kh := fnv1a64(key)
	total := 0
	for _, n := range eligible {
		n.rank = mix64(kh ^ n.hash)
		total += n.sandboxes()
	}
	bound := math.MaxInt
	if c := b.cfg.HashLoadFactor; !math.IsInf(c, 1) {
		bound = int(math.Ceil(c * float64(total+1) / float64(len(eligible))))
	}
	b.gen++
	for {
		var best *node
		for _, n := range eligible {
			if n.skipped != b.gen && (best == nil || n.rank > best.rank) {
				best = n
			}
		}
		if best == nil { // unreachable with c ≥ 1; be safe
			return eligible[0]
		}
		if best.sandboxes() < bound {
			return best
		}
		best.skipped = b.gen
	}
}

package loadbalancer

import (
	"time"

	"github.com/otpbox/otpbox/cluster"
	"github.com/prometheus/client_golang/prometheus"
)

// node is what the Balancer knows of one member. The Balancer's mu protects
// every field.
type node struct {
	name string
	hash uint64 // fnv1a64(name), for rendezvous hashing
	// health is what membership, NodeUp or NodeDown last said; "" until
	// then (Place then trusts the candidate's own health).
	health   cluster.Health
	passing  bool // health == cluster.Passing, kept by setHealth for the hot path
	capacity cluster.Capacity
	load     cluster.Load // last reported
	// reported is set once load came from a report or membership (not
	// from a candidate); reportedAt is when.
	reported   bool
	reportedAt time.Time
	// pending counts placements since the last report, moved the net
	// sandboxes moved in (+) or out (-) by rebalancing since then: both are
	// in the next report, so a report resets them.
	pending int
	moved   int
	// fromMembership marks nodes learned from a Membership, which Sync may
	// forget once the membership no longer lists them; memberHealth and
	// memberLoad are what it said last.
	fromMembership bool
	memberHealth   cluster.Health
	memberLoad     cluster.Load

	placed     uint64 // placements ever
	placements prometheus.Counter

	current int64 // smooth weighted round-robin's current weight

	// Scratch of the pick in progress.
	score    float64
	tiebreak int
	rank     uint64 // rendezvous score of the key
	skipped  uint64 // pick generation in which the node was found full
}

// weight is the node's capacity weight: Capacity.Slots, else CPUs, else 1.
func weight(c cluster.Capacity) int {
	switch {
	case c.Slots > 0:
		return c.Slots
	case c.CPUs > 0:
		return c.CPUs
	}
	return 1
}

func (n *node) weight() int { return weight(n.capacity) }

// sandboxes is the node's estimated active sandboxes: the last report plus
// what was placed and moved since.
func (n *node) sandboxes() int { return max(0, n.load.Sandboxes+n.pending+n.moved) }

// conns is the node's estimated calls in progress: the last report's
// backlog plus the placements since (each new activation is being called).
func (n *node) conns() int { return max(0, n.load.Mailbox+n.pending) }

// perWeight is sandboxes per unit of weight, the load Spread compares.
func (n *node) perWeight() float64 { return float64(n.sandboxes()) / float64(n.weight()) }

// alive: passing or warning, as cluster.Member.Alive.
func (n *node) alive() bool { return n.health == cluster.Passing || n.health == cluster.Warning }

// accepts: passing and not draining, as cluster.Member.Accepts.
func (n *node) accepts() bool { return n.passing && !n.load.Draining }

// counted says whether the node's load counts in the spread: alive and not
// draining (a draining node is being emptied by Drain).
func (n *node) counted() bool { return n.alive() && !n.load.Draining }

// setLoad records a fresh report.
func (n *node) setLoad(l cluster.Load, now time.Time) {
	n.load, n.reported, n.reportedAt = l, true, now
	n.pending, n.moved = 0, 0
}

// utilisation is the resource_based score: the mean of memory, CPU and,
// with declared slots, sandboxes over slots.
func (n *node) utilisation() float64 {
	mem := n.load.Memory
	if mem == 0 && n.load.MemoryBytes > 0 && n.capacity.MemoryBytes > 0 {
		mem = float64(n.load.MemoryBytes) / float64(n.capacity.MemoryBytes)
	}
	sum, dims := mem+n.load.CPU, 2.0
	if n.capacity.Slots > 0 {
		sum += float64(n.sandboxes()) / float64(n.capacity.Slots)
		dims++
	}
	return sum / dims
}

// fnv1a64 is FNV-1a over s: stable across processes, so every member
// hashes a key alike.
func fnv1a64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// mix64 is MurmurHash3's 64-bit finalizer: it spreads key ^ node so that
// every node's rank of a key is independent.
func mix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

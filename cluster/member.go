package cluster

import (
	"slices"
	"sync"
	"time"
)

// Health is a member's health as Consul reports it.
type Health string

// Member health: Consul's aggregated check status of the member's service.
const (
	// Passing members take new sandboxes.
	Passing Health = "passing"
	// Warning members (overloaded: readiness answered 429) keep their
	// sandboxes but take no new ones.
	Warning Health = "warning"
	// Critical members (missed heartbeats, or down) are treated as gone:
	// their sandboxes reactivate elsewhere on the next call.
	Critical Health = "critical"
)

// Capacity is what a member offers, from its service meta.
type Capacity struct {
	// Slots is the most sandboxes the member wants active (0: unbounded).
	Slots int `json:"slots"`
	// MemoryBytes is the member's memory limit (cgroup, GOMEMLIMIT or
	// host memory).
	MemoryBytes uint64 `json:"memory_bytes"`
	// CPUs is runtime.GOMAXPROCS on the member.
	CPUs int `json:"cpus"`
}

// Load is a member's current state, refreshed with every heartbeat and
// shared with the other members through Consul (the TTL check's output).
type Load struct {
	// Sandboxes is the member's active sandbox activations.
	Sandboxes int `json:"sandboxes"`
	// Passivated counts passivations since the member started.
	Passivated int `json:"passivated"`
	// Mailbox is the calls in progress on the member (its backlog).
	Mailbox int `json:"mailbox"`
	// MemoryBytes is the memory the Go runtime holds (in use).
	MemoryBytes uint64 `json:"memory_bytes"`
	// Memory is MemoryBytes over the capacity's MemoryBytes, 0..1.
	Memory float64 `json:"memory"`
	// CPU is the process's CPU use over its CPUs, 0..1, over the last
	// heartbeat interval.
	CPU float64 `json:"cpu"`
	// LatencyMS is the recent mean sandbox call latency in milliseconds.
	LatencyMS float64 `json:"latency_ms"`
	// Draining is set while the member moves its sandboxes away before it
	// leaves; it takes no new ones.
	Draining bool `json:"draining"`
}

// Member is one otpbox node of the cluster.
type Member struct {
	// Name is the node's name and its stable Consul service id.
	Name string `json:"name"`
	// Address is the host:port of the member's protoactor remote.
	Address string `json:"address"`
	// API is the base URL of the member's HTTP API ("" when unknown).
	API string `json:"api,omitempty"`
	// Zone is where the member runs (a rack, zone or region, as the
	// operator names them; "" when not set): the ScalabilityManager's
	// locality.
	Zone     string   `json:"zone,omitempty"`
	Health   Health   `json:"health"`
	Capacity Capacity `json:"capacity"`
	Load     Load     `json:"load"`
	// Since is when the member was last seen changing health.
	Since time.Time `json:"since"`
}

// Alive reports whether the member counts as up: passing or warning.
func (m Member) Alive() bool { return m.Health == Passing || m.Health == Warning }

// Accepts reports whether the member may take new sandboxes: passing and
// not draining.
func (m Member) Accepts() bool { return m.Health == Passing && !m.Load.Draining }

// EventKind says what happened to a member.
type EventKind int

const (
	// NodeUp: a member became alive (joined, or recovered).
	NodeUp EventKind = iota + 1
	// NodeDown: a member became critical or left.
	NodeDown
	// NodeUpdated: an alive member's load, health (passing ⇄ warning) or
	// draining changed.
	NodeUpdated
)

func (k EventKind) String() string {
	switch k {
	case NodeUp:
		return "node_up"
	case NodeDown:
		return "node_down"
	case NodeUpdated:
		return "node_updated"
	}
	return "unknown"
}

// Event is a membership change, delivered to subscribers in order.
type Event struct {
	Kind   EventKind
	Member Member
}

// Membership is the cluster's view of its members. Implementations:
// Consul (the cluster's membership through a Consul agent) and Static (a
// single node, the embedded default).
type Membership interface {
	// Self is this member's name.
	Self() string
	// Members returns every known member, alive or not, sorted by name.
	Members() []Member
	// Subscribe calls fn with every later event, in order, on one
	// goroutine owned by the membership, until cancel is called or the
	// membership stops. fn must not block for long.
	Subscribe(fn func(Event)) (cancel func())
}

// Alive returns the alive members of ms, sorted by name.
func Alive(ms []Member) []Member {
	return slices.DeleteFunc(slices.Clone(ms), func(m Member) bool { return !m.Alive() })
}

// Static is the membership of a single node: itself, always passing. Its
// load is what SetLoad last gave.
type Static struct {
	mu   sync.Mutex
	self Member
	subs map[int]func(Event)
	next int
}

var _ Membership = (*Static)(nil)

// NewStatic returns the membership of the single member self.
func NewStatic(self Member) *Static {
	if self.Health == "" {
		self.Health = Passing
	}
	return &Static{self: self, subs: make(map[int]func(Event))}
}

// Self implements Membership.
func (s *Static) Self() string { return s.self.Name }

// Members implements Membership.
func (s *Static) Members() []Member {
	s.mu.Lock()
	defer s.mu.Unlock()
	return []Member{s.self}
}

// SetLoad replaces the member's load and tells subscribers.
func (s *Static) SetLoad(l Load) {
	s.mu.Lock()
	s.self.Load = l
	m := s.self
	fns := make([]func(Event), 0, len(s.subs))
	for _, fn := range s.subs {
		fns = append(fns, fn)
	}
	s.mu.Unlock()
	for _, fn := range fns {
		fn(Event{Kind: NodeUpdated, Member: m})
	}
}

// Subscribe implements Membership. Events are delivered on the goroutine
// that calls SetLoad.
func (s *Static) Subscribe(fn func(Event)) func() {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.next
	s.next++
	s.subs[id] = fn
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.subs, id)
	}
}

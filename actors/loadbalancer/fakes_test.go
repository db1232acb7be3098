package loadbalancer_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/actors/loadbalancer"
	"github.com/otpbox/otpbox/cluster"
	"github.com/otpbox/otpbox/testkit"
)

var ctx = context.Background()

// passing returns passing members named names, sorted as the cluster
// passes candidates.
func passing(names ...string) []cluster.Member {
	ms := make([]cluster.Member, len(names))
	for i, n := range names {
		ms[i] = cluster.Member{Name: n, Health: cluster.Passing}
	}
	slices.SortFunc(ms, func(a, b cluster.Member) int { return strings.Compare(a.Name, b.Name) })
	return ms
}

func newBalancer(t testing.TB, cfg loadbalancer.Config) *loadbalancer.Balancer {
	t.Helper()
	b, err := loadbalancer.NewBalancer(cfg)
	require.NoError(t, err)
	return b
}

// place places n activations (identities "id-0" …) on candidates and
// counts them per node.
func place(t testing.TB, b *loadbalancer.Balancer, n int, candidates []cluster.Member) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for i := range n {
		node, err := b.Place(ctx, fmt.Sprintf("id-%d", i), candidates)
		require.NoError(t, err)
		counts[node]++
	}
	return counts
}

// newFakeClock returns a manual clock at 2026-01-01.
func newFakeClock() *testkit.Clock {
	return testkit.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
}

// membership is a working in-memory cluster.Membership: Set and Down
// change a member and deliver the event to the subscribers on the calling
// goroutine, in order.
type membership struct {
	mu      sync.Mutex // protects members and subs; held while delivering, so events stay in order
	members map[string]cluster.Member
	subs    map[int]func(cluster.Event)
	next    int
}

var _ cluster.Membership = (*membership)(nil)

func newMembership(ms ...cluster.Member) *membership {
	m := &membership{members: map[string]cluster.Member{}, subs: map[int]func(cluster.Event){}}
	for _, x := range ms {
		m.members[x.Name] = x
	}
	return m
}

func (m *membership) Self() string { return "self" }

func (m *membership) Members() []cluster.Member {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]cluster.Member, 0, len(m.members))
	for _, x := range m.members {
		out = append(out, x)
	}
	slices.SortFunc(out, func(a, b cluster.Member) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func (m *membership) Subscribe(fn func(cluster.Event)) func() {
	m.mu.Lock()
	defer m.mu.Unlock()
	id := m.next
	m.next++
	m.subs[id] = fn
	return func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		delete(m.subs, id)
	}
}

func (m *membership) subscribers() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.subs)
}

// Set adds or changes a member: node_up if it was not alive, else
// node_updated.
func (m *membership) Set(x cluster.Member) {
	if x.Health == "" {
		x.Health = cluster.Passing
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.members[x.Name]
	m.members[x.Name] = x
	kind := cluster.NodeUpdated
	if !ok || !old.Alive() {
		kind = cluster.NodeUp
	}
	for _, fn := range m.subs {
		fn(cluster.Event{Kind: kind, Member: x})
	}
}

// Down makes a member critical: node_down.
func (m *membership) Down(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	x := m.members[name]
	x.Health = cluster.Critical
	m.members[name] = x
	for _, fn := range m.subs {
		fn(cluster.Event{Kind: cluster.NodeDown, Member: x})
	}
}

// Vanish removes a member without an event, as a missed one.
func (m *membership) Vanish(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.members, name)
}

// migrator is a working in-memory cluster.Migrator: it knows which node
// each sandbox is on, and moves them. Targets in refuse fail.
type migrator struct {
	mu     sync.Mutex // protects on and refuse
	on     map[string][]string
	refuse map[string]bool
}

var _ cluster.Migrator = (*migrator)(nil)

var errRefused = errors.New("migrator: target refused")

// newMigrator puts counts[node] sandboxes named node-i on each node.
func newMigrator(counts map[string]int) *migrator {
	m := &migrator{on: map[string][]string{}, refuse: map[string]bool{}}
	for node, n := range counts {
		m.on[node] = []string{}
		for i := range n {
			m.on[node] = append(m.on[node], fmt.Sprintf("%s-%d", node, i))
		}
	}
	return m
}

func (m *migrator) Placed(_ context.Context, node string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.on[node]), nil
}

func (m *migrator) Migrate(_ context.Context, id, node string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.refuse[node] {
		return fmt.Errorf("%w: %s", errRefused, node)
	}
	for from, ids := range m.on {
		if i := slices.Index(ids, id); i >= 0 {
			m.on[from] = slices.Delete(ids, i, i+1)
			m.on[node] = append(m.on[node], id)
			return nil
		}
	}
	return fmt.Errorf("migrator: no sandbox %s", id)
}

func (m *migrator) Drain(ctx context.Context, node string) error {
	for _, id := range m.idsOn(node) {
		target := ""
		for _, n := range m.nodes() {
			if n != node && (target == "" || m.count(n) < m.count(target)) {
				target = n
			}
		}
		if target == "" {
			return cluster.ErrNoMembers
		}
		if err := m.Migrate(ctx, id, target); err != nil {
			return err
		}
	}
	return nil
}

func (m *migrator) idsOn(node string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.on[node])
}

func (m *migrator) nodes() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ns []string
	for n := range m.on {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	return ns
}

func (m *migrator) count(node string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.on[node])
}

// counts returns the sandboxes per node.
func (m *migrator) counts() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := map[string]int{}
	for n, ids := range m.on {
		c[n] = len(ids)
	}
	return c
}

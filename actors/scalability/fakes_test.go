package scalability_test

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/otpbox/otpbox/cluster"
)

const gib = 1 << 30

// node is a passing member with 8 GiB, 4 CPUs and slots slots, carrying
// sandboxes sandboxes at the given memory and CPU fractions.
func node(name string, slots, sandboxes int, mem, cpu float64) cluster.Member {
	return cluster.Member{
		Name: name, Address: "127.0.0.1:0", Health: cluster.Passing,
		Capacity: cluster.Capacity{Slots: slots, MemoryBytes: 8 * gib, CPUs: 4},
		Load:     cluster.Load{Sandboxes: sandboxes, Memory: mem, MemoryBytes: uint64(mem * 8 * gib), CPU: cpu},
	}
}

// loaded is node with every resource at fraction u of 10 slots.
func loaded(name string, u float64) cluster.Member {
	return node(name, 10, int(u*10+0.5), u, u)
}

// members is an in-memory cluster.Membership whose members the test sets.
// Events are delivered synchronously on the goroutine that changes a
// member, like cluster.Static's.
type members struct {
	self string
	mu   sync.Mutex // protects ms, subs and next
	ms   map[string]cluster.Member
	subs map[int]func(cluster.Event)
	next int
}

var _ cluster.Membership = (*members)(nil)

func newMembers(self string, ms ...cluster.Member) *members {
	f := &members{self: self, ms: map[string]cluster.Member{}, subs: map[int]func(cluster.Event){}}
	for _, m := range ms {
		f.ms[m.Name] = m
	}
	return f
}

func (f *members) Self() string { return f.self }

func (f *members) Members() []cluster.Member {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.SortedFunc(maps.Values(f.ms), func(a, b cluster.Member) int {
		return cmp.Compare(a.Name, b.Name)
	})
}

func (f *members) Subscribe(fn func(cluster.Event)) func() {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := f.next
	f.next++
	f.subs[id] = fn
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.subs, id)
	}
}

func (f *members) notify(e cluster.Event) {
	f.mu.Lock()
	fns := slices.Collect(maps.Values(f.subs))
	f.mu.Unlock()
	for _, fn := range fns {
		fn(e)
	}
}

// put adds or replaces a member.
func (f *members) put(m cluster.Member) {
	f.mu.Lock()
	_, had := f.ms[m.Name]
	f.ms[m.Name] = m
	f.mu.Unlock()
	kind := cluster.NodeUpdated
	if !had {
		kind = cluster.NodeUp
	}
	f.notify(cluster.Event{Kind: kind, Member: m})
}

// update changes a member in place.
func (f *members) update(name string, fn func(*cluster.Member)) {
	f.mu.Lock()
	m, ok := f.ms[name]
	if ok {
		fn(&m)
		f.ms[name] = m
	}
	f.mu.Unlock()
	if ok {
		f.notify(cluster.Event{Kind: cluster.NodeUpdated, Member: m})
	}
}

// setAll gives every member the load of loaded(name, u).
func (f *members) setAll(u float64) {
	for _, m := range f.Members() {
		f.update(m.Name, func(m *cluster.Member) { m.Load = loaded(m.Name, u).Load })
	}
}

func (f *members) remove(name string) {
	f.mu.Lock()
	m, ok := f.ms[name]
	delete(f.ms, name)
	f.mu.Unlock()
	if ok {
		f.notify(cluster.Event{Kind: cluster.NodeDown, Member: m})
	}
}

func (f *members) names() []string {
	var out []string
	for _, m := range f.Members() {
		out = append(out, m.Name)
	}
	return out
}

// provider is a working in-memory Provider: AddNodes adds passing members
// with load u to the membership, RemoveNode removes them. With a gate,
// each call waits for a value on it (or its ctx). Every call is reported
// on calls.
type provider struct {
	ms    *members
	gate  chan struct{}
	calls chan string
	u     float64

	mu      sync.Mutex // protects next, added, removed, addErr
	next    int
	added   []string
	removed []string
	addErr  error
}

func newProvider(ms *members, u float64, gated bool) *provider {
	p := &provider{ms: ms, u: u, calls: make(chan string, 100)}
	if gated {
		p.gate = make(chan struct{})
	}
	return p
}

func (p *provider) AddNodes(ctx context.Context, n int) ([]string, error) {
	p.calls <- fmt.Sprintf("add %d", n)
	if err := p.wait(ctx); err != nil {
		return nil, err
	}
	p.mu.Lock()
	if err := p.addErr; err != nil {
		p.mu.Unlock()
		return nil, err
	}
	var names []string
	for range n {
		p.next++
		names = append(names, fmt.Sprintf("auto-%d", p.next))
	}
	p.added = append(p.added, names...)
	p.mu.Unlock()
	for _, name := range names {
		p.ms.put(loaded(name, p.u))
	}
	return names, nil
}

func (p *provider) RemoveNode(ctx context.Context, name string) error {
	p.calls <- "remove " + name
	if err := p.wait(ctx); err != nil {
		return err
	}
	p.mu.Lock()
	p.removed = append(p.removed, name)
	p.mu.Unlock()
	p.ms.remove(name)
	return nil
}

func (p *provider) wait(ctx context.Context) error {
	if p.gate == nil {
		return nil
	}
	select {
	case <-p.gate:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *provider) setAddErr(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.addErr = err
}

func (p *provider) snapshot() (added, removed []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.added), slices.Clone(p.removed)
}

// migrator drains a member by marking it draining; the test empties it
// (or, with empties, Drain does).
type migrator struct {
	ms      *members
	empties bool
	calls   chan string
}

func newMigrator(ms *members, empties bool) *migrator {
	return &migrator{ms: ms, empties: empties, calls: make(chan string, 100)}
}

func (m *migrator) Placed(context.Context, string) ([]string, error) { return nil, nil }

func (m *migrator) Migrate(context.Context, string, string) error { return nil }

func (m *migrator) Drain(_ context.Context, node string) error {
	m.ms.update(node, func(mb *cluster.Member) {
		mb.Load.Draining = true
		if m.empties {
			mb.Load.Sandboxes = 0
		}
	})
	m.calls <- "drain " + node
	return nil
}

// clock is a manual clock for Deps.Clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// recv returns the next value of ch, failing t after timeout.
func recv[T any](t *testing.T, ch <-chan T, timeout time.Duration) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(timeout):
		var zero T
		t.Fatalf("nothing received within %v", timeout)
		return zero
	}
}

// none fails t if ch holds a value now.
func none[T any](t *testing.T, ch <-chan T) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("unexpected %v", v)
	default:
	}
}

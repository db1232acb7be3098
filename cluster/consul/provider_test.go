package consul

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/otpbox/otpbox/cluster"
	"github.com/otpbox/otpbox/cluster/consul/consultest"
	"github.com/otpbox/otpbox/testkit"
)

// Timings of the tests: TTL 1 s and heartbeat 250 ms, the recommended
// production setting; Consul probes readiness every second at most.
const (
	testTTL       = time.Second
	testHeartbeat = 250 * time.Millisecond
	// wait bounds every wait for Consul to reflect a change: a TTL, a
	// readiness interval and a blocking query's round trip fit well within.
	wait = 10 * time.Second
)

var testCapacity = cluster.Capacity{Slots: 100, MemoryBytes: 24 << 30, CPUs: 8}

// node is one member under test: its provider, the readiness endpoint
// Consul probes (whose status the test sets) and the load it reports.
type node struct {
	name  string
	addr  string // its (fake) protoactor address
	p     *Provider
	ready *httptest.Server
	code  atomic.Int32 // readiness status code
	load  atomic.Pointer[cluster.Load]
	rec   *recorder
}

// startNode starts member name of cluster at 127.0.0.1:1000<i>, with a load
// that tells it apart, and stops it (not gracefully) in t.Cleanup.
func startNode(t *testing.T, agent, clusterName, name string, i int) *node {
	t.Helper()
	n := &node{name: name, addr: fmt.Sprintf("127.0.0.1:%d", 10000+i)}
	n.code.Store(http.StatusOK)
	n.setLoad(func(l *cluster.Load) {
		*l = cluster.Load{Sandboxes: 10 + i, Passivated: i, Mailbox: i, MemoryBytes: uint64(i+1) << 20,
			Memory: float64(i+1) / (24 << 10), CPU: float64(i) / 100, LatencyMS: 0.25 * float64(i+1)}
	})
	n.ready = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/health/ready" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(int(n.code.Load()))
	}))
	p, err := New(Config{
		Agent: agent, Cluster: clusterName, Node: name, API: n.ready.URL,
		Capacity: testCapacity, Load: func() cluster.Load { return *n.load.Load() },
		TTL: testTTL, Heartbeat: testHeartbeat, Logger: testLogger(t), Zone: "zone-" + name,
	})
	require.NoError(t, err)
	n.p = p
	n.rec = record(p)
	require.NoError(t, p.Start(n.addr))
	t.Cleanup(func() {
		assert.NoError(t, p.Stop(false))
		n.ready.Close()
	})
	return n
}

func (n *node) setLoad(edit func(*cluster.Load)) {
	var l cluster.Load
	if old := n.load.Load(); old != nil {
		l = *old
	}
	edit(&l)
	n.load.Store(&l)
}

// startCluster starts a fresh agent and members a, b and c, and waits
// until every member sees all three passing.
func startCluster(t *testing.T) (*consultest.Agent, []*node) {
	t.Helper()
	agent := consultest.Start(t)
	name := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
	nodes := []*node{
		startNode(t, agent.Addr, name, "a", 1),
		startNode(t, agent.Addr, name, "b", 2),
		startNode(t, agent.Addr, name, "c", 3),
	}
	for _, n := range nodes {
		awaitMembers(t, n.p, map[string]cluster.Health{"a": cluster.Passing, "b": cluster.Passing, "c": cluster.Passing})
	}
	return agent, nodes
}

// awaitMembers waits until p's view is exactly want.
func awaitMembers(t *testing.T, p *Provider, want map[string]cluster.Health) {
	t.Helper()
	testkit.AwaitAssert(t, wait, func(c *assert.CollectT) {
		got := map[string]cluster.Health{}
		for _, m := range p.Members() {
			got[m.Name] = m.Health
		}
		assert.Equal(c, want, got, "members seen by %s", p.Self())
	})
}

// leakCheck fails t if goroutines started during t outlive it. Register it
// first, so it runs after every other cleanup.
func leakCheck(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { testkit.VerifyNoLeaks(t, ignore) })
}

func TestMembers(t *testing.T) {
	leakCheck(t)
	agent, nodes := startCluster(t)

	entries, _, err := agent.Client().Health().Service(nodes[0].p.cfg.Cluster, "", true, nil)
	require.NoError(t, err)
	assert.Len(t, entries, 3, "all three pass in /v1/health/service")
	for _, e := range entries {
		assert.Equal(t, []string{"otpbox"}, e.Service.Tags)
		var names []string
		for _, c := range e.Checks {
			names = append(names, c.Name)
		}
		assert.Subset(t, names, []string{"otpbox heartbeat", "otpbox readiness"})
	}

	for _, viewer := range nodes {
		ms := viewer.p.Members()
		require.Len(t, ms, 3)
		for i, m := range ms {
			n := nodes[i]
			assert.Equal(t, n.name, m.Name, "sorted by name")
			assert.Equal(t, n.addr, m.Address)
			assert.Equal(t, n.ready.URL, m.API)
			assert.Equal(t, "zone-"+n.name, m.Zone)
			assert.Equal(t, cluster.Passing, m.Health)
			assert.True(t, m.Accepts())
			assert.Equal(t, testCapacity, m.Capacity)
			assert.Equal(t, roundLoad(*n.load.Load()), m.Load, "%s's load as %s parsed it", n.name, viewer.name)
			assert.False(t, m.Since.IsZero())
		}
	}

	client, err := New(Config{Agent: agent.Addr, Cluster: nodes[0].p.cfg.Cluster, Node: "client", Logger: testLogger(t)})
	require.NoError(t, err)
	require.NoError(t, client.StartClient(nil)) // the watch alone: protoactor's cluster is not used
	t.Cleanup(func() { assert.NoError(t, client.Stop(true)) })
	awaitMembers(t, client, map[string]cluster.Health{"a": cluster.Passing, "b": cluster.Passing, "c": cluster.Passing})
	services, err := agent.Client().Agent().Services()
	require.NoError(t, err)
	assert.NotContains(t, services, "client", "a client does not register")

	out := ttlOutput(t, agent, nodes[1])
	assert.True(t, strings.HasPrefix(out, "ready · 12/100 active sandboxes · 2 passivated · backlog 2 · memory 3.0 MiB of 24.0 GiB"), out)
	assert.Contains(t, out, "\notpbox-load: {\"sandboxes\":12,")
}

func TestReadinessOverloadedIsWarning(t *testing.T) {
	leakCheck(t)
	_, nodes := startCluster(t)
	a, b := nodes[0], nodes[1]

	mark := a.rec.mark()
	b.code.Store(http.StatusTooManyRequests)
	e := a.rec.await(t, mark, "b overloaded", func(e cluster.Event) bool {
		return e.Kind == cluster.NodeUpdated && e.Member.Name == "b" && e.Member.Health == cluster.Warning
	})
	assert.True(t, e.Member.Alive())
	assert.False(t, e.Member.Accepts())
	assert.False(t, e.Member.Load.Draining)
	a.rec.assertNone(t, mark, "b is never down", isDown("b"))

	mark = a.rec.mark()
	b.code.Store(http.StatusOK)
	e = a.rec.await(t, mark, "b ready again", func(e cluster.Event) bool {
		return e.Kind == cluster.NodeUpdated && e.Member.Name == "b" && e.Member.Health == cluster.Passing
	})
	assert.True(t, e.Member.Accepts())
}

func TestDrainingIsWarning(t *testing.T) {
	leakCheck(t)
	agent, nodes := startCluster(t)
	a, b := nodes[0], nodes[1]

	mark := a.rec.mark()
	b.setLoad(func(l *cluster.Load) { l.Draining = true })
	e := a.rec.await(t, mark, "b draining", func(e cluster.Event) bool {
		return e.Kind == cluster.NodeUpdated && e.Member.Name == "b" && e.Member.Health == cluster.Warning
	})
	assert.True(t, e.Member.Load.Draining)
	assert.True(t, e.Member.Alive())
	assert.False(t, e.Member.Accepts())
	out := ttlOutput(t, agent, b)
	assert.True(t, strings.HasPrefix(out, "draining · "), out)

	mark = a.rec.mark()
	b.setLoad(func(l *cluster.Load) { l.Draining = false })
	e = a.rec.await(t, mark, "b ready again", func(e cluster.Event) bool {
		return e.Kind == cluster.NodeUpdated && e.Member.Name == "b" && e.Member.Health == cluster.Passing
	})
	assert.True(t, e.Member.Accepts())
	a.rec.assertNone(t, mark, "b is never down", isDown("b"))
}

func TestStalledMemberIsDownThenUpAgain(t *testing.T) {
	leakCheck(t)
	_, nodes := startCluster(t)
	a, b, c := nodes[0], nodes[1], nodes[2]

	markA, markC := a.rec.mark(), c.rec.mark()
	b.p.paused.Store(true) // b's process stalls, as under SIGSTOP
	a.rec.await(t, markA, "a sees b down", isDown("b"))
	c.rec.await(t, markC, "c sees b down", isDown("b"))
	awaitMembers(t, a.p, map[string]cluster.Health{"a": cluster.Passing, "b": cluster.Critical, "c": cluster.Passing})

	markA, markC = a.rec.mark(), c.rec.mark()
	b.p.paused.Store(false) // SIGCONT: the same provider, not restarted
	a.rec.await(t, markA, "a sees b up again", isUp("b"))
	c.rec.await(t, markC, "c sees b up again", isUp("b"))
	awaitMembers(t, c.p, map[string]cluster.Health{"a": cluster.Passing, "b": cluster.Passing, "c": cluster.Passing})
}

func TestAgentRestartRegistersAgain(t *testing.T) {
	leakCheck(t)
	agent, nodes := startCluster(t)
	before := make([]int64, len(nodes))
	for i, n := range nodes {
		before[i] = n.p.attempts.Load()
	}

	agent.Restart() // a dev agent forgets every registration

	testkit.AwaitAssert(t, wait, func(c *assert.CollectT) {
		entries, _, err := agent.Client().Health().Service(nodes[0].p.cfg.Cluster, "", true, nil)
		assert.NoError(c, err)
		assert.Len(c, entries, 3, "all three passing again")
	})
	for i, n := range nodes {
		assert.True(t, n.p.Registered(), n.name)
		assert.Greater(t, n.p.attempts.Load(), before[i], "%s registered again", n.name)
		awaitMembers(t, n.p, map[string]cluster.Health{"a": cluster.Passing, "b": cluster.Passing, "c": cluster.Passing})
	}
}

func TestGracefulStopDeregistersAtOnce(t *testing.T) {
	leakCheck(t)
	agent, nodes := startCluster(t)
	a, c := nodes[0], nodes[2]

	mark := a.rec.mark()
	require.NoError(t, c.p.Stop(true))
	assert.False(t, c.p.Registered())
	services, err := agent.Client().Agent().Services()
	require.NoError(t, err)
	assert.NotContains(t, services, "c", "the agent dropped c at once")
	// The agent syncs its removal to the catalog asynchronously, within
	// milliseconds: far below the TTL, and no critical ghost in between.
	testkit.AwaitAssert(t, testTTL/2, func(col *assert.CollectT) {
		entries, _, err := agent.Client().Health().Service(a.p.cfg.Cluster, "", false, nil)
		assert.NoError(col, err)
		assert.Len(col, entries, 2)
	})
	e := a.rec.await(t, mark, "a sees c leave", isDown("c"))
	assert.Equal(t, cluster.Critical, e.Member.Health)
	awaitMembers(t, a.p, map[string]cluster.Health{"a": cluster.Passing, "b": cluster.Passing})
	assert.NoError(t, c.p.Stop(true), "Stop is idempotent")
}

func TestRestartedNodeReplacesItsEntry(t *testing.T) {
	leakCheck(t)
	agent := consultest.Start(t)
	first := startNode(t, agent.Addr, "replace", "n1", 1)
	awaitMembers(t, first.p, map[string]cluster.Health{"n1": cluster.Passing})
	require.NoError(t, first.p.Stop(false)) // a crash: the entry stays
	services, err := agent.Client().Agent().Services()
	require.NoError(t, err)
	require.Contains(t, services, "n1")

	second := startNode(t, agent.Addr, "replace", "n1", 2) // same node, new process and address
	testkit.AwaitAssert(t, wait, func(c *assert.CollectT) {
		entries, _, err := agent.Client().Health().Service("replace", "", false, nil)
		if !assert.NoError(c, err) || !assert.Len(c, entries, 1, "one instance with that id") {
			return
		}
		e := entries[0]
		assert.Equal(c, "n1", e.Service.ID)
		assert.Equal(c, 10002, e.Service.Port, "the new process's address")
		assert.Equal(c, api.HealthPassing, e.Checks.AggregatedStatus())
	})
	awaitMembers(t, second.p, map[string]cluster.Health{"n1": cluster.Passing})
}

func TestConsulDownAtStart(t *testing.T) {
	leakCheck(t)
	agent := consultest.Start(t)
	agent.Stop() // nothing listens on agent.Addr now

	p, err := New(Config{Agent: agent.Addr, Cluster: "down", Node: "n1", TTL: testTTL, Heartbeat: testHeartbeat, Logger: testLogger(t)})
	require.NoError(t, err)
	start := time.Now()
	require.NoError(t, p.Start("127.0.0.1:10001"))
	t.Cleanup(func() { assert.NoError(t, p.Stop(false)) })
	assert.Less(t, time.Since(start), 100*time.Millisecond, "Start does not wait for Consul")

	testkit.Eventually(t, wait, func() error {
		if n := p.attempts.Load(); n < 5 {
			return fmt.Errorf("%d registration attempts", n)
		}
		return nil
	})
	n, elapsed := p.attempts.Load(), time.Since(start)
	assert.False(t, p.Registered())
	assert.Empty(t, p.Members())
	// With backoff, n attempts take at least the half steps between them
	// (50+100+200+… ms): a tight loop would make them in microseconds.
	assert.GreaterOrEqual(t, elapsed, minBackoffTime(n), "%d attempts in %v", n, elapsed)
	assert.Less(t, float64(n)/elapsed.Seconds(), 15.0, "fewer than 30 attempts per 2 s")

	agent.Restart() // an agent appears on that address
	testkit.Eventually(t, wait, func() error {
		if !p.Registered() {
			return fmt.Errorf("not registered after %d attempts", p.attempts.Load())
		}
		return nil
	})
	awaitMembers(t, p, map[string]cluster.Health{"n1": cluster.Passing})
}

// minBackoffTime is the least time n registration attempts can take: the
// first is immediate, then each retry waits at least half its step.
func minBackoffTime(n int64) time.Duration {
	var total time.Duration
	step := minBackoff
	for range n - 1 {
		total += step / 2
		step = min(2*step, maxBackoff)
	}
	return total
}

// ttlOutput returns n's heartbeat output as the catalog holds it.
func ttlOutput(t *testing.T, agent *consultest.Agent, n *node) string {
	t.Helper()
	checks, _, err := agent.Client().Health().Checks(n.p.cfg.Cluster, nil)
	require.NoError(t, err)
	for _, c := range checks {
		if c.CheckID == n.p.ttlID {
			return c.Output
		}
	}
	t.Fatalf("no heartbeat check for %s", n.name)
	return ""
}

func isDown(name string) func(cluster.Event) bool {
	return func(e cluster.Event) bool { return e.Kind == cluster.NodeDown && e.Member.Name == name }
}

func isUp(name string) func(cluster.Event) bool {
	return func(e cluster.Event) bool { return e.Kind == cluster.NodeUp && e.Member.Name == name }
}

// recorder keeps every event a provider delivers.
type recorder struct {
	mu  sync.Mutex // protects evs
	evs []cluster.Event
}

func record(p *Provider) *recorder {
	r := &recorder{}
	p.Subscribe(func(e cluster.Event) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.evs = append(r.evs, e)
	})
	return r
}

// mark returns the position of the next event.
func (r *recorder) mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.evs)
}

func (r *recorder) since(mark int) []cluster.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]cluster.Event(nil), r.evs[mark:]...)
}

// await waits for the first event after mark that matches.
func (r *recorder) await(t *testing.T, mark int, what string, match func(cluster.Event) bool) cluster.Event {
	t.Helper()
	var found cluster.Event
	testkit.Eventually(t, wait, func() error {
		evs := r.since(mark)
		for _, e := range evs {
			if match(e) {
				found = e
				return nil
			}
		}
		return fmt.Errorf("%s: not among %d events: %v", what, len(evs), summary(evs))
	})
	return found
}

// assertNone checks that no event since mark matches.
func (r *recorder) assertNone(t *testing.T, mark int, what string, match func(cluster.Event) bool) {
	t.Helper()
	for _, e := range r.since(mark) {
		if match(e) {
			t.Errorf("%s: got %v %s %s", what, e.Kind, e.Member.Name, e.Member.Health)
		}
	}
}

func summary(evs []cluster.Event) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "%v(%s,%s) ", e.Kind, e.Member.Name, e.Member.Health)
	}
	return b.String()
}

// testLogger logs to t (shown with -v or on failure) until t ends.
func testLogger(t *testing.T) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(w.close)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type testWriter struct {
	mu     sync.Mutex // protects closed; serialises t.Log
	t      *testing.T
	closed bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
}

var _ io.Writer = (*testWriter)(nil)

// With ACLs on (default deny), a provider with a token registers and
// watches; one without cannot register and keeps retrying with backoff.
func TestACLToken(t *testing.T) {
	leakCheck(t)
	agent := consultest.StartWith(t, `acl {
  enabled = true
  default_policy = "deny"
  tokens {
    initial_management = "root-token"
    agent = "root-token"
  }
}`)
	p, err := New(Config{Agent: agent.Addr, Cluster: "acl", Node: "n1", Token: "root-token",
		TTL: testTTL, Heartbeat: testHeartbeat, Logger: testLogger(t)})
	require.NoError(t, err)
	require.NoError(t, p.Start("127.0.0.1:10001"))
	t.Cleanup(func() { assert.NoError(t, p.Stop(true)) })
	awaitMembers(t, p, map[string]cluster.Health{"n1": cluster.Passing})
	assert.True(t, p.Registered())

	denied, err := New(Config{Agent: agent.Addr, Cluster: "acl", Node: "n2",
		TTL: testTTL, Heartbeat: testHeartbeat, Logger: testLogger(t)})
	require.NoError(t, err)
	require.NoError(t, denied.Start("127.0.0.1:10002"))
	t.Cleanup(func() { assert.NoError(t, denied.Stop(false)) })
	testkit.Eventually(t, wait, func() error {
		if n := denied.attempts.Load(); n < 3 {
			return fmt.Errorf("%d registration attempts", n)
		}
		return nil
	})
	assert.False(t, denied.Registered(), "registered without a token")
	awaitMembers(t, p, map[string]cluster.Health{"n1": cluster.Passing})
}

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/otpbox/otpbox/cmd/otpbox/internal/server"
	"github.com/otpbox/otpbox/testkit"
)

// e2eCluster is a real cluster on 127.0.0.1 (testkit.StartCluster: a
// Consul agent, a redis-server and `otpbox node` processes), with the
// checks these tests make through Consul's catalog.
type e2eCluster struct {
	*testkit.Cluster
	t      *testing.T
	name   string
	client *http.Client
}

func newE2ECluster(t *testing.T) *e2eCluster {
	c := testkit.StartCluster(t, testkit.ClusterConfig{Members: -1, Name: "e2e"})
	return &e2eCluster{Cluster: c, t: t, name: "e2e", client: &http.Client{Timeout: 30 * time.Second}}
}

// start starts member name (or restarts it, on the same port and
// directory) and returns it.
func (c *e2eCluster) start(name string, extra ...string) *testkit.Node {
	c.t.Helper()
	if c.Member(name) != nil {
		c.Restart(name)
		return c.Member(name)
	}
	return c.Add(name, extra...)
}

// entries returns the cluster's service entries in Consul, each with its
// checks (nil when the agent does not answer).
func (c *e2eCluster) entries() []*api.ServiceEntry {
	entries, _, err := c.Consul().Client().Health().Service(c.name, "", false, nil)
	if err != nil {
		return nil
	}
	return entries
}

// passing returns the names of the members passing in Consul.
func (c *e2eCluster) passing() []string {
	var names []string
	for _, e := range c.entries() {
		if e.Checks.AggregatedStatus() == api.HealthPassing {
			names = append(names, e.Service.ID)
		}
	}
	slices.Sort(names)
	return names
}

// check returns node's check named name ("" when there is none), or,
// with name "", the aggregated status of node's checks.
func (c *e2eCluster) check(node, name string) string {
	for _, e := range c.entries() {
		if e.Service.ID != node {
			continue
		}
		if name == "" {
			return e.Checks.AggregatedStatus()
		}
		for _, ch := range e.Checks {
			if ch.Name == name {
				return ch.Status
			}
		}
	}
	return ""
}

// checks describes the checks that are not passing.
func (c *e2eCluster) checks() string {
	var out []string
	for _, e := range c.entries() {
		for _, ch := range e.Checks {
			if ch.Status != api.HealthPassing {
				out = append(out, fmt.Sprintf("%s %s %s: %.200q", e.Service.ID, ch.Name, ch.Status, ch.Output))
			}
		}
	}
	return strings.Join(out, "; ")
}

func (c *e2eCluster) awaitPassing(want ...string) {
	c.t.Helper()
	slices.Sort(want)
	testkit.Eventually(c.t, 30*time.Second, func() error {
		if got := c.passing(); !slices.Equal(got, want) {
			return fmt.Errorf("passing %v, want %v; checks: %s", got, want, c.checks())
		}
		return nil
	})
}

// call sends a request to member m's API and decodes a 2xx answer into
// out; it returns the status.
func (c *e2eCluster) call(m *testkit.Node, method, path string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, m.URL()+path, rd)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	if out != nil {
		return resp.StatusCode, json.Unmarshal(raw, out)
	}
	return resp.StatusCode, nil
}

// metric returns the value of an unlabelled series in m's /metrics (-1
// when it has none).
func (c *e2eCluster) metric(m *testkit.Node, name string) float64 {
	c.t.Helper()
	resp, err := c.client.Get(m.URL() + "/metrics")
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	for line := range strings.Lines(string(raw)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				c.t.Fatalf("%s: %v", name, err)
			}
			return f
		}
	}
	return -1
}

func (c *e2eCluster) must(m *testkit.Node, method, path string, body, out any) {
	c.t.Helper()
	if _, err := c.call(m, method, path, body, out); err != nil {
		c.t.Fatal(err)
	}
}

func (c *e2eCluster) exec(m *testkit.Node, id, code string) (string, error) {
	var res server.Result
	if _, err := c.call(m, "POST", "/v1/sandboxes/"+id+"/exec", map[string]string{"code": code}, &res); err != nil {
		return "", err
	}
	return res.Value, nil
}

func (c *e2eCluster) info(m *testkit.Node, id string) server.Info {
	c.t.Helper()
	var in server.Info
	c.must(m, "GET", "/v1/sandboxes/"+id, nil, &in)
	return in
}

// active returns, for every node, the sandboxes active there, as each
// node reports its own.
func (c *e2eCluster) active(via *testkit.Node) map[string][]string {
	c.t.Helper()
	var list server.SandboxList
	c.must(via, "GET", "/v1/sandboxes", nil, &list)
	out := make(map[string][]string)
	for _, in := range list.Sandboxes {
		if in.State == "active" {
			out[in.Node] = append(out[in.Node], in.ID)
		}
	}
	return out
}

// TestClusterOnConsul runs three `otpbox node` processes and a real
// Consul agent: placement by the strategy, remote calls, migration with
// state, kill -9 failover without loss or duplicates, rejoin, drain and a
// stalled member that recovers.
func TestClusterOnConsul(t *testing.T) {
	c := newE2ECluster(t)
	// Rebalancing off: the test moves sandboxes itself and checks where
	// they are (rebalancing has its own tests in actors/loadbalancer).
	noRebalance := "--rebalancing-enabled=false"
	// n2 keeps activations spawned ahead of need: the sandboxes placed
	// on it from n1 take them (a remote activation).
	n1, n2, n3 := c.start("n1", noRebalance), c.start("n2", noRebalance, "--warm-activations", "2"), c.start("n3", noRebalance, "--zone", "east")
	c.awaitPassing("n1", "n2", "n3")
	testkit.Eventually(t, 10*time.Second, func() error {
		var nodes server.NodeList
		if _, err := c.call(n3, "GET", "/v1/cluster/nodes", nil, &nodes); err != nil {
			return err
		}
		if len(nodes.Nodes) != 3 {
			return fmt.Errorf("n3 sees %d members", len(nodes.Nodes))
		}
		for _, n := range nodes.Nodes {
			if n.Health != "passing" || n.Capacity == nil || n.Capacity.Slots == 0 {
				return fmt.Errorf("member %+v", n)
			}
		}
		return nil
	})

	// n1's LoadBalancer sees every member accepting sandboxes.
	testkit.Eventually(t, 10*time.Second, func() error {
		var d struct {
			Strategy string `json:"strategy"`
			Nodes    []struct {
				Node    string `json:"node"`
				Accepts bool   `json:"accepts"`
			} `json:"nodes"`
		}
		if _, err := c.call(n1, "GET", "/v1/cluster/load", nil, &d); err != nil {
			return err
		}
		if d.Strategy != "weighted_round_robin" {
			return fmt.Errorf("strategy %q", d.Strategy)
		}
		accepting := 0
		for _, n := range d.Nodes {
			if n.Accepts {
				accepting++
			}
		}
		if accepting != 3 {
			return fmt.Errorf("n1's load balancer: %+v", d.Nodes)
		}
		return nil
	})

	// Placement: sandboxes created through n1 go where its strategy
	// (weighted round-robin, equal capacities: in turn over the members
	// sorted by name) says.
	const count = 9
	ids := make([]string, count)
	for i := range ids {
		ids[i] = "s" + strconv.Itoa(i)
		var in server.Info
		c.must(n1, "POST", "/v1/sandboxes", map[string]any{"id": ids[i]}, &in)
		if want := fmt.Sprintf("n%d", i%3+1); in.Node != want {
			t.Errorf("%s placed on %s, want %s", ids[i], in.Node, want)
		}
	}
	if got := c.metric(n2, "otpbox_sandbox_warm_activations_taken_total"); got < count/3 {
		t.Errorf("n2 took %v warm activations for the %d sandboxes placed on it", got, count/3)
	}
	// Concurrent creates of one id through every node: one wins, the
	// others hear it exists, and one activation runs.
	var wg sync.WaitGroup
	codes := make(chan int, 3)
	for _, m := range []*testkit.Node{n1, n2, n3} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _ := c.call(m, "POST", "/v1/sandboxes", map[string]any{"id": "dup"}, nil)
			codes <- code
		}()
	}
	wg.Wait()
	close(codes)
	var got []int
	for code := range codes {
		got = append(got, code)
	}
	slices.Sort(got)
	if !slices.Equal(got, []int{201, 409, 409}) {
		t.Errorf("concurrent creates answered %v, want one 201 and two 409", got)
	}
	holders := 0
	for _, list := range c.active(n2) {
		if slices.Contains(list, "dup") {
			holders++
		}
	}
	if holders != 1 {
		t.Errorf("dup is active on %d nodes", holders)
	}
	c.must(n3, "DELETE", "/v1/sandboxes/dup", nil, nil)

	// Every sandbox keeps a counter; each acknowledged increment must
	// survive whatever happens next. Calls go through the other nodes.
	acked := make(map[string]int)
	via := []*testkit.Node{n1, n2, n3}
	for i, id := range ids {
		if _, err := c.exec(via[(i+1)%3], id, "n = 0"); err != nil {
			t.Fatal(err)
		}
		for k := range 3 {
			if _, err := c.exec(via[(i+k)%3], id, "n += 1"); err != nil {
				t.Fatal(err)
			}
			acked[id]++
		}
	}
	before := c.active(n2)
	for node, list := range before {
		if len(list) != 3 {
			t.Errorf("%s hosts %v, want 3 sandboxes", node, list)
		}
	}

	// The ScalabilityManager picks a node that fits; the LoadBalancer's
	// rebalancing finds the members balanced (3 each).
	var best map[string]string
	c.must(n2, "POST", "/v1/cluster/optimal-node", map[string]any{"memory_bytes": 1 << 20, "cpu": 0.1, "locality": "east"}, &best)
	if best["node"] != "n3" {
		t.Errorf("optimal node for zone east = %v, want n3", best)
	}
	if code, _ := c.call(n2, "POST", "/v1/cluster/optimal-node", map[string]any{"memory_bytes": uint64(1) << 60}, nil); code != 503 {
		t.Errorf("optimal node for 1 EiB: %d, want 503", code)
	}
	var rb struct {
		Moves   []any  `json:"moves"`
		Skipped string `json:"skipped"`
	}
	c.must(n1, "POST", "/v1/cluster/rebalance", nil, &rb)
	if len(rb.Moves) != 0 {
		t.Errorf("rebalancing moved %v from a balanced cluster (%s)", rb.Moves, rb.Skipped)
	}

	// The cache's L2 tier runs over the members.
	var stats struct {
		Tiers map[string]json.RawMessage `json:"tiers"`
	}
	c.must(n2, "GET", "/v1/cache/stats", nil, &stats)
	if _, ok := stats.Tiers["l2"]; !ok {
		t.Errorf("a member's cache has no L2 tier: %v", stats.Tiers)
	}
	t.Logf("n2's L2: %s", stats.Tiers["l2"])

	// Migration keeps the globals.
	if got := c.info(n2, "s0").Node; got != "n1" {
		t.Fatalf("s0 on %s before migrating", got)
	}
	var moved server.Info
	c.must(n2, "POST", "/v1/sandboxes/s0/migrate", map[string]string{"node": "n3"}, &moved)
	if moved.Node != "n3" || moved.State != "active" {
		t.Errorf("migrated = %+v", moved)
	}
	if v, err := c.exec(n1, "s0", "n"); err != nil || v != "3" {
		t.Errorf("s0 after migrating: n = %q, %v", v, err)
	}
	if got := c.info(n1, "s0").Node; got != "n3" {
		t.Errorf("s0 on %s after migrating to n3", got)
	}

	// kill -9 of n2: every sandbox it held answers again from a survivor
	// with its state, with no duplicate activation and nothing lost.
	victims := c.active(n1)["n2"]
	if len(victims) == 0 {
		t.Fatal("n2 holds no sandbox")
	}
	killed := time.Now()
	c.Kill("n2")
	var failover time.Duration
	for _, id := range victims {
		var v string
		testkit.Eventually(t, 30*time.Second, func() error {
			var err error
			v, err = c.exec(n1, id, "n")
			return err
		})
		failover = max(failover, time.Since(killed))
		if want := strconv.Itoa(acked[id]); v != want {
			t.Errorf("%s after failover: n = %s, want %s (lost executions)", id, v, want)
		}
	}
	t.Logf("failover: every sandbox of the killed node answered within %v", failover.Round(time.Millisecond))
	after := c.active(n1)
	seen := make(map[string]string)
	for node, list := range after {
		for _, id := range list {
			if other, dup := seen[id]; dup {
				t.Errorf("%s active on %s and %s", id, other, node)
			}
			seen[id] = node
		}
	}
	if _, ok := after["n2"]; ok {
		t.Errorf("the killed node still lists sandboxes: %v", after)
	}

	// The killed node restarted rejoins.
	phase := time.Now()
	n2 = c.start("n2", noRebalance)
	c.awaitPassing("n1", "n2", "n3")
	t.Logf("rejoin: the restarted n2 passing again after %v", time.Since(phase).Round(time.Millisecond))

	// Every sandbox still has its state, whoever is asked.
	for i, id := range ids {
		if v, err := c.exec(via[i%3], id, "n"); err != nil || v != strconv.Itoa(acked[id]) {
			t.Errorf("%s: n = %q, %v; want %d", id, v, err, acked[id])
		}
	}

	// Drain n3: its sandboxes move to the others and it leaves with none
	// lost.
	onN3 := c.active(n1)["n3"]
	phase = time.Now()
	var dr server.DrainResult
	c.must(n1, "POST", "/v1/cluster/nodes/n3/drain", nil, &dr)
	if dr.Moved != len(onN3) {
		t.Errorf("drain moved %d, n3 held %d", dr.Moved, len(onN3))
	}
	if left := c.active(n1)["n3"]; len(left) != 0 {
		t.Errorf("n3 still holds %v after draining", left)
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		if h := c.check("n3", ""); h != api.HealthWarning {
			return fmt.Errorf("draining n3 is %s in Consul, want warning", h)
		}
		return nil
	})
	if err := n3.Stop(); err != nil {
		t.Errorf("n3 exit: %v", err)
	}
	c.awaitPassing("n1", "n2")
	t.Logf("drain: n3 moved %d sandboxes and left in %v", dr.Moved, time.Since(phase).Round(time.Millisecond))
	for _, id := range ids {
		if v, err := c.exec(n2, id, "n"); err != nil || v != strconv.Itoa(acked[id]) {
			t.Errorf("%s after n3 left: n = %q, %v; want %d", id, v, err, acked[id])
		}
	}

	// A member whose heartbeats stall (SIGSTOP past its TTL) turns
	// critical, and rejoins by itself when it resumes.
	phase = time.Now()
	c.Pause("n2")
	testkit.Eventually(t, 30*time.Second, func() error {
		if h := c.check("n2", ""); h != api.HealthCritical {
			return fmt.Errorf("stalled n2 is %s", h)
		}
		return nil
	})
	t.Logf("stall: n2 critical %v after SIGSTOP", time.Since(phase).Round(time.Millisecond))
	phase = time.Now()
	c.Resume("n2")
	// Rejoined: its heartbeat passes again and the others see it alive.
	// (Its readiness may report a cache tier still backing off after the
	// stall, a warning, for a few seconds.)
	testkit.Eventually(t, 30*time.Second, func() error {
		if st := c.check("n2", "otpbox heartbeat"); st != api.HealthPassing {
			return fmt.Errorf("n2's heartbeat is %s: %s", st, c.checks())
		}
		var nodes server.NodeList
		if _, err := c.call(n1, "GET", "/v1/cluster/nodes", nil, &nodes); err != nil {
			return err
		}
		for _, n := range nodes.Nodes {
			if n.Name == "n2" && n.Status == "alive" {
				return nil
			}
		}
		return fmt.Errorf("n1 does not see n2 alive: %+v", nodes.Nodes)
	})
	t.Logf("stall: n2 alive again %v after SIGCONT (checks not passing: %q)", time.Since(phase).Round(time.Millisecond), c.checks())
	for _, id := range ids {
		if v, err := c.exec(n2, id, "n"); err != nil || v != strconv.Itoa(acked[id]) {
			t.Errorf("%s after the stall: n = %q, %v; want %d", id, v, err, acked[id])
		}
	}

	// Remote request latency: a sandbox on n1 called through n2.
	var remote, local time.Duration
	const rounds = 50
	onN1 := c.active(n2)["n1"]
	if len(onN1) > 0 {
		for range rounds {
			start := time.Now()
			_, _ = c.exec(n2, onN1[0], "n")
			remote += time.Since(start)
			start = time.Now()
			_, _ = c.exec(n1, onN1[0], "n")
			local += time.Since(start)
		}
		t.Logf("HTTP exec of a read: %v through the hosting node, %v through another node",
			(local / rounds).Round(time.Microsecond), (remote / rounds).Round(time.Microsecond))
	}
}

// scalingOp is an operation of GET /v1/cluster/scaling.
type scalingOp struct {
	Kind       string    `json:"kind"`
	Reason     string    `json:"reason"`
	State      string    `json:"state"`
	Nodes      []string  `json:"nodes"`
	Removed    []string  `json:"removed"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
}

func (c *e2eCluster) scaling(m *testkit.Node) []scalingOp {
	c.t.Helper()
	var out struct {
		Operations []scalingOp `json:"operations"`
	}
	c.must(m, "GET", "/v1/cluster/scaling", nil, &out)
	return out.Operations
}

// TestAutoScalingOnConsul: `otpbox bench` pushes a node's utilization
// over the threshold, its ScalabilityManager's process provider starts a
// node that joins through Consul and receives new sandboxes; when the load
// stops, that node drains and leaves with no sandbox lost.
func TestAutoScalingOnConsul(t *testing.T) {
	c := newE2ECluster(t)
	// The cooldown keeps the added node until the checks below are done:
	// scale-in may start once the load stops and the cooldown since the
	// scale-out has passed (with 5 s and 3,000 requests, a run whose load
	// outlasted the scale-out by 5 s lost its added node before the test
	// looked at it).
	n1 := c.start("n1", "--scaling-provider", "process", "--min-nodes", "1", "--max-nodes", "2",
		"--max-connections-per-node", "10", "--scaling-interval", "250ms", "--scaling-cooldown", "20s")
	c.awaitPassing("n1")

	// Load: 20 concurrent create → exec → terminate cycles, far over 10
	// slots, for a few seconds.
	start := time.Now()
	out, err := exec.Command(c.Binary(), "bench", "--addr", n1.URL(), "--levels", "20",
		"--requests-per-level", "1500", "--json").CombinedOutput()
	if err != nil {
		t.Fatalf("otpbox bench: %v\n%s", err, out)
	}
	t.Logf("otpbox bench (%v): %s", time.Since(start).Round(time.Millisecond), out)
	var added string
	testkit.Eventually(t, 60*time.Second, func() error {
		for _, op := range c.scaling(n1) {
			if op.Kind == "scale_out" && op.State == "succeeded" && len(op.Nodes) == 1 {
				added = op.Nodes[0]
				t.Logf("scale-out (%s): %s joined %v after the operation started (%v after the load began)", op.Reason,
					added, op.FinishedAt.Sub(op.StartedAt).Round(time.Millisecond), op.FinishedAt.Sub(start).Round(time.Millisecond))
				return nil
			}
		}
		return fmt.Errorf("no scale-out yet: %+v", c.scaling(n1))
	})
	c.awaitPassing("n1", added)

	// The new node receives new sandboxes (weighted round-robin over two
	// equal members), each with state.
	testkit.Eventually(t, 10*time.Second, func() error {
		var nodes server.NodeList
		if _, err := c.call(n1, "GET", "/v1/cluster/nodes", nil, &nodes); err != nil {
			return err
		}
		for _, n := range nodes.Nodes {
			if n.Name == added && n.Status == "alive" && n.Health == "passing" {
				return nil
			}
		}
		return fmt.Errorf("n1 does not see %s passing: %+v", added, nodes.Nodes)
	})
	ids := []string{"k0", "k1", "k2", "k3"}
	placed := map[string]int{}
	for _, id := range ids {
		var in server.Info
		c.must(n1, "POST", "/v1/sandboxes", map[string]any{"id": id}, &in)
		placed[in.Node]++
		if _, err := c.exec(n1, id, "v = '"+id+"'"); err != nil {
			t.Fatal(err)
		}
	}
	if placed[added] == 0 {
		t.Fatalf("the new node got no sandbox: %v", placed)
	}

	// Load stopped: 4 sandboxes over 20 slots is under the scale-in
	// threshold (and 4 over 10 under the scale-out one), so the added node
	// drains and leaves.
	testkit.Eventually(t, 90*time.Second, func() error {
		for _, op := range c.scaling(n1) {
			if op.Kind == "scale_in" && op.State == "succeeded" && slices.Contains(op.Removed, added) {
				t.Logf("scale-in (%s): %s drained and removed in %v", op.Reason, added, op.FinishedAt.Sub(op.StartedAt).Round(time.Millisecond))
				return nil
			}
		}
		var st json.RawMessage
		_, _ = c.call(n1, "GET", "/v1/cluster/status", nil, &st)
		return fmt.Errorf("no scale-in yet: %+v; status %s", c.scaling(n1), st)
	})
	c.awaitPassing("n1")
	for _, id := range ids {
		if v, err := c.exec(n1, id, "v"); err != nil || v != `"`+id+`"` {
			t.Errorf("%s after scale-in: v = %s, %v", id, v, err)
		}
	}
	if got := c.active(n1); len(got["n1"]) != len(ids) {
		t.Errorf("after scale-in: %v", got)
	}
}

// TestRebalancingOnConsul: sandboxes created while one node was alone move,
// with their state, to a node that joins later, by the leader's
// LoadBalancer, until the spread is within the threshold.
func TestRebalancingOnConsul(t *testing.T) {
	c := newE2ECluster(t)
	fast := []string{"--health-check-interval", "250ms"}
	n1 := c.start("n1", fast...)
	c.awaitPassing("n1")
	ids := []string{"r0", "r1", "r2", "r3", "r4", "r5"}
	for i, id := range ids {
		c.must(n1, "POST", "/v1/sandboxes", map[string]any{"id": id}, nil)
		if _, err := c.exec(n1, id, "v = "+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	c.start("n2", fast...)
	c.awaitPassing("n1", "n2")
	testkit.Eventually(t, 30*time.Second, func() error {
		got := c.active(n1)
		if len(got["n1"]) != 3 || len(got["n2"]) != 3 {
			return fmt.Errorf("active: %v", got)
		}
		return nil
	})
	t.Logf("rebalancing: 3 of 6 sandboxes moved to the new node %v after it started", time.Since(start).Round(time.Millisecond))
	for i, id := range ids {
		if v, err := c.exec(n1, id, "v"); err != nil || v != strconv.Itoa(i) {
			t.Errorf("%s after rebalancing: v = %q, %v", id, v, err)
		}
	}
	// The distribution follows the members' heartbeats, a beat behind.
	testkit.Eventually(t, 10*time.Second, func() error {
		var dist struct {
			Spread float64 `json:"spread"`
		}
		if _, err := c.call(n1, "GET", "/v1/cluster/load", nil, &dist); err != nil {
			return err
		}
		if dist.Spread > 0.3 {
			return fmt.Errorf("spread after rebalancing = %v", dist.Spread)
		}
		return nil
	})
}

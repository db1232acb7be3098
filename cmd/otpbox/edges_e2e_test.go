package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otpbox/otpbox/api"
	"github.com/otpbox/otpbox/testkit"
)

// nodesOf reads member m's GET /v1/cluster/nodes.
func nodesOf(m *testkit.Node) (api.NodeList, error) {
	var l api.NodeList
	resp, err := http.Get(m.URL() + "/v1/cluster/nodes")
	if err != nil {
		return l, err
	}
	defer resp.Body.Close()
	return l, json.NewDecoder(resp.Body).Decode(&l)
}

// TestFreshLoadOnDefaultConsul is the issue's "20 s after a drain moved
// 10 sandboxes, /v1/cluster/nodes still showed the old counts on every
// member", on a Consul agent with its default check_update_interval (5
// minutes): the members see each other's load within a few heartbeats,
// and each says at start that its agent makes the catalog stale.
func TestFreshLoadOnDefaultConsul(t *testing.T) {
	// No rebalancing: the ten sandboxes stay on n1 until the drain moves
	// them (the leader would spread them).
	c := testkit.StartCluster(t, testkit.ClusterConfig{ConsulHCL: []string{`check_update_interval = "5m"`},
		Args: []string{"--rebalancing-enabled=false"}})
	ctx := t.Context()
	n1 := c.Client("n1")
	for i := range 10 {
		id := fmt.Sprint("fresh", i)
		if _, err := n1.Sandboxes().Create(ctx, id, api.Requirements{}); err != nil {
			t.Fatal(err)
		}
		if _, err := n1.Sandboxes().Migrate(ctx, id, "n1"); err != nil {
			t.Fatal(err)
		}
		if _, err := n1.Sandboxes().Exec(ctx, id, "1"); err != nil { // active on n1
			t.Fatal(err)
		}
	}
	sees := func(want int) func() error {
		return func() error {
			for _, m := range c.Members() {
				l, err := nodesOf(m)
				if err != nil {
					return err
				}
				if len(l.Warnings) == 0 || !strings.Contains(l.Warnings[0], "check_update_interval") {
					return fmt.Errorf("%s: no warning about the agent: %q", m.Name, l.Warnings)
				}
				for _, n := range l.Nodes {
					if n.Name == "n1" && (n.Load == nil || n.Load.Sandboxes != want || n.LoadSource == "consul") {
						return fmt.Errorf("%s sees n1 with load %+v from %q, want %d sandboxes", m.Name, n.Load, n.LoadSource, want)
					}
				}
			}
			return nil
		}
	}
	testkit.Eventually(t, 15*time.Second, sees(10))
	if _, err := n1.Cluster().Drain(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	// Heartbeats are TTL/3; five minutes would be the catalog's.
	testkit.Eventually(t, 15*time.Second, sees(0))
}

// redisProcess is a redis-server the test stops and starts again on the
// same port, keeping its data (append-only file).
type redisProcess struct {
	t    *testing.T
	addr string
	dir  string
	cmd  *exec.Cmd
}

func startRedis(t *testing.T) *redisProcess {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	r := &redisProcess{t: t, addr: addr, dir: t.TempDir()}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *redisProcess) start() {
	r.t.Helper()
	_, port, _ := net.SplitHostPort(r.addr)
	r.cmd = exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "yes", "--appendfsync", "always", "--dir", r.dir)
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	testkit.Eventually(r.t, 10*time.Second, func() error {
		c, err := net.Dial("tcp", r.addr)
		if err == nil {
			c.Close()
		}
		return err
	})
}

func (r *redisProcess) stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

// wantKind reports nil when err is a problem of kind.
func wantKind(err error, kind api.Kind) error {
	var perr *api.Error
	if errors.As(err, &perr) && perr.Kind == kind {
		return nil
	}
	return fmt.Errorf("got %v, want %s", err, kind)
}

// TestBreakersFailFastAndRecover is the issue's "a failing Redis or an
// unreachable member is retried by every request on its own": with Redis
// stopped, then a member stopped (SIGSTOP, still passing in Consul), the
// node answers 503 circuit_open at once, shows the breakers open, and
// serves again when they are back.
func TestBreakersFailFastAndRecover(t *testing.T) {
	redis := startRedis(t)
	c := testkit.StartCluster(t, testkit.ClusterConfig{Members: 2, Redis: redis.addr, ConsulTTL: 30 * time.Second,
		Args: []string{"--breaker-failures", "2", "--breaker-open-for", "2s", "--request-timeout", "3s"}})
	ctx := t.Context()
	n1, err := api.NewClient(&api.Config{Address: c.Member("n1").URL(), Retry: api.NoRetry})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n1.Close)
	once := func() context.Context { return ctx }
	for id, node := range map[string]string{"a": "n1", "b": "n2"} {
		if _, err := n1.Sandboxes().Create(ctx, id, api.Requirements{}); err != nil {
			t.Fatal(err)
		}
		if _, err := n1.Sandboxes().Migrate(ctx, id, node); err != nil {
			t.Fatal(err)
		}
		if _, err := n1.Sandboxes().Exec(ctx, id, "n = 1"); err != nil {
			t.Fatal(err)
		}
	}

	// Redis goes away: after two failures the store's breaker opens.
	redis.stop()
	testkit.Eventually(t, 30*time.Second, func() error {
		_, err := n1.Sandboxes().Exec(once(), "a", "n += 1")
		return wantKind(err, api.ErrCircuitOpen)
	})
	_, err = n1.Sandboxes().Exec(once(), "a", "n += 1")
	var perr *api.Error
	if !errors.As(err, &perr) || perr.Kind != api.ErrCircuitOpen || perr.RetryAfter <= 0 || !strings.Contains(perr.Detail, "sandbox store") {
		t.Fatalf("exec while the store's breaker is open = %v", err)
	}
	l, err := nodesOf(c.Member("n1"))
	if err != nil {
		t.Fatal(err)
	}
	if !breakerIs(l, "n1", "store", "open") {
		t.Fatalf("n1's store breaker is not open: %+v", l.Nodes)
	}
	redis.start()
	testkit.Eventually(t, 30*time.Second, func() error {
		_, err := n1.Sandboxes().Exec(once(), "a", "n")
		return err
	})

}

// TestMemberBreakerFailsFastAndRecovers is the member half: n2 is
// reachable by Consul (its checks pass) but not by n1 (a partition of
// the members' network, made by a proxy in front of n2's remote, which
// n2 advertises with --cluster-advertise). Calls for n2's sandbox fail
// fast with 503 circuit_open once n1's breaker for n2 opened, the breaker
// shows in /v1/cluster/nodes, and the calls are served again once the
// partition heals.
func TestMemberBreakerFailsFastAndRecovers(t *testing.T) {
	c := testkit.StartCluster(t, testkit.ClusterConfig{Members: 1, ConsulTTL: 30 * time.Second,
		Args: []string{"--breaker-failures", "2", "--breaker-open-for", "2s", "--request-timeout", "3s"}})
	remote := freePort(t)
	proxy := startPartitionProxy(t, remote)
	c.Add("n2", "--cluster-addr", remote, "--cluster-advertise", proxy.addr)
	c.WaitSettled()
	ctx := t.Context()
	n1 := c.Client("n1")
	if _, err := n1.Sandboxes().Create(ctx, "b", api.Requirements{}); err != nil {
		t.Fatal(err)
	}
	if _, err := n1.Sandboxes().Migrate(ctx, "b", "n2"); err != nil {
		t.Fatal(err)
	}
	if _, err := n1.Sandboxes().Exec(ctx, "b", "n = 1"); err != nil {
		t.Fatal(err)
	}

	proxy.cut()
	testkit.Eventually(t, 30*time.Second, func() error {
		_, err := n1.Sandboxes().Exec(ctx, "b", "n += 1")
		return wantKind(err, api.ErrCircuitOpen)
	})
	l, err := nodesOf(c.Member("n1"))
	if err != nil {
		t.Fatal(err)
	}
	if !breakerIs(l, "n2", "member/n2", "open") { // shown on the row of the member it guards
		t.Fatalf("n1's breaker for n2 is not open: %+v", l.Nodes)
	}
	for _, n := range l.Nodes {
		if n.Name == "n2" && n.Health != "passing" {
			t.Fatalf("n2 is %s in Consul: the partition must be between the members only", n.Health)
		}
	}

	proxy.heal()
	testkit.Eventually(t, 30*time.Second, func() error {
		_, err := n1.Sandboxes().Exec(ctx, "b", "n")
		return err
	})
	res, err := n1.Sandboxes().Exec(ctx, "b", "n")
	if err != nil || res.Value != "1" {
		t.Fatalf("after the partition: n = %+v, %v; want 1 (nothing applied while it was open)", res, err)
	}
}

// freePort returns a loopback address with a port free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// partitionProxy forwards TCP connections to a member's remote until cut:
// then it closes every connection and refuses new ones, until healed.
type partitionProxy struct {
	addr   string
	target string
	mu     sync.Mutex
	l      net.Listener
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

func startPartitionProxy(t *testing.T, target string) *partitionProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &partitionProxy{addr: l.Addr().String(), target: target, conns: map[net.Conn]struct{}{}}
	p.serve(l)
	t.Cleanup(func() {
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *partitionProxy) serve(l net.Listener) {
	p.mu.Lock()
	p.l = l
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			in, err := l.Accept()
			if err != nil {
				return // cut
			}
			out, err := net.Dial("tcp", p.target)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns[in], p.conns[out] = struct{}{}, struct{}{}
			p.mu.Unlock()
			for _, pair := range [][2]net.Conn{{in, out}, {out, in}} {
				p.wg.Add(1)
				go func() {
					defer p.wg.Done()
					_, _ = io.Copy(pair[0], pair[1])
					pair[0].Close()
					pair[1].Close()
				}()
			}
		}
	}()
}

// cut closes the listener and every connection.
func (p *partitionProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.l != nil {
		p.l.Close()
		p.l = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// heal listens again on the same address.
func (p *partitionProxy) heal() {
	l, err := net.Listen("tcp", p.addr)
	if err != nil {
		panic(err) // the port was ours a moment ago
	}
	p.serve(l)
}

func breakerIs(l api.NodeList, node, name, state string) bool {
	for _, n := range l.Nodes {
		if n.Name != node {
			continue
		}
		for _, b := range n.Breakers {
			if b.Name == name {
				return b.State == state
			}
		}
	}
	return false
}

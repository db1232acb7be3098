package testkit

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otpbox/otpbox/api"
	"github.com/otpbox/otpbox/cluster/consul/consultest"
	"github.com/otpbox/otpbox/sandbox/store/redis/redistest"
)

// Defaults of ClusterConfig.
const (
	DefaultMembers    = 3
	DefaultConsulTTL  = time.Second
	DefaultSettleTime = 60 * time.Second
)

// ClusterConfig configures StartCluster. The zero value is three members
// named n1, n2 and n3.
type ClusterConfig struct {
	// Members is the number of members started at once, named n1, n2, …
	// (default DefaultMembers; negative: none, add them with Add).
	Members int
	// Name is the cluster's name and Consul service (default "testkit").
	Name string
	// Args are more flags of every member's `otpbox node`.
	Args []string
	// Binary is the otpbox binary; default $OTPBOX_BINARY, else one built
	// for the test (BuildBinary).
	Binary string
	// ConsulTTL is the members' heartbeat TTL (default 1s: a dead member
	// is noticed in about a second).
	ConsulTTL time.Duration
	// ConsulHCL is more configuration of the Consul agent, each an HCL
	// text (for example `check_update_interval = "5m"`, an agent's
	// default, which the test agent otherwise sets to 0s).
	ConsulHCL []string
	// Redis is the host:port of a Redis the test runs itself (to stop and
	// start it); default one started for the cluster.
	Redis string
}

// Cluster is a real otpbox cluster for one test, as Orleans'
// TestCluster is for Orleans: `otpbox node` processes on 127.0.0.1 that
// join through a real Consul agent and share a real Redis, both started
// for the test (the Consul binary and redis-server are found as `make
// test` installs them). Every process is stopped in t.Cleanup, and the
// members' logs are shown if the test failed.
//
// Its methods must be called from the test goroutine; the *Node members
// may be used from any goroutine.
type Cluster struct {
	t     testing.TB
	cfg   ClusterConfig
	agent *consultest.Agent
	redis string
	bin   string

	mu      sync.Mutex // protects members
	members []*Node
}

// StartCluster starts Consul, Redis and cfg.Members members, and waits
// until the membership settles (WaitSettled). It skips the test under
// -short (it builds a binary and starts processes).
func StartCluster(t testing.TB, cfg ClusterConfig) *Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("testkit: StartCluster starts Consul, Redis and otpbox processes; skipped with -short")
	}
	if cfg.Members == 0 {
		cfg.Members = DefaultMembers
	}
	if cfg.Name == "" {
		cfg.Name = "testkit"
	}
	if cfg.ConsulTTL <= 0 {
		cfg.ConsulTTL = DefaultConsulTTL
	}
	c := &Cluster{t: t, cfg: cfg, agent: consultest.StartWith(t, cfg.ConsulHCL...), redis: cfg.Redis, bin: cfg.Binary}
	if c.redis == "" {
		c.redis = redistest.Start(t).Addr
	}
	if c.bin == "" {
		c.bin = os.Getenv(BinaryEnv)
	}
	if c.bin == "" {
		bin, err := BuildBinary(context.Background(), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		c.bin = bin
	}
	t.Cleanup(c.stopAll)
	for i := 1; i <= cfg.Members; i++ {
		c.Add(fmt.Sprintf("n%d", i))
	}
	if cfg.Members > 0 {
		c.WaitSettled()
	}
	return c
}

// Add starts a member named name with the cluster's flags and args, and
// returns once its API answers (it may not be passing in Consul yet:
// WaitSettled waits for that).
func (c *Cluster) Add(name string, args ...string) *Node {
	c.t.Helper()
	if c.Member(name) != nil {
		c.t.Fatalf("testkit: member %s exists; Restart it instead", name)
	}
	flags := []string{"--admin", "off", "--consul", c.agent.Addr, "--cluster", c.cfg.Name,
		"--redis", "redis://" + c.redis, "--consul-ttl", c.cfg.ConsulTTL.String(), "--drain-timeout", "20s"}
	flags = append(append(flags, c.cfg.Args...), args...)
	n, err := LaunchNode(context.Background(), NodeOptions{Binary: c.bin, Name: name, Dir: c.t.TempDir(), Args: flags})
	if err != nil {
		c.t.Fatal(err)
	}
	c.mu.Lock()
	c.members = append(c.members, n)
	c.mu.Unlock()
	return n
}

// Members returns the members in the order they were added, running or
// not.
func (c *Cluster) Members() []*Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.members)
}

// Member returns the member named name, or nil.
func (c *Cluster) Member(name string) *Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.members {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// Client returns an api client of member name's API.
func (c *Cluster) Client(name string) *api.Client {
	c.t.Helper()
	n := c.Member(name)
	if n == nil {
		c.t.Fatalf("testkit: no member %s", name)
	}
	return n.Client()
}

// Consul is the cluster's Consul agent.
func (c *Cluster) Consul() *consultest.Agent { return c.agent }

// Redis is the host:port of the cluster's Redis.
func (c *Cluster) Redis() string { return c.redis }

// Binary is the otpbox binary the members run.
func (c *Cluster) Binary() string { return c.bin }

// Kill kills member name at once (kill -9).
func (c *Cluster) Kill(name string) { c.must(name).Kill() }

// Stop stops member name gracefully and fails the test unless it exited
// 0.
func (c *Cluster) Stop(name string) {
	c.t.Helper()
	if err := c.must(name).Stop(); err != nil {
		c.t.Fatalf("testkit: stop %s: %v", name, err)
	}
}

// Pause stops member name with SIGSTOP; Resume continues it.
func (c *Cluster) Pause(name string) {
	c.t.Helper()
	if err := c.must(name).Pause(); err != nil {
		c.t.Fatal(err)
	}
}

// Resume continues member name after Pause.
func (c *Cluster) Resume(name string) {
	c.t.Helper()
	if err := c.must(name).Resume(); err != nil {
		c.t.Fatal(err)
	}
}

// Restart starts member name again (stopping it gracefully first if it
// runs) on the same port and data directory.
func (c *Cluster) Restart(name string) {
	c.t.Helper()
	if err := c.must(name).Restart(context.Background()); err != nil {
		c.t.Fatal(err)
	}
}

func (c *Cluster) must(name string) *Node {
	c.t.Helper()
	n := c.Member(name)
	if n == nil {
		c.t.Fatalf("testkit: no member %s", name)
	}
	return n
}

// live returns the names of the members that run and are not paused.
func (c *Cluster) live() []string {
	var names []string
	for _, n := range c.Members() {
		if n.Running() && !n.Paused() {
			names = append(names, n.Name)
		}
	}
	slices.Sort(names)
	return names
}

// WaitSettled waits (60 s at most) until the membership agrees with the
// processes: every member that runs and is not paused sees exactly those
// members alive and passing (GET /v1/cluster/nodes), and the others
// (killed, stopped, paused) not alive.
func (c *Cluster) WaitSettled() {
	c.t.Helper()
	c.WaitSettledWithin(DefaultSettleTime)
}

// WaitSettledWithin is WaitSettled with its own deadline.
func (c *Cluster) WaitSettledWithin(timeout time.Duration) {
	c.t.Helper()
	Eventually(c.t, timeout, c.settled)
}

// settled reports nil once every live member sees exactly the live
// members alive and passing.
func (c *Cluster) settled() error {
	want := c.live()
	if len(want) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, name := range want {
		nodes, err := c.Member(name).Client().Cluster().Nodes(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		var alive []string
		for _, n := range nodes {
			if n.Status == "alive" && n.Health == "passing" {
				alive = append(alive, n.Name)
			}
		}
		slices.Sort(alive)
		if !slices.Equal(alive, want) {
			return fmt.Errorf("%s sees %v alive and passing, want %v", name, alive, want)
		}
	}
	return nil
}

// stopAll stops every member gracefully (a member started by the
// process scaling provider is stopped by its parent), and shows their
// logs if the test failed.
func (c *Cluster) stopAll() {
	var wg sync.WaitGroup
	for _, n := range c.Members() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := n.Stop(); err != nil && !strings.Contains(err.Error(), "signal: killed") {
				c.t.Logf("testkit: stop %s: %v", n.Name, err)
			}
		}()
	}
	wg.Wait()
	if c.t.Failed() {
		for _, n := range c.Members() {
			c.t.Logf("testkit: log of member %s:\n%s", n.Name, n.Log())
		}
	}
}

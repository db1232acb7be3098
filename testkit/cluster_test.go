package testkit_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/otpbox/otpbox/api"
	"github.com/otpbox/otpbox/testkit"
)

// TestStartClusterExample runs the statements of ExampleStartCluster.
func TestStartClusterExample(t *testing.T) {
	c := testkit.StartCluster(t, testkit.ClusterConfig{Members: 3}) // Consul, Redis, n1…n3, settled
	ctx := context.Background()
	n1 := c.Client("n1")
	hosts := map[string]string{}
	for _, id := range []string{"cart-1", "cart-2", "cart-3"} {
		info, err := n1.Sandboxes().Create(ctx, id, api.Requirements{})
		if err != nil {
			t.Fatal(err)
		}
		hosts[id] = info.Node
		if _, err := n1.Sandboxes().Exec(ctx, id, "items = ['book']"); err != nil {
			t.Fatal(err)
		}
	}
	if len(hosts) != 3 || hosts["cart-1"] == hosts["cart-2"] {
		t.Fatalf("placement: %v", hosts)
	}

	victim := hosts["cart-2"]
	c.Kill(victim)
	via := c.Client(hosts["cart-3"]) // any survivor
	testkit.Eventually(t, 30*time.Second, func() error {
		res, err := via.Sandboxes().Exec(ctx, "cart-2", "len(items)")
		if err == nil && res.Value != "1" {
			err = fmt.Errorf("the cart lost its items: len = %s", res.Value)
		}
		return err
	})

	c.Restart(victim) // the same port and data directory
	c.WaitSettled()   // every member sees the three alive and passing
}

// TestClusterFixture: pause stalls a member until the others see it not
// alive, resume brings it back, a graceful stop exits 0, Add joins a new
// member.
func TestClusterFixture(t *testing.T) {
	c := testkit.StartCluster(t, testkit.ClusterConfig{Members: 2})
	c.Pause("n2")
	if !c.Member("n2").Paused() {
		t.Fatal("n2 not paused")
	}
	c.WaitSettled() // n1 sees n2 no longer alive
	c.Resume("n2")
	c.WaitSettled()
	c.Add("n3", "--zone", "east")
	c.WaitSettled()
	nodes, err := c.Client("n3").Cluster().Nodes(context.Background())
	if err != nil || len(nodes) != 3 {
		t.Fatalf("n3 sees %v, %v", nodes, err)
	}
	c.Stop("n1")
	if c.Member("n1").Running() {
		t.Error("n1 still runs after Stop")
	}
	c.WaitSettled()
	if err := c.Member("n1").Stop(); err != nil {
		t.Errorf("stopping a stopped member = %v", err)
	}
}

// TestLaunchNode starts one node without Consul, restarts it on the same
// data directory, and closes it.
func TestLaunchNode(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs otpbox")
	}
	ctx := context.Background()
	n, err := testkit.LaunchNode(ctx, testkit.NodeOptions{Name: "solo"})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	s := n.Client().Sandboxes()
	if _, err := s.Create(ctx, "s1", api.Requirements{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Exec(ctx, "s1", "x = 7"); err != nil {
		t.Fatal(err)
	}
	if err := n.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := s.Exec(ctx, "s1", "x")
	if err != nil || res.Value != "7" {
		t.Errorf("after a restart: x = %v, %v", res, err)
	}
	if err := n.Close(); err != nil {
		t.Errorf("Close = %v, want a clean exit", err)
	}
}

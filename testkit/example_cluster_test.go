package testkit_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/otpbox/otpbox/api"
	"github.com/otpbox/otpbox/testkit"
)

// A Go service's behaviour test against a real three-member cluster,
// through the api client: sandboxes are spread over the members, and one
// keeps its state when its member is killed (kill -9). StartCluster needs
// the test's *testing.T, so this example is compiled, not run:
// TestStartClusterExample runs the same statements.
func ExampleStartCluster() {
	var t *testing.T // the test's t

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

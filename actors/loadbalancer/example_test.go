package loadbalancer_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/otpbox/otpbox/actors/loadbalancer"
	"github.com/otpbox/otpbox/cluster"
)

// The Balancer places activations directly, as the cluster's Placer. The
// default strategy, smooth weighted round-robin, interleaves nodes by
// capacity: weights 5, 1 and 1 give nginx's sequence.
func Example() {
	b, err := loadbalancer.NewBalancer(loadbalancer.Config{})
	if err != nil {
		panic(err)
	}
	var placer cluster.Placer = b
	candidates := []cluster.Member{
		{Name: "a", Health: cluster.Passing, Capacity: cluster.Capacity{Slots: 5}},
		{Name: "b", Health: cluster.Passing, Capacity: cluster.Capacity{Slots: 1}},
		{Name: "c", Health: cluster.Passing, Capacity: cluster.Capacity{Slots: 1}},
	}
	var seq []string
	for i := range 7 {
		node, _ := placer.Place(context.Background(), fmt.Sprintf("sandbox-%d", i), candidates)
		seq = append(seq, node)
	}
	fmt.Println(strings.Join(seq, " "))

	b.NodeDown("a")
	node, _ := placer.Place(context.Background(), "sandbox-7", candidates)
	fmt.Println("a down:", node)

	d := b.Distribution()
	for _, n := range d.Nodes {
		fmt.Printf("%s health=%q placed=%d\n", n.Node, n.Health, n.Placed)
	}
	// Output:
	// a a b a c a a
	// a down: b
	// a health="critical" placed=5
	// b health="" placed=2
	// c health="" placed=1
}

func ExampleParseStrategy() {
	s, err := loadbalancer.ParseStrategy(":least_connections") // as in the design's config
	fmt.Println(s, err)
	_, err = loadbalancer.ParseStrategy("fastest")
	fmt.Println(err)
	// Output:
	// least_connections <nil>
	// loadbalancer: unknown strategy: "fastest"
}

package loadbalancer_test

import (
	"fmt"
	"testing"

	"github.com/otpbox/otpbox/actors/loadbalancer"
	"github.com/otpbox/otpbox/cluster"
)

// benchCandidates returns n passing members with varied capacity and a
// balancer that has a report for each.
func benchSetup(b *testing.B, s loadbalancer.Strategy, n int) (*loadbalancer.Balancer, []cluster.Member, []string) {
	b.Helper()
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("node-%02d", i)
	}
	cands := passing(names...)
	bal := newBalancer(b, loadbalancer.Config{Strategy: s})
	for i := range cands {
		cands[i].Capacity = cluster.Capacity{Slots: 50 + 10*(i%5), CPUs: 8, MemoryBytes: 8 << 30}
		bal.Report(cands[i].Name, cluster.Load{Sandboxes: 10 * (i % 7), Mailbox: i % 11,
			LatencyMS: float64(5 + i%13), Memory: float64(i%10) / 10, CPU: float64(i%4) / 4})
	}
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = fmt.Sprintf("sandbox-%d", i)
	}
	return bal, cands, keys
}

// BenchmarkPlace is one placement per strategy over 3 and 50 candidates,
// with cluster.RoundRobin as the baseline.
func BenchmarkPlace(b *testing.B) {
	for _, n := range []int{3, 50} {
		b.Run(fmt.Sprintf("strategy=baseline/nodes=%d", n), func(b *testing.B) {
			_, cands, keys := benchSetup(b, loadbalancer.RoundRobin, n)
			var rr cluster.RoundRobin
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := rr.Place(ctx, keys[i%len(keys)], cands); err != nil {
					b.Fatal(err)
				}
			}
		})
		for _, s := range loadbalancer.Strategies() {
			b.Run(fmt.Sprintf("strategy=%s/nodes=%d", s, n), func(b *testing.B) {
				bal, cands, keys := benchSetup(b, s, n)
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					if _, err := bal.Place(ctx, keys[i%len(keys)], cands); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkPlaceParallel places from GOMAXPROCS goroutines at once: the
// cost of the Balancer's one lock.
func BenchmarkPlaceParallel(b *testing.B) {
	for _, n := range []int{3, 50} {
		for _, s := range []loadbalancer.Strategy{loadbalancer.WeightedRoundRobin, loadbalancer.ConsistentHash} {
			b.Run(fmt.Sprintf("strategy=%s/nodes=%d", s, n), func(b *testing.B) {
				bal, cands, keys := benchSetup(b, s, n)
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for i := 0; pb.Next(); i++ {
						if _, err := bal.Place(ctx, keys[i%len(keys)], cands); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}

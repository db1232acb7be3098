package supervision_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/otpbox/otpbox/supervision"
)

// The two scaling cases of OTP's supervisor_SUITE are timings, so they are
// benchmarks here. Each op starts n children, then terminates them one by
// one, as OTP's cases do; ns/child is the time per child. OTP asks that
// the time grow linearly with n: ns/child must not grow with n.
// BenchmarkSupervisorSuite_baseline spawns and stops n bare protoactor
// actors the same way.

var scaleSizes = []int{100, 1000, 10000}

// perChild reports the time per child of b's ops of n children.
func perChild(b *testing.B, n int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/child")
}

// BenchmarkSupervisorSuite_simple_one_for_one_scale_many_temporary_children:
// n temporary children of a simple_one_for_one supervisor, terminated by
// pid.
func BenchmarkSupervisorSuite_simple_one_for_one_scale_many_temporary_children(b *testing.B) {
	for _, n := range scaleSizes {
		b.Run(fmt.Sprintf("children=%d", n), func(b *testing.B) {
			system := quietSystem()
			defer system.Shutdown()
			ctx := context.Background()
			sup, err := supervision.Start(system, supervision.Spec{
				Flags:    supervision.Flags{Strategy: supervision.SimpleOneForOne},
				Children: []supervision.ChildSpec{{Start: supervision.Spawn(func() actor.Actor { return echo{} }), Restart: supervision.Temporary}},
			})
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = sup.Stop(ctx) }()
			pids := make([]*actor.PID, n)
			b.ReportAllocs()
			for b.Loop() {
				for i := range pids {
					if pids[i], err = sup.StartChildWith(ctx); err != nil {
						b.Fatal(err)
					}
				}
				for _, pid := range pids {
					if err := sup.TerminateChildPID(ctx, pid); err != nil {
						b.Fatal(err)
					}
				}
			}
			perChild(b, n)
		})
	}
}

// BenchmarkSupervisorSuite_scale_start_stop_many_children: n children of
// a one_for_one supervisor started with start_child and stopped with
// terminate_child, by id (their specs are kept: each op uses a new
// supervisor).
func BenchmarkSupervisorSuite_scale_start_stop_many_children(b *testing.B) {
	for _, n := range scaleSizes {
		b.Run(fmt.Sprintf("children=%d", n), func(b *testing.B) {
			system := quietSystem()
			defer system.Shutdown()
			ctx := context.Background()
			start := supervision.Spawn(func() actor.Actor { return echo{} })
			ids := make([]string, n)
			for i := range ids {
				ids[i] = strconv.Itoa(i)
			}
			b.ReportAllocs()
			for b.Loop() {
				sup, err := supervision.Start(system, supervision.Spec{})
				if err != nil {
					b.Fatal(err)
				}
				for _, id := range ids {
					if _, err := sup.StartChild(ctx, supervision.ChildSpec{ID: id, Start: start}); err != nil {
						b.Fatal(err)
					}
				}
				for _, id := range ids {
					if err := sup.TerminateChild(ctx, id); err != nil {
						b.Fatal(err)
					}
				}
				if err := sup.Stop(ctx); err != nil {
					b.Fatal(err)
				}
			}
			perChild(b, n)
		})
	}
}

// BenchmarkSupervisorSuite_baseline spawns n bare protoactor actors, then
// stops them one by one.
func BenchmarkSupervisorSuite_baseline(b *testing.B) {
	for _, n := range scaleSizes {
		b.Run(fmt.Sprintf("children=%d", n), func(b *testing.B) {
			system := quietSystem()
			defer system.Shutdown()
			props := actor.PropsFromProducer(func() actor.Actor { return echo{} })
			pids := make([]*actor.PID, n)
			b.ReportAllocs()
			for b.Loop() {
				for i := range pids {
					pids[i] = system.Root.Spawn(props)
				}
				for _, pid := range pids {
					if err := system.Root.StopFuture(pid).Wait(); err != nil {
						b.Fatal(err)
					}
				}
			}
			perChild(b, n)
		})
	}
}

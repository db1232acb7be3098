package otp_test

import (
	"fmt"
	"testing"

	"github.com/otpbox/otpbox/sandbox/engine"
)

// BenchmarkCall is one execution that calls a worker, in a sandbox of n
// workers with a small dict as state each and a def that makes lambdas
// (the commit then looks for lambdas the processes hold).
func BenchmarkCall(b *testing.B) {
	for _, n := range []int{1, 1000} {
		b.Run(fmt.Sprintf("workers=%d", n), func(b *testing.B) {
			box := newBox(b, engine.Limits{MaxActors: n + 10})
			box.do(fmt.Sprintf(`def mk(k):
    return lambda x: x + k
pool = start_supervisor(supervisor(strategy="simple_one_for_one",
    children=[{"start": worker(init=lambda args: {"n": args[0], "seen": []}, handle_call=lambda msg, state: (msg, state))}]))
pids = [start_child(pool, (i,)) for i in range(%d)]`, n))
			b.ReportAllocs()
			for b.Loop() {
				box.do(`call(pids[0], 1)`)
			}
		})
	}
}

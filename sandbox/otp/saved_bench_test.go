package otp_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/otpbox/otpbox/sandbox/engine"
	"github.com/otpbox/otpbox/sandbox/otp/otptest"
)

// BenchmarkSnapshot measures what a sandbox's snapshot costs its grain:
// dumping the session with its processes, restoring the dump in a new
// session, and dumping that again to compare (package sandbox does all
// three), for a tree of n workers with a small dict as state each.
func BenchmarkSnapshot(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("workers=%d", n), func(b *testing.B) {
			box := newBox(b, engine.Limits{MaxActors: n + 10})
			box.do(otptest.ReadmeTree)
			box.do(fmt.Sprintf(`pool = start_supervisor(supervisor(strategy="simple_one_for_one",
    children=[{"start": worker(init=lambda args: {"n": args[0], "seen": []}, handle_call=lambda msg, state: (msg, state))}]))
for i in range(%d):
    start_child(pool, (i,))`, n))
			var size int
			b.ReportAllocs()
			for b.Loop() {
				src, err := box.s.Dump(1 << 26)
				if err != nil {
					b.Fatal(err)
				}
				size = src.Len()
				s, _ := session(box.limits)
				if _, err := s.Restore(context.Background(), src); err != nil {
					b.Fatal(err)
				}
				again, err := s.Dump(1 << 26)
				if err != nil || !again.Equal(src) {
					b.Fatal("not equal", err)
				}
			}
			b.ReportMetric(float64(size), "bytes")
		})
	}
}

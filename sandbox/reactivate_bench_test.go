package sandbox_test

import (
	"context"
	"testing"

	"github.com/otpbox/otpbox/sandbox"
)

// BenchmarkReactivate measures the first call to a passivated sandbox
// that ran n executions: its journal is read and replayed. Without
// snapshots (SnapshotEvery -1) the journal holds all n; with the default,
// a sandbox whose state is data, functions and processes replays its
// latest snapshot and at most SnapshotEvery executions after it.
func BenchmarkReactivate(b *testing.B) {
	for _, tc := range []struct {
		name, setup, each string
		n, every          int
	}{
		{"counter/100", "n = 0", "n += 1", 100, -1},
		{"counter/10000", "n = 0", "n += 1", 10000, -1},
		{"counter/10000/snapshots", "n = 0", "n += 1", 10000, 0},
		{"dict/10000", "d = {}", "d[len(d)] = 'v'", 10000, -1},
		{"dict/10000/snapshots", "d = {}", "d[len(d)] = 'v'", 10000, 0},
		{"func/10000", "n = 0\ndef inc(k):\n    return k + 1", "n = inc(n)", 10000, -1},
		{"func/10000/snapshots", "n = 0\ndef inc(k):\n    return k + 1", "n = inc(n)", 10000, 0},
		{"otp/1000", otpSetup, "call(whereis(sup, 'c'), 'inc')", 1000, -1},
		{"otp/10000", otpSetup, "call(whereis(sup, 'c'), 'inc')", 10000, -1},
		{"otp/10000/snapshots", otpSetup, "call(whereis(sup, 'c'), 'inc')", 10000, 0},
	} {
		b.Run(tc.name, func(b *testing.B) {
			local := benchNodeWith(b, sandbox.Config{SnapshotEvery: tc.every})
			ctx := context.Background()
			if _, err := local.Create(ctx, "x", sandbox.Requirements{}); err != nil {
				b.Fatal(err)
			}
			if _, err := local.Execute(ctx, "x", tc.setup); err != nil {
				b.Fatal(err)
			}
			for range tc.n {
				if _, err := local.Execute(ctx, "x", tc.each); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := local.Passivate(ctx, "x"); err != nil {
					b.Fatal(err)
				}
				if _, err := local.Execute(ctx, "x", "1"); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(tc.n), "µs/entry")
		})
	}
}

const otpSetup = `
def init(args):
    return 0
def inc(msg, state):
    return (state + 1, state + 1)
sup = start_supervisor(supervisor(children=[{"id": "c", "start": worker(init=init, handle_call=inc)}]))
`

package sandbox_test

import (
	"context"
	"testing"

	"github.com/otpbox/otpbox/sandbox"
)

// BenchmarkReactivate measures the first call to a passivated sandbox
// whose journal holds n executions: the journal is read and replayed.
func BenchmarkReactivate(b *testing.B) {
	for _, tc := range []struct {
		name, setup, each string
		n                 int
	}{
		{"counter/100", "n = 0", "n += 1", 100},
		{"counter/10000", "n = 0", "n += 1", 10000},
		{"otp/1000", otpSetup, "call(whereis(sup, 'c'), 'inc')", 1000},
	} {
		b.Run(tc.name, func(b *testing.B) {
			local := benchNode(b)
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

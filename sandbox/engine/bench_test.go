package engine_test

import (
	"context"
	"testing"

	"github.com/otpbox/otpbox/sandbox/engine"
)

// BenchmarkSessionExec executes "1 + 1" in a bare Session: no grain, no
// journal.
func BenchmarkSessionExec(b *testing.B) {
	s := engine.NewSession(engine.Limits{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Execute(ctx, "1 + 1"); err != nil {
			b.Fatal(err)
		}
	}
}

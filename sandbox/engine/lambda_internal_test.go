package engine

import (
	"context"
	"testing"

	"go.starlark.net/starlark"
)

// TestLambdaFlood: code that hands a world a lambda many times over (a
// loop of 100,000 worker definitions) keeps the records of their sources
// within MaxHeapBytes, and the newest, the one still held, is among them.
func TestLambdaFlood(t *testing.T) {
	keep := starlark.NewBuiltin("keep", func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		KeepSource(thread, args[0].(starlark.Callable))
		return args[0], nil
	})
	s := NewSession(Limits{MaxSteps: 10_000_000}, WithBuiltins(starlark.StringDict{"keep": keep}))
	if _, err := s.Execute(context.Background(), "for i in range(100000):\n    f = keep(lambda args: 0)"); err != nil {
		t.Fatal(err)
	}
	if s.defBytes > s.limits.MaxHeapBytes {
		t.Fatalf("%d bytes of sources recorded, over MaxHeapBytes %d", s.defBytes, s.limits.MaxHeapBytes)
	}
	f, _ := s.globals["f"].(*starlark.Function)
	if s.lambdas[f] == nil {
		t.Fatalf("the lambda f holds is not recorded (%d records)", len(s.lambdas))
	}
	t.Logf("%d records, %d bytes", len(s.lambdas), s.defBytes)
}

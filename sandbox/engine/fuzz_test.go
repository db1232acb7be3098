package engine_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/otpbox/otpbox/sandbox/engine"
)

// FuzzExecute runs arbitrary code in a session holding some state. Whatever
// the code, Execute must return (no panic, no hang), a failed execution
// must leave the state untouched, and the session must stay usable.
func FuzzExecute(f *testing.F) {
	for _, seed := range []string{
		"1 + 1",
		"x = [1, 2]\nx.append(x)\nx",
		"state['n'] += 1\nL.append(state['n'])",
		"def f(n):\n  return n * 2\nf(21)",
		"while True: pass",
		"'a' * 100000000",
		"x = [1]\nfor i in range(64):\n  x = [x, x]\nstr(x)",
		"L.clear()\nfail('boom')",
		"print(L, state)",
		"s = 'ab'\nfor i in range(40):\n  s += s",
		"'%s %d' % ('x', 1)",
		"{}[[]]",
		"load('x', 'y')",
		"L[0:1:0]",
		"d = {}\nd[d] = 1",
		"state |= {'k': L}",
		"1 // 0",
		"lambda x: x",
		"[i * j for i in range(100) for j in range(100) if i % 7 == j % 5]",
		"def g(*a, **k): return a, k\ng(*L, **state)",
		"int('12' * 2000)",
		"(1 << 511) * (1 << 511)",
		"x = L[::-1][1:]\nx",
	} {
		f.Add(seed)
	}
	limits := engine.Limits{MaxSteps: 20_000, MaxDuration: 2 * time.Second, MaxHeapBytes: 64 << 10, MaxOutputBytes: 4 << 10}
	f.Fuzz(func(t *testing.T, code string) {
		s := engine.NewSession(limits)
		const setup = "L = [1, 'two', (3,)]\nstate = {'n': 0, 'm': {'deep': [L]}}"
		const probe = "repr([L, state])"
		if _, err := s.Execute(context.Background(), setup); err != nil {
			t.Fatal(err)
		}
		before, err := s.Execute(context.Background(), probe)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Execute(context.Background(), code)
		var (
			se *engine.SyntaxError
			re *engine.RuntimeError
			le *engine.LimitError
		)
		switch {
		case err == nil:
		case errors.As(err, &se), errors.As(err, &re), errors.As(err, &le):
			after, perr := s.Execute(context.Background(), probe)
			if perr != nil {
				t.Fatalf("probe after %v: %v", err, perr)
			}
			if after.Value != before.Value {
				t.Fatalf("failed execution (%v) changed state:\n%s\n%s", err, before.Value, after.Value)
			}
		default:
			t.Fatalf("unexpected error type %T: %v", err, err)
		}
		if res, err := s.Execute(context.Background(), "1 + 1"); err != nil || res.Value != "2" {
			t.Fatalf("session unusable after %q: %v, %v", code, res, err)
		}
	})
}

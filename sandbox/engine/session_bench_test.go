package engine_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/otpbox/otpbox/sandbox/engine"
)

// BenchmarkSessionExecWithGlobals executes "1 + 1" on a session holding a
// few globals: compile cache hit, fresh thread, repr of the result.
func BenchmarkSessionExecWithGlobals(b *testing.B) {
	s := engine.NewSession(engine.Limits{})
	ctx := context.Background()
	exec(b, s, "x = 1\nname = 'sandbox'\nitems = [1, 2, 3]")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Execute(ctx, "1 + 1"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSessionExecParallel executes "1 + 1" on one session per
// goroutine.
func BenchmarkSessionExecParallel(b *testing.B) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		s := engine.NewSession(engine.Limits{})
		for pb.Next() {
			if _, err := s.Execute(context.Background(), "1 + 1"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkBaselineStarlark is the floor: the same code, precompiled, run
// by the bare interpreter.
func BenchmarkBaselineStarlark(b *testing.B) {
	_, prog, err := starlark.SourceProgramOptions(&syntax.FileOptions{}, "bench", "x = 1 + 1", starlark.StringDict(nil).Has)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		g, err := prog.Init(&starlark.Thread{}, nil)
		if err != nil {
			b.Fatal(err)
		}
		_ = g["x"].String()
	}
}

// BenchmarkSessionExecMutating executes an impure chunk (a method call),
// which snapshots the containers reachable from the globals first, by the
// size of those globals.
func BenchmarkSessionExecMutating(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprintf("elems=%d", n), func(b *testing.B) {
			s := engine.NewSession(engine.Limits{})
			exec(b, s, fmt.Sprintf("data = list(range(%d))\nlog = []", n))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Execute(context.Background(), "log.append(1)\nlog.pop()"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLoop compares an arithmetic loop in a session with the bare
// interpreter: the price of charging operators.
func BenchmarkLoop(b *testing.B) {
	const code = "t = 0\nfor i in range(10000):\n  t = t + i * i\n"
	b.Run("session", func(b *testing.B) {
		s := engine.NewSession(engine.Limits{})
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Execute(context.Background(), code); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline", func(b *testing.B) {
		opts := &syntax.FileOptions{TopLevelControl: true, GlobalReassign: true}
		_, prog, err := starlark.SourceProgramOptions(opts, "bench", code, starlark.StringDict(nil).Has)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := prog.Init(&starlark.Thread{}, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkIdleSession measures what an idle session holds: 1000 sessions
// with three small globals, as a runtime.MemStats delta per session.
func BenchmarkIdleSession(b *testing.B) {
	const n = 1000
	for b.Loop() {
		sessions := make([]*engine.Session, n)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := range sessions {
			sessions[i] = engine.NewSession(engine.Limits{})
			exec(b, sessions[i], "x = 1\nname = 'sandbox'\nitems = [1, 2, 3]")
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/session")
		runtime.KeepAlive(sessions)
	}
}

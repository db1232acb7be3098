package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.starlark.net/starlark"

	"github.com/otpbox/otpbox/sandbox/engine"
	"github.com/otpbox/otpbox/testkit"
)

// isLimit reports whether err is a LimitError for limit.
func isLimit(err error, limit string) bool {
	le, ok := errors.AsType[*engine.LimitError](err)
	return ok && le.Limit == limit && errors.Is(err, engine.ErrLimitExceeded)
}

// TestLimits exceeds each limit once; every time, the session must reject
// the execution, keep its state and stay usable.
func TestLimits(t *testing.T) {
	tests := []struct {
		name   string
		limits engine.Limits
		code   string
		limit  string
	}{
		{"steps", engine.Limits{MaxSteps: 10_000}, "while True: pass", engine.LimitSteps},
		{"steps in a function", engine.Limits{MaxSteps: 10_000}, "def spin():\n  for i in range(1000000): pass\nspin()", engine.LimitSteps},
		{"duration", engine.Limits{MaxSteps: 1 << 62, MaxDuration: 50 * time.Millisecond}, "while True: pass", engine.LimitDuration},
		{"code size", engine.Limits{MaxCodeBytes: 16}, "x = 'this is more than 16 bytes'", engine.LimitCodeSize},
		{"output", engine.Limits{MaxOutputBytes: 100}, "for i in range(100):\n  print(i)", engine.LimitOutputSize},
		{"output in one print", engine.Limits{MaxOutputBytes: 100}, "print('a' * 1000)", engine.LimitOutputSize},
		{"result repr", engine.Limits{MaxOutputBytes: 100}, "'a' * 1000", engine.LimitOutputSize},
		{"globals", engine.Limits{MaxGlobals: 3}, "a = 1\nb = 2\nc = 3\nd = 4", engine.LimitGlobals},
		{"heap: new global", engine.Limits{MaxHeapBytes: 10_000}, "x = 'a' * 20000", engine.LimitHeap},
		{"heap: growing a global", engine.Limits{MaxHeapBytes: 10_000}, "keep.extend(range(2000))", engine.LimitHeap},
		{"heap: through a closure", engine.Limits{MaxHeapBytes: 10_000}, "def grow():\n  keep.extend(range(2000))\ngrow()", engine.LimitHeap},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := engine.NewSession(tt.limits)
			exec(t, s, "keep = [1]")
			_, err := s.Execute(context.Background(), tt.code)
			if !isLimit(err, tt.limit) {
				t.Fatalf("Execute(%q) = %v, want %s LimitError", tt.code, err, tt.limit)
			}
			le, _ := errors.AsType[*engine.LimitError](err)
			if le.Got <= le.Max || !strings.Contains(le.Error(), tt.limit) {
				t.Fatalf("LimitError = %+v (%v)", le, le)
			}
			if v := value(t, s, "keep"); v != "[1]" {
				t.Fatalf("keep = %s after the limit: not rolled back", v)
			}
			if v := value(t, s, "1 + 1"); v != "2" {
				t.Fatalf("session unusable: 1 + 1 = %s", v)
			}
		})
	}
}

func TestDefaultLimits(t *testing.T) {
	d := engine.DefaultLimits()
	if got := (engine.Limits{}).WithDefaults(); got != d {
		t.Fatalf("zero WithDefaults = %+v, want %+v", got, d)
	}
	if d.MaxSteps == 0 || d.MaxDuration == 0 || d.MaxCodeBytes == 0 || d.MaxOutputBytes == 0 ||
		d.MaxGlobals == 0 || d.MaxHeapBytes == 0 || d.MaxActors == 0 || d.MaxMailbox == 0 {
		t.Fatalf("a default is zero: %+v", d)
	}
	custom := engine.Limits{MaxSteps: 7, MaxMailbox: 3}.WithDefaults()
	if custom.MaxSteps != 7 || custom.MaxMailbox != 3 || custom.MaxActors != d.MaxActors {
		t.Fatalf("WithDefaults overrode a set field: %+v", custom)
	}
	if s := engine.NewSession(engine.Limits{MaxGlobals: 5}); s.Limits().MaxGlobals != 5 || s.Limits().MaxSteps != d.MaxSteps {
		t.Fatalf("session limits = %+v", s.Limits())
	}
}

func TestContext(t *testing.T) {
	defer testkit.VerifyNoLeaks(t)
	s := engine.NewSession(engine.Limits{MaxSteps: 1 << 62})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err := s.Execute(ctx, "while True: pass")
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, engine.ErrLimitExceeded) {
		t.Fatalf("Execute past the caller's deadline = %v", err)
	}

	done, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if _, err := s.Execute(done, "1"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Execute(cancelled ctx) = %v", err)
	}
	if v := value(t, s, "1 + 1"); v != "2" {
		t.Fatalf("1 + 1 = %s", v)
	}
}

// TestBlockingBuiltin checks that a builtin waiting on Context is released
// by the duration limit.
func TestBlockingBuiltin(t *testing.T) {
	defer testkit.VerifyNoLeaks(t)
	wait := starlark.NewBuiltin("wait", func(thread *starlark.Thread, _ *starlark.Builtin, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		ctx := engine.Context(thread)
		<-ctx.Done()
		return nil, context.Cause(ctx)
	})
	s := engine.NewSession(engine.Limits{MaxDuration: 20 * time.Millisecond}, engine.WithBuiltins(starlark.StringDict{"wait": wait}))
	if _, err := s.Execute(context.Background(), "wait()"); !isLimit(err, engine.LimitDuration) {
		t.Fatalf("blocked builtin = %v, want duration LimitError", err)
	}
}

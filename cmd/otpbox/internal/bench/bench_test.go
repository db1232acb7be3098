package bench_test

import (
	"context"
	"errors"
	"testing"

	"go.uber.org/goleak"

	"github.com/otpbox/otpbox/cmd/otpbox/internal/bench"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/hosttest"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/server"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	h := hosttest.New()
	var calls int
	rep, err := bench.Run(context.Background(), h, bench.Options{
		Levels:   []int{1, 8},
		Requests: func(c int) int { return 4 * c },
		Progress: func(c, done, total int) {
			calls++
			if done > total {
				t.Errorf("progress %d/%d", done, total)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Levels) != 2 {
		t.Fatalf("levels = %+v", rep.Levels)
	}
	for i, l := range rep.Levels {
		c := []int{1, 8}[i]
		if l.Concurrency != c || l.Requests != 4*c || l.Errors != 0 || l.ErrorRate != 0 {
			t.Errorf("level %d = %+v", c, l)
		}
		if !(0 < l.P50MS && l.P50MS <= l.P99MS && l.P99MS <= l.MaxMS && l.AvgMS <= l.MaxMS && l.ThroughputPerS > 0) {
			t.Errorf("level %d statistics out of order: %+v", c, l)
		}
	}
	if calls != 4+32 {
		t.Errorf("progress called %d times, want 36", calls)
	}
	if a, p := h.SandboxCounts(); a+p != 0 {
		t.Errorf("%d sandboxes left behind", a+p)
	}
}

// flaky fails every execution of every other sandbox.
type flaky struct {
	*hosttest.Host
	n int
}

func (f *flaky) Execute(ctx context.Context, id, code string) (*server.Result, error) {
	f.n++
	if f.n%2 == 0 {
		return nil, errors.New("boom")
	}
	return f.Host.Execute(ctx, id, code)
}

func TestErrorsAreCountedAndCleanedUp(t *testing.T) {
	f := &flaky{Host: hosttest.New()}
	rep, err := bench.Run(context.Background(), f, bench.Options{Levels: []int{1}, Requests: func(int) int { return 10 }})
	if err != nil {
		t.Fatal(err)
	}
	l := rep.Levels[0]
	if l.Requests != 10 || l.Errors != 5 || l.ErrorRate != 0.5 || l.FirstError != "execute: boom" {
		t.Errorf("level = %+v", l)
	}
	if a, p := f.SandboxCounts(); a+p != 0 {
		t.Errorf("failed requests left %d sandboxes", a+p)
	}
}

func TestRunStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep, err := bench.Run(ctx, hosttest.New(), bench.Options{Levels: []int{4}})
	if !errors.Is(err, context.Canceled) || len(rep.Levels) != 0 {
		t.Errorf("Run on a cancelled context = %+v, %v", rep, err)
	}
}

func TestDefaultRequests(t *testing.T) {
	for c, want := range map[int]int{1: 500, 100: 500, 101: 505, 1000: 5000} {
		if got := bench.DefaultRequests(c); got != want {
			t.Errorf("DefaultRequests(%d) = %d, want %d", c, got, want)
		}
	}
}

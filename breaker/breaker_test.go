package breaker_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/otpbox/otpbox/breaker"
)

var errDown = errors.New("connection refused")

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestBreakerCycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var changes []string
		b := breaker.New(breaker.Config{Name: "store", Failures: 3, OpenFor: 2 * time.Second, Logger: quiet(),
			OnChange: func(_ string, from, to breaker.State) { changes = append(changes, string(from)+">"+string(to)) }})
		fail := func() error { return errDown }
		ok := func() error { return nil }
		// A success between failures resets the count; a cancellation
		// counts neither way.
		_ = b.Do(fail)
		_ = b.Do(fail)
		_ = b.Do(ok)
		_ = b.Do(fail)
		_ = b.Do(func() error { return context.Canceled })
		_ = b.Do(fail)
		if b.State() != breaker.Closed {
			t.Fatalf("state after 2 consecutive failures = %s", b.State())
		}
		_ = b.Do(fail)
		if b.State() != breaker.Open {
			t.Fatalf("state after 3 consecutive failures = %s", b.State())
		}
		// Open: calls fail fast and are not run.
		ran := false
		err := b.Do(func() error { ran = true; return nil })
		var oe *breaker.OpenError
		if !errors.As(err, &oe) || !errors.Is(err, breaker.ErrOpen) || ran {
			t.Fatalf("call while open = %v (ran %v)", err, ran)
		}
		if oe.RetryAfter != 2*time.Second || oe.Name != "store" {
			t.Fatalf("open error = %+v", oe)
		}
		if b.Check() == nil {
			t.Fatal("Check passes while open")
		}
		time.Sleep(time.Second)
		if err := b.Do(ok); !errors.As(err, &oe) || oe.RetryAfter != time.Second {
			t.Fatalf("a second later: %v", err)
		}
		// After OpenFor: half-open, one probe; its failure opens again.
		time.Sleep(time.Second + time.Millisecond)
		if b.State() != breaker.HalfOpen || b.Check() != nil {
			t.Fatalf("after OpenFor: %s", b.State())
		}
		done, err := b.Allow()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Allow(); !errors.Is(err, breaker.ErrOpen) {
			t.Fatalf("a second call while the probe runs = %v", err)
		}
		done(errDown)
		if b.State() != breaker.Open {
			t.Fatalf("after a failed probe: %s", b.State())
		}
		time.Sleep(2*time.Second + time.Millisecond)
		if err := b.Do(ok); err != nil {
			t.Fatal(err)
		}
		if b.State() != breaker.Closed {
			t.Fatalf("after a good probe: %s", b.State())
		}
		want := "closed>open|open>half_open|half_open>open|open>half_open|half_open>closed"
		if got := strings.Join(changes, "|"); got != want {
			t.Fatalf("changes = %s, want %s", got, want)
		}
		st := b.Status()
		if st.State != breaker.Closed || st.Rejected != 4 || st.OpenedAt.IsZero() {
			t.Fatalf("status = %+v", st)
		}
	})
}

func TestSuccessDecides(t *testing.T) {
	notFound := errors.New("not found")
	b := breaker.New(breaker.Config{Name: "s", Failures: 1, Logger: quiet(), Success: func(err error) bool { return err == nil || errors.Is(err, notFound) }})
	_ = b.Do(func() error { return notFound })
	if b.State() != breaker.Closed {
		t.Fatal("an answer of the dependency opened the breaker")
	}
	_ = b.Do(func() error { return errDown })
	if b.State() != breaker.Open {
		t.Fatal("a failure did not open the breaker")
	}
}

func TestSetMetrics(t *testing.T) {
	s := breaker.NewSet(breaker.Config{Failures: 1, Logger: quiet()})
	s.Get("store")
	_ = s.Get("member/n2").Do(func() error { return errDown })
	_ = s.Get("member/n2").Do(func() error { return nil })
	if got := s.Status("member/"); len(got) != 1 || got[0].State != breaker.Open {
		t.Fatalf("member breakers = %+v", got)
	}
	want := `
# HELP otpbox_breaker_state State of a circuit breaker: 0 closed, 1 half-open, 2 open.
# TYPE otpbox_breaker_state gauge
otpbox_breaker_state{breaker="member/n2"} 2
otpbox_breaker_state{breaker="store"} 0
# HELP otpbox_breaker_rejected_total Calls a circuit breaker refused (failed fast).
# TYPE otpbox_breaker_rejected_total counter
otpbox_breaker_rejected_total{breaker="member/n2"} 1
otpbox_breaker_rejected_total{breaker="store"} 0
`
	if err := testutil.CollectAndCompare(s, strings.NewReader(want), "otpbox_breaker_state", "otpbox_breaker_rejected_total"); err != nil {
		t.Fatal(err)
	}
}

package otp_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/otpbox/otpbox/sandbox/engine"
	"github.com/otpbox/otpbox/sandbox/otp/otptest"
)

// The differential replay fuzzer: random programs over every OTP builtin
// run live, execution by execution; the accepted executions are replayed
// in a fresh sandbox, with their clocks; both must give the same value
// and output for each execution and the same globals, trees, records and
// traces at the end. `make fuzz` runs it for 10,000 programs; the seeds
// below run in every `go test`. On a divergence it prints the program,
// which Go's fuzzer has minimized.

// gaps spaces the executions: within and across restart periods.
var gaps = []time.Duration{0, time.Second, 3 * time.Second, 7 * time.Second}

// outcome is what one execution gave.
type outcome struct {
	value, output string
}

func checkReplay(t *testing.T, data []byte) {
	code := otptest.Program(data)
	limits := limitsForFuzz
	live := newBox(t, limits)
	var outs []outcome
	for i, snippet := range code {
		if i < len(data) { // exec adds a second
			live.now = live.now.Add(gaps[data[len(data)-1-i]%4])
		}
		res, err := live.exec(snippet)
		if err == nil {
			outs = append(outs, outcome{res.Value, res.Output})
		}
	}
	replayed := newBox(t, limits)
	for i, e := range live.log {
		replayed.rt.SetClock(e.at)
		res, err := replayed.s.Replay(context.Background(), e.code)
		if err != nil {
			t.Fatalf("replay diverged: execution %d failed: %v\n%s", i, err, listing(live.log))
		}
		if got := (outcome{res.Value, res.Output}); got != outs[i] {
			t.Fatalf("replay diverged at execution %d: %+v, live %+v\n%s", i, got, outs[i], listing(live.log))
		}
	}
	const observe = "repr((sups, pids))"
	a, errA := live.exec(observe)
	b, errB := replayed.exec(observe)
	if (errA == nil) != (errB == nil) || (errA == nil && a.Value != b.Value) {
		t.Fatalf("globals diverged: %v %v / %v %v\n%s", a, errA, b, errB, listing(live.log))
	}
	if va, vb := live.view(), replayed.view(); va != vb {
		t.Fatalf("processes diverged:\nlive:   %s\nreplay: %s\n%s", va, vb, listing(live.log))
	}
}

// listing prints a journal as a reproducer.
func listing(log []entry) string {
	var b strings.Builder
	for i, e := range log {
		if i == 0 {
			b.WriteString("# execution 0: the prelude (see otptest.Prelude)\n")
			continue
		}
		fmt.Fprintf(&b, "# execution %d at +%v\n%s\n", i, e.at.Sub(epoch), e.code)
	}
	return b.String()
}

func FuzzReplay(f *testing.F) {
	for _, seed := range []string{
		"", "\x00", "\x05\x00\x00\x01\x02\x03", "\x0b\x02\x00\x00\x03\x01\x00\x02\x05\x04\x01\x07\x03",
		"\x08\x01\x01\x03\x00\x02\x01\x01\x00\x04\x06\x00\x05\x02\x07\x01",
		"\x0a\x02\x01\x00\x01\x02\x03\x00\x01\x01\x03\x02\x00\x07\x05\x01\x04\x02\x06\x03\x09\x02",
		"\x0b\x02\x00\x03\x00\x00\x01\x01\x02\x00\x02\x00\x07\x01\x02\x05\x04\x00\x07\x02\x02\x08\x01\x03\x0c\x0d",
		"\x0c\x02\x01\x00\x00\x02\x00\x01\x00\x01\x03\x00\x01\x02\x00\x02\x02\x05\x03\x05\x04\x00\x05\x07\x01",
	} {
		f.Add([]byte(seed))
	}
	for i := range 24 { // more seeds, spread over the choices
		b := make([]byte, 64)
		for k := range b {
			b[k] = byte((i*131 + k*17 + k*k*7) % 251)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkReplay(t, data)
	})
}

var limitsForFuzz = engine.Limits{MaxSteps: 200_000, MaxActors: 24, MaxMailbox: 64}

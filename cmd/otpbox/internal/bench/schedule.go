package bench

import (
	"context"
	"math"
	"sync"
	"time"
)

// runStep sends executions at rate per second for o.Duration, the users
// taking turns from *next (which it advances), and waits for every
// answer.
//
// The schedule is fixed in advance: request i is due at start + i/rate,
// whatever happened to the ones before (an open model, as wrk2 and vegeta
// run). The dispatcher sends each request when it is due, or as soon as
// it can when it is late (all o.Connections busy, or the dispatcher
// itself starved of CPU), and each latency runs from the due time: a
// stall of the node shows in the latency of every request it delayed,
// not only of the one it held.
func runStep(ctx context.Context, t Target, users []string, next *int, rate float64, o OpenOptions) Step {
	n := int(math.Round(rate * o.Duration.Seconds()))
	lat := newLatencies()
	slots := make(chan struct{}, o.Connections)
	var wg sync.WaitGroup
	timer := time.NewTimer(0)
	defer timer.Stop()
	start := time.Now()
	sent := 0
send:
	for i := range n {
		due := start.Add(time.Duration(float64(i) * float64(time.Second) / rate))
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				break send
			}
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			break send
		}
		user := users[*next]
		*next = (*next + 1) % len(users)
		sent++
		wg.Go(func() {
			defer func() { <-slots }()
			rctx, cancel := context.WithDeadline(ctx, due.Add(o.RequestTimeout))
			_, err := t.Execute(rctx, user, o.Code)
			cancel()
			now := time.Now()
			lat.record(now.Sub(due), err, now)
		})
	}
	wg.Wait()
	s := Step{TargetRate: rate, Requests: sent, ErrorsByKind: lat.errs, FirstError: lat.first, percentiles: lat.percentiles(), Admitted: lat.admitted()}
	for _, c := range lat.errs {
		s.Errors += c
	}
	if elapsed := lat.lastAt.Sub(start); elapsed > 0 {
		s.AchievedRate = float64(lat.ok) / elapsed.Seconds()
	}
	return s
}

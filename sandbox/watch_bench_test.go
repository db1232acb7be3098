package sandbox_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/otpbox/otpbox/sandbox"
)

// BenchmarkWatchers runs `n += 1` in one sandbox with 0, 1 and 1,000
// watchers on the same member and reports the cost to the sandbox (the
// execution's own latency, exec-p50-ms, beside the unwatched one) and how
// long its event takes to reach every watcher (p50 and p99 over all
// deliveries, from when the execution was sent). ns/op includes waiting
// for every watcher to have the event.
func BenchmarkWatchers(b *testing.B) {
	for _, watchers := range []int{0, 1, 1000} {
		b.Run(fmt.Sprintf("watchers=%d", watchers), func(b *testing.B) {
			local := benchNode(b)
			ctx := context.Background()
			if _, err := local.Create(ctx, "w", sandbox.Requirements{}); err != nil {
				b.Fatal(err)
			}
			if _, err := local.Execute(ctx, "w", "n = 0"); err != nil {
				b.Fatal(err)
			}
			var (
				mu    sync.Mutex
				sent  time.Time      // when the latest execution was sent
				lags  []float64      // delivery lags from sent, ms
				execs []float64      // the executions' own latencies, ms
				got   sync.WaitGroup // the watchers still to get the latest exec event
			)
			subs := make([]*sandbox.Subscription, watchers)
			var readers sync.WaitGroup
			for i := range subs {
				s, err := local.Watch(ctx, "w", sandbox.WatchOptions{})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.Next(ctx); err != nil { // hello
					b.Fatal(err)
				}
				subs[i] = s
				readers.Add(1)
				go func() {
					defer readers.Done()
					for {
						e, err := s.Next(ctx)
						if err != nil {
							return
						}
						if e.Type != sandbox.EventExec {
							continue
						}
						mu.Lock()
						lags = append(lags, float64(time.Since(sent).Microseconds())/1000)
						mu.Unlock()
						got.Done()
					}
				}()
			}
			b.Cleanup(func() {
				for _, s := range subs {
					s.Close()
				}
				readers.Wait()
			})
			b.ResetTimer()
			for b.Loop() {
				got.Add(watchers)
				mu.Lock()
				sent = time.Now()
				mu.Unlock()
				start := time.Now()
				if _, err := local.Execute(ctx, "w", "n += 1"); err != nil {
					b.Fatal(err)
				}
				execs = append(execs, float64(time.Since(start).Microseconds())/1000)
				got.Wait() // every watcher has it before the next execution
			}
			b.StopTimer()
			slices.Sort(execs)
			b.ReportMetric(execs[len(execs)/2], "exec-p50-ms")
			if len(lags) > 0 {
				slices.Sort(lags)
				b.ReportMetric(lags[len(lags)/2], "p50-ms")
				b.ReportMetric(lags[len(lags)*99/100], "p99-ms")
			}
		})
	}
}

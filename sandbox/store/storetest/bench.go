package storetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/otpbox/otpbox/sandbox"
)

// EntrySize is the size of the code of the entries the benchmarks
// append: about what `n += 1` with a request id takes in a journal.
const EntrySize = 100

// Appenders are the numbers of concurrent appenders the journal
// benchmarks compare: one sandbox at a time, a busy node, a loaded one.
var Appenders = []int{1, 16, 256}

// BenchAppend measures s under appenders goroutines, each appending
// EntrySize-byte entries to its own sandbox (as sandboxes do: one
// execution at a time each), b.N appends in all. Besides ns/op (the
// reciprocal of the throughput) it reports appends/s, the p50 and p99
// latency of one append in µs, and the process's CPU time (user and
// system, the kernel's work for syncs included) per append.
func BenchAppend(b *testing.B, s sandbox.Store, appenders int) {
	b.Helper()
	ctx := context.Background()
	code := strings.Repeat("x", EntrySize)
	for a := range appenders { // the sandboxes exist, as after their creation
		if err := s.PutMeta(ctx, fmt.Sprintf("bench-%d", a), []byte(`{}`)); err != nil {
			b.Fatal(err)
		}
	}
	lat := hdr.New(1, int64(time.Minute/time.Microsecond), 3)
	var (
		mu   sync.Mutex // protects lat
		next atomic.Int64
		wg   sync.WaitGroup
		fail atomic.Pointer[error]
	)
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	for a := range appenders {
		id := fmt.Sprintf("bench-%d", a)
		wg.Go(func() {
			local := hdr.New(1, int64(time.Minute/time.Microsecond), 3)
			for next.Add(1) <= int64(b.N) {
				t0 := time.Now()
				if _, err := s.Append(ctx, id, sandbox.Entry{Code: code, At: t0}); err != nil {
					fail.CompareAndSwap(nil, &err)
					return
				}
				_ = local.RecordValue(max(time.Since(t0).Microseconds(), 1))
			}
			mu.Lock()
			lat.Merge(local)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	if err := fail.Load(); err != nil {
		b.Fatal(*err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "appends/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
	b.ReportMetric(float64(lat.ValueAtQuantile(50)), "p50-µs")
	b.ReportMetric(float64(lat.ValueAtQuantile(99)), "p99-µs")
}

// BenchDurableAppend is the baseline of a journal: one EntrySize-byte
// write to a file and one fdatasync (fsync where there is none), one at a
// time, in dir. It reports the same metrics as BenchAppend.
func BenchDurableAppend(b *testing.B, dir string) {
	b.Helper()
	f, err := os.OpenFile(filepath.Join(dir, "baseline.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rec := []byte(strings.Repeat("x", EntrySize))
	lat := hdr.New(1, int64(time.Minute/time.Microsecond), 3)
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	for range b.N {
		t0 := time.Now()
		if _, err := f.Write(rec); err != nil {
			b.Fatal(err)
		}
		if err := datasync(f); err != nil {
			b.Fatal(err)
		}
		_ = lat.RecordValue(max(time.Since(t0).Microseconds(), 1))
	}
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "appends/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
	b.ReportMetric(float64(lat.ValueAtQuantile(50)), "p50-µs")
	b.ReportMetric(float64(lat.ValueAtQuantile(99)), "p99-µs")
}

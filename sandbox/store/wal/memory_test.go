package wal_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/otpbox/otpbox/sandbox"
	"github.com/otpbox/otpbox/sandbox/store/wal"
)

// BenchmarkIndexMemory reports the heap the store keeps per sandbox
// (bytes/sandbox) for sandboxes with 150 bytes of metadata and ten
// executions each: the index in memory, which a node holds for every
// sandbox it has, live or passivated.
func BenchmarkIndexMemory(b *testing.B) {
	const sandboxes = 10_000
	ctx := context.Background()
	meta := make([]byte, 150)
	var perSandbox float64
	for range b.N {
		b.StopTimer()
		s, err := wal.Open(b.TempDir(), wal.Config{Sync: wal.SyncInterval, Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		before := heap()
		b.StartTimer()
		for i := range sandboxes {
			id := fmt.Sprintf("sandbox-%06d", i)
			if err := s.PutMeta(ctx, id, meta); err != nil {
				b.Fatal(err)
			}
			for j := range 10 {
				if _, err := s.Append(ctx, id, sandbox.Entry{Code: fmt.Sprintf("n += %d", j)}); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.StopTimer()
		perSandbox = float64(heap()-before) / sandboxes
		runtime.KeepAlive(s)
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(perSandbox, "bytes/sandbox")
}

func heap() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

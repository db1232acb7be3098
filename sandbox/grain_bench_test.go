package sandbox_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	pcluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/test"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	"github.com/asynkron/protoactor-go/remote"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/otpbox/otpbox/sandbox"
	"github.com/otpbox/otpbox/sandbox/internal/wire"
	"github.com/otpbox/otpbox/sandbox/store/wal"
)

// benchNode starts a sandbox member with the node's default store, the
// wal journal acknowledging after fdatasync, in a temp dir.
func benchNode(b *testing.B) *sandbox.Local { return benchNodeWith(b, sandbox.Config{}) }

// benchNodeWith is benchNode with cfg (its Store and IdleTimeout set
// here).
func benchNodeWith(b *testing.B, cfg sandbox.Config) *sandbox.Local {
	b.Helper()
	system := quietSystem()
	store := openBenchStore(b)
	cfg.Store, cfg.IdleTimeout = store, -1
	local, err := sandbox.StartLocal(system, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		local.Shutdown()
		system.Shutdown()
		_ = store.Close()
	})
	return local
}

// BenchmarkLifecycle is create → execute "1 + 1" → terminate, in process,
// with the embedded store (wal, fdatasync on every write).
func BenchmarkLifecycle(b *testing.B) {
	local := benchNode(b)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		id := fmt.Sprintf("b%d", i)
		if _, err := local.Create(ctx, id, sandbox.Requirements{}); err != nil {
			b.Fatal(err)
		}
		if _, err := local.Execute(ctx, id, "1 + 1"); err != nil {
			b.Fatal(err)
		}
		if err := local.Terminate(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExec executes "1 + 1" on a live sandbox (journaled).
func BenchmarkExec(b *testing.B) {
	local := benchNode(b)
	ctx := context.Background()
	if _, err := local.Create(ctx, "x", sandbox.Requirements{}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := local.Execute(ctx, "x", "1 + 1"); err != nil {
			b.Fatal(err)
		}
	}
}

// evalGrain is the baseline grain: it evaluates the Starlark expression it
// is sent, with no sandboxing, journal or supervision.
type evalGrain struct{}

func (evalGrain) Receive(ctx actor.Context) {
	if m, ok := ctx.Message().(*wire.Exec); ok {
		v, err := starlark.EvalOptions(&syntax.FileOptions{}, &starlark.Thread{}, "x", m.Code, nil)
		if err != nil {
			ctx.Respond(&wire.ExecResult{Failure: &wire.Failure{Message: err.Error()}})
			return
		}
		ctx.Respond(&wire.ExecResult{Value: v.String()})
		ctx.Poison(ctx.Self())
	}
}

// BenchmarkBaselineGrain is bare protoactor: a grain activation (disthash
// lookup), one request that evaluates "1 + 1" with Starlark, and the grain
// stopping.
func BenchmarkBaselineGrain(b *testing.B) {
	system := quietSystem()
	kind := pcluster.NewKind("eval", actor.PropsFromProducer(func() actor.Actor { return evalGrain{} }))
	c := pcluster.New(system, pcluster.Configure("baseline", test.NewTestProvider(test.NewInMemAgent()),
		disthash.New(), remote.Configure("127.0.0.1", 0), pcluster.WithKinds(kind), pcluster.WithRequestLog(false)))
	c.StartMember()
	b.Cleanup(func() { c.Shutdown(false) })
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		res, err := c.Request(fmt.Sprintf("g%d", i), "eval", &wire.Exec{Code: "1 + 1"}, pcluster.WithTimeout(5*time.Second))
		if err != nil {
			b.Fatal(err)
		}
		if r := res.(*wire.ExecResult); r.Value != "2" {
			b.Fatalf("got %q", r.Value)
		}
	}
}

// BenchmarkIdleSandboxMemory reports the heap held per idle live sandbox
// (created, one `x = 1` executed, then idle) as B/sandbox.
func BenchmarkIdleSandboxMemory(b *testing.B) { sandboxMemory(b, 1) }

// BenchmarkLiveSandboxMemory is BenchmarkIdleSandboxMemory after ten
// executions (`x = 1`, then `x += 1` nine times): what a sandbox that was
// used holds, with the answers kept for retries.
func BenchmarkLiveSandboxMemory(b *testing.B) { sandboxMemory(b, 10) }

func sandboxMemory(b *testing.B, execs int) {
	local := benchNode(b)
	ctx := context.Background()
	// protoactor's process registry is 32,768 maps that each keep their
	// first bucket once a name lands in them: about 10 MB for the whole
	// node, reached after some 100,000 calls (each call registers a reply
	// process under a new name). Reach it first, so that what is counted
	// is what each sandbox holds.
	if _, err := local.Create(ctx, "warm", sandbox.Requirements{}); err != nil {
		b.Fatal(err)
	}
	for range 100_000 {
		if _, err := local.Info(ctx, "warm"); err != nil {
			b.Fatal(err)
		}
	}
	const n = 2000
	for range b.N {
		b.StopTimer()
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		b.StartTimer()
		for i := range n {
			id := fmt.Sprintf("m%d", i)
			if _, err := local.Create(ctx, id, sandbox.Requirements{}); err != nil {
				b.Fatal(err)
			}
			if _, err := local.Execute(ctx, id, "x = 1"); err != nil {
				b.Fatal(err)
			}
			for range execs - 1 {
				if _, err := local.Execute(ctx, id, "x += 1"); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/sandbox")
		for i := range n {
			if err := local.Terminate(ctx, fmt.Sprintf("m%d", i)); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
	}
}

func openBenchStore(b *testing.B) sandbox.Store {
	s, err := wal.Open(b.TempDir(), wal.Config{Sync: wal.SyncAlways, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// quietSystem is an actor system that does not log (benchmark output stays
// readable).
func quietSystem() *actor.ActorSystem {
	return actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
}

// BenchmarkCreate creates sandboxes.
// Compare with BenchmarkBaselineDurableAppend: a create is one durable
// write of the sandbox's metadata, and the rest should cost little.
//
// cold spawns each activation on the create's path; warm takes one that
// Config.WarmActivations spawned ahead (and replaces it once the create
// is answered). Both report the median create, to set beside
// BenchmarkBaselineDurableAppend's: what a create costs beyond its one
// durable write.
func BenchmarkCreate(b *testing.B) {
	for _, tc := range []struct {
		name string
		warm int
	}{{"cold", 0}, {"warm", 16}} {
		b.Run(tc.name, func(b *testing.B) {
			local := benchNodeWith(b, sandbox.Config{WarmActivations: tc.warm})
			ctx := context.Background()
			b.ReportAllocs()
			var took durations
			i := 0
			for b.Loop() {
				i++
				start := time.Now()
				if _, err := local.Create(ctx, fmt.Sprintf("c%d", i), sandbox.Requirements{}); err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(start))
			}
			took.report(b)
		})
	}
}

// durations are the times of a benchmark's operations.
type durations []time.Duration

// report reports their median and 99th percentile, in µs.
func (d durations) report(b *testing.B) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	b.ReportMetric(float64(d[len(d)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(d[len(d)*99/100].Nanoseconds())/1e3, "p99-µs")
}

// BenchmarkBaselineDurableAppend is one 100-byte write and fdatasync to
// a file on the disk of the benchmarks' stores: what a journaled
// execution or a create cannot do without.
func BenchmarkBaselineDurableAppend(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "append"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rec := make([]byte, 100)
	var took durations
	for b.Loop() {
		start := time.Now()
		if _, err := f.Write(rec); err != nil {
			b.Fatal(err)
		}
		if err := syscall.Fdatasync(int(f.Fd())); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
	}
	took.report(b)
}

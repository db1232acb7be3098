package supervision_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/otpbox/otpbox/supervision"
)

// echo answers every string with itself.
type echo struct{}

func (echo) Receive(ctx actor.Context) {
	if m, ok := ctx.Message().(string); ok {
		ctx.Respond(m)
	}
}

// BenchmarkStartCallTerminate starts a child under a simple_one_for_one
// supervisor, makes one request to it and terminates it.
func BenchmarkStartCallTerminate(b *testing.B) {
	system := quietSystem()
	defer system.Shutdown()
	sup, err := supervision.Start(system, supervision.Spec{
		Flags:    supervision.Flags{Strategy: supervision.SimpleOneForOne},
		Children: []supervision.ChildSpec{{Start: supervision.Spawn(func() actor.Actor { return echo{} }), Restart: supervision.Temporary}},
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		pid, err := sup.StartChildWith(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := system.Root.RequestFuture(pid, "ping", time.Second).Result(); err != nil {
			b.Fatal(err)
		}
		if err := sup.TerminateChildPID(ctx, pid); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	_ = sup.Stop(ctx)
}

// BenchmarkBaselineSpawnRequestStop is the same cycle with bare protoactor.
func BenchmarkBaselineSpawnRequestStop(b *testing.B) {
	system := quietSystem()
	defer system.Shutdown()
	props := actor.PropsFromProducer(func() actor.Actor { return echo{} })
	b.ReportAllocs()
	for b.Loop() {
		pid := system.Root.Spawn(props)
		if _, err := system.Root.RequestFuture(pid, "ping", time.Second).Result(); err != nil {
			b.Fatal(err)
		}
		if err := system.Root.StopFuture(pid).Wait(); err != nil {
			b.Fatal(err)
		}
	}
}

// crasher panics on "crash" and answers every other string.
type crasher struct{}

func (crasher) Receive(ctx actor.Context) {
	if m, ok := ctx.Message().(string); ok {
		if m == "crash" {
			panic("crash")
		}
		ctx.Respond(m)
	}
}

// BenchmarkRestart measures a crash until the new child answers: the
// supervisor sees the exit, starts a new incarnation, and a request to it
// is answered.
func BenchmarkRestart(b *testing.B) {
	system := quietSystem()
	defer system.Shutdown()
	restarted := make(chan *actor.PID, 1)
	sub := system.EventStream.Subscribe(func(e any) {
		if ev, ok := e.(*supervision.Event); ok && ev.Kind == supervision.ChildStarted && ev.Restart {
			restarted <- ev.PID
		}
	})
	defer system.EventStream.Unsubscribe(sub)
	sup, err := supervision.Start(system, supervision.Spec{
		Flags:    supervision.Flags{Intensity: 1 << 30, Period: time.Second},
		Children: []supervision.ChildSpec{{ID: "c", Start: supervision.Spawn(func() actor.Actor { return crasher{} })}},
	})
	if err != nil {
		b.Fatal(err)
	}
	children, err := sup.WhichChildren(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	pid := children[0].PID
	b.ReportAllocs()
	for b.Loop() {
		system.Root.Send(pid, "crash")
		pid = <-restarted
		if _, err := system.Root.RequestFuture(pid, "ping", time.Second).Result(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	_ = sup.Stop(context.Background())
}

// quietSystem is an actor system that does not log (benchmark output stays
// readable).
func quietSystem() *actor.ActorSystem {
	return actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
}

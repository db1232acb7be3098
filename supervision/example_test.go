package supervision_test

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/otpbox/otpbox/supervision"
)

// counter is a worker that counts the increments it received.
type counter struct{ n int }

type incr struct{}

func (c *counter) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *incr:
		c.n++
		ctx.Respond(c.n)
	case *crash:
		panic("crash")
	}
}

// A one_for_one supervisor restarts a crashed child with fresh state and a
// new PID; its stable name keeps working.
func Example() {
	system := actor.NewActorSystem()
	defer system.Shutdown()
	ctx := context.Background()

	sup, err := supervision.Start(system, supervision.Spec{
		Name:  "example",
		Flags: supervision.Flags{Strategy: supervision.OneForOne, Intensity: 3, Period: 5 * time.Second},
		Children: []supervision.ChildSpec{
			{ID: "counter", Start: supervision.Spawn(func() actor.Actor { return &counter{} })},
		},
	})
	if err != nil {
		panic(err)
	}
	defer sup.Stop(ctx)

	done := make(chan struct{})
	sub := system.EventStream.Subscribe(func(e any) {
		if ev, ok := e.(*supervision.Event); ok && ev.Kind == supervision.ChildStarted {
			close(done)
		}
	})
	defer system.EventStream.Unsubscribe(sub)

	name := sup.Whereis("counter")
	n, _ := system.Root.RequestFuture(name, &incr{}, time.Second).Result()
	fmt.Println("count:", n)

	system.Root.Send(name, &crash{})
	<-done // restarted

	n, _ = system.Root.RequestFuture(name, &incr{}, time.Second).Result()
	fmt.Println("count after restart:", n)
	fmt.Println("restarts:", sup.History().Total())
	// Output:
	// count: 1
	// count after restart: 1
	// restarts: 1
}

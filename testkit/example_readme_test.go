package testkit_test

import (
	"context"
	"errors"
	"testing"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/otpbox/otpbox/supervision"
	"github.com/otpbox/otpbox/testkit"
)

// Ping is answered with a Pong by pinger.
type (
	Ping  struct{}
	Pong  struct{}
	Crash struct{} // makes a worker exit with reason "boom"
)

func pinger(c actor.Context) {
	if _, ok := c.Message().(*Ping); ok {
		c.Respond(&Pong{})
	}
}

func worker() actor.Actor {
	return actor.ReceiveFunc(func(c actor.Context) {
		if _, ok := c.Message().(*Crash); ok {
			supervision.Exit(c, supervision.Abnormal(errors.New("boom")))
		}
	})
}

// The README's testkit snippet, whole: a probe asks an actor, a recorder
// follows a one_for_all supervisor through a crash. It needs the test's
// *testing.T, so it is compiled, not run: TestReadmeExample runs the same
// statements, and TestReadmeShowsTheExample checks the README quotes them.
func Example_readme() {
	var t *testing.T // the test's t

	kit := testkit.New(t) // own actor system, shut down and leak-checked in t.Cleanup
	pid := kit.Spawn(actor.PropsFromFunc(pinger))
	probe := kit.NewProbe(t)
	probe.Request(pid, &Ping{}) // the probe is the sender: the reply comes back to it
	probe.ExpectMsg(&Pong{})

	sup, err := supervision.Start(kit.System(), supervision.Spec{
		Name:  "app",
		Flags: supervision.Flags{Strategy: supervision.OneForAll, Intensity: 3},
		Children: []supervision.ChildSpec{
			{ID: "c1", Start: supervision.Spawn(worker)},
			{ID: "c2", Start: supervision.Spawn(worker)},
			{ID: "c3", Start: supervision.Spawn(worker)},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sup.Stop(context.Background()) }) // before the kit's shutdown
	rec := testkit.NewRecorder(t, kit.System())              // supervision events from now on
	kit.Root().Send(sup.Whereis("c2"), &Crash{})
	rec.ExpectSequence("X(c2,boom)", "T(c3)", "T(c1)", "S(c1)", "S(c2)", "S(c3)")
}

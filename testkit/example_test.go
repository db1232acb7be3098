package testkit_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/otpbox/otpbox/supervision"
	"github.com/otpbox/otpbox/testkit"
)

// In a test, t is the test's *testing.T; runExample stands in for it here.
func ExampleProbe() {
	runExample(func(t testing.TB) {
		kit := testkit.New(t)
		echo := kit.Spawn(actor.PropsFromFunc(func(c actor.Context) {
			if m, ok := c.Message().(string); ok {
				c.Respond("echo: " + m)
			}
		}))

		p := kit.NewProbe(t)
		p.Request(echo, "hello") // the probe is the sender: the reply comes back to it
		fmt.Println(p.ExpectMsg("echo: hello"))
		p.ExpectNoMsg(10 * time.Millisecond)
	})
	// Output: echo: hello
}

func ExampleProbe_Reply() {
	runExample(func(t testing.TB) {
		kit := testkit.New(t)
		p := kit.NewProbe(t)
		// greeter asks the probe for a name, then greets it.
		greeter := kit.Spawn(actor.PropsFromFunc(func(c actor.Context) {
			switch m := c.Message().(type) {
			case *actor.PID:
				c.Request(m, "name?")
			case string:
				c.Send(p.PID(), "hello, "+m)
			}
		}))

		p.Send(greeter, p.PID())
		p.ExpectMsg("name?")
		p.Reply("Joe")
		fmt.Println(testkit.ExpectMsgType[string](p))
	})
	// Output: hello, Joe
}

func ExampleProbe_ExpectTerminated() {
	runExample(func(t testing.TB) {
		kit := testkit.New(t)
		worker := kit.Root().Spawn(actor.PropsFromFunc(func(actor.Context) {}))
		p := kit.NewProbe(t)

		p.Watch(worker)
		kit.Root().Poison(worker)
		fmt.Println(p.ExpectTerminated(worker).Why)
	})
	// Output: Stopped
}

func ExampleRecorder() {
	runExample(func(t testing.TB) {
		kit := testkit.New(t)
		r := testkit.NewRecorder(t, kit.System())

		// A supervisor publishes these as it starts, loses and restarts c2.
		for _, e := range []*supervision.Event{
			{Kind: supervision.ChildStarted, ChildID: "c2"},
			{Kind: supervision.ChildExited, ChildID: "c2", Reason: supervision.Abnormal(errors.New("boom"))},
			{Kind: supervision.ChildStarted, ChildID: "c2", Restart: true},
		} {
			kit.System().EventStream.Publish(e)
		}
		r.ExpectSequence("S(c2)", "X(c2,boom)", "S(c2)")
		fmt.Println(r.Strings())
	})
	// Output: [S(c2) X(c2,boom) S(c2)]
}

// Virtual needs a test's *testing.T, which an example does not have: this
// example is compiled but not run (TestVirtual_ReceiveTimeout runs it).
func ExampleVirtual() {
	var t *testing.T // the test's t
	testkit.Virtual(t, func(t *testing.T) {
		kit := testkit.New(t) // inside the bubble: on the virtual clock
		p := kit.NewProbe(t)
		kit.Spawn(actor.PropsFromFunc(func(c actor.Context) {
			switch c.Message().(type) {
			case *actor.Started:
				c.SetReceiveTimeout(10 * time.Minute)
			case *actor.ReceiveTimeout:
				c.Send(p.PID(), "idle")
			}
		}))
		p.ExpectNoMsg(10*time.Minute - time.Second) // returns at once
		p.ExpectMsg("idle")
	})
}

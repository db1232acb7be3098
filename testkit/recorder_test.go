package testkit_test

import (
	"errors"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/otpbox/otpbox/supervision"
	"github.com/otpbox/otpbox/testkit"
	"github.com/stretchr/testify/assert"
)

// publisherProps publishes every *supervision.Event it receives on the
// EventStream, from its own goroutine, as a supervisor does.
func publisherProps() *actor.Props {
	return actor.PropsFromFunc(func(c actor.Context) {
		if e, ok := c.Message().(*supervision.Event); ok {
			c.ActorSystem().EventStream.Publish(e)
		}
	})
}

func started(id string) *supervision.Event {
	return &supervision.Event{Kind: supervision.ChildStarted, ChildID: id}
}

func exited(id string, err error) *supervision.Event {
	return &supervision.Event{Kind: supervision.ChildExited, ChildID: id, Reason: supervision.Abnormal(err)}
}

func terminated(id string) *supervision.Event {
	return &supervision.Event{Kind: supervision.ChildTerminated, ChildID: id, Reason: supervision.Shutdown}
}

func TestRecorder_ExpectSequence(t *testing.T) {
	kit := testkit.New(t)
	r := testkit.NewRecorder(t, kit.System())
	pub := kit.Spawn(publisherProps())

	kit.Root().Send(pub, "not an event")
	for _, e := range []*supervision.Event{
		started("c1"), exited("c2", errors.New("boom")), terminated("c3"),
		{Kind: supervision.SupervisorExited, Reason: supervision.Shutdown},
	} {
		kit.Root().Send(pub, e)
	}
	r.ExpectSequence("S(c1)", "X(c2,boom)", "T(c3)", "Sup⇒shutdown")
	assert.Len(t, r.Events(), 4)

	r.Reset()
	assert.Empty(t, r.Strings())
	kit.Root().Send(pub, started("c2"))
	r.ExpectSequence("S(c2)")
}

func TestRecorder_WaitForAndWaitUntil(t *testing.T) {
	kit := testkit.New(t)
	r := testkit.NewRecorder(t, kit.System())
	pub := kit.Spawn(publisherProps())

	for _, id := range []string{"a", "b", "c"} {
		kit.Root().Send(pub, started(id))
	}
	kit.Root().Send(pub, terminated("b"))
	assert.GreaterOrEqual(t, len(r.WaitFor(2)), 2)
	e := r.WaitUntil(func(e *supervision.Event) bool { return e.Kind == supervision.ChildTerminated })
	assert.Equal(t, "b", e.ChildID)
	assert.Equal(t, []string{"S(a)", "S(b)", "S(c)", "T(b)"}, r.Strings())
}

func TestRecorder_Filter(t *testing.T) {
	kit := testkit.New(t)
	onlyExits := func(e *supervision.Event) bool { return e.Kind == supervision.ChildExited }
	r := testkit.NewRecorder(t, kit.System(), onlyExits)

	kit.System().EventStream.Publish(started("c1"))
	kit.System().EventStream.Publish(exited("c1", errors.New("crash")))
	r.ExpectSequence("X(c1,crash)")
}

func TestRecorder_UnsubscribesInCleanup(t *testing.T) {
	kit := testkit.New(t)
	before := kit.System().EventStream.Length()
	t.Run("recorder", func(t *testing.T) {
		testkit.NewRecorder(t, kit.System())
		assert.Equal(t, before+1, kit.System().EventStream.Length())
	})
	assert.Equal(t, before, kit.System().EventStream.Length())
}

func TestFail_RecorderExpectSequence(t *testing.T) {
	failWith(t, func(t testing.TB) {
		kit := testkit.New(t)
		r := testkit.NewRecorder(t, kit.System())
		kit.System().EventStream.Publish(started("c1"))
		kit.System().EventStream.Publish(started("c3"))
		r.ExpectSequence("S(c1)", "S(c2)")
	}, "got: S(c1) | S(c3)", "want: S(c1) | S(c2)")
}

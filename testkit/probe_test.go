package testkit_test

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/otpbox/otpbox/testkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type ping struct{ N int }
type pong struct{ N int }

// ask makes the asker request Question from To.
type ask struct{ To *actor.PID }
type question struct{}
type answer struct{ Text string }

// echoProps answers every *ping with a *pong of the same N.
func echoProps() *actor.Props {
	return actor.PropsFromFunc(func(c actor.Context) {
		if m, ok := c.Message().(*ping); ok {
			c.Respond(&pong{N: m.N})
		}
	})
}

// askerProps asks its *ask's To a question and sends the *answer it gets
// back to To.
func askerProps() *actor.Props {
	var to *actor.PID
	return actor.PropsFromFunc(func(c actor.Context) {
		switch m := c.Message().(type) {
		case *ask:
			to = m.To
			c.Request(to, &question{})
		case *answer:
			c.Send(to, &answer{Text: "heard " + m.Text})
		}
	})
}

func TestProbe_RequestExpectMsg(t *testing.T) {
	kit := testkit.New(t)
	echo := kit.Spawn(echoProps())
	p := kit.NewProbe(t)

	p.Request(echo, &ping{N: 1})
	assert.Equal(t, &pong{N: 1}, p.ExpectMsg(&pong{N: 1}))
	assert.Nil(t, p.Sender(), "Respond sends without a sender")

	p.Request(echo, &ping{N: 2})
	assert.Equal(t, 2, testkit.ExpectMsgType[*pong](p).N)

	p.Request(echo, &ping{N: 3})
	p.ExpectMsgWhere(func(m any) bool { r, ok := m.(*pong); return ok && r.N == 3 })
}

func TestProbe_ReceiveNAndFish(t *testing.T) {
	kit := testkit.New(t)
	echo := kit.Spawn(echoProps())
	p := kit.NewProbe(t)

	for n := range 5 {
		p.Request(echo, &ping{N: n})
	}
	assert.Equal(t, []any{&pong{0}, &pong{1}}, p.ReceiveN(2))
	assert.Equal(t, &pong{N: 4}, p.Fish(func(m any) bool { return m.(*pong).N == 4 }))
	p.ExpectNoMsg(20 * time.Millisecond) // Fish took 2 and 3
}

func TestProbe_SendWithoutSender(t *testing.T) {
	kit := testkit.New(t)
	p, q := kit.NewProbe(t), kit.NewProbe(t)

	p.Send(q.PID(), "hello")
	q.ExpectMsg("hello")
	assert.Nil(t, q.Sender())
}

func TestProbe_Reply(t *testing.T) {
	kit := testkit.New(t)
	asker := kit.Spawn(askerProps())
	p := kit.NewProbe(t)

	p.Send(asker, &ask{To: p.PID()})
	p.ExpectMsg(&question{})
	require.True(t, p.Sender().Equal(asker), "sender %v, want %v", p.Sender(), asker)
	p.Reply(&answer{Text: "42"})
	p.ExpectMsg(&answer{Text: "heard 42"})
}

func TestProbe_WatchExpectTerminated(t *testing.T) {
	kit := testkit.New(t)
	echo := kit.Root().Spawn(echoProps())
	p := kit.NewProbe(t)

	p.Watch(echo)
	kit.Root().Stop(echo)
	term := p.ExpectTerminated(echo)
	assert.Equal(t, actor.TerminatedReason_Stopped, term.Why)

	p.Watch(echo) // already gone: Terminated arrives at once
	assert.Equal(t, actor.TerminatedReason_NotFound, p.ExpectTerminated(echo).Why)
}

func TestProbe_Within(t *testing.T) {
	kit := testkit.New(t)
	echo := kit.Spawn(echoProps())
	p := kit.NewProbe(t)

	p.Within(time.Second, func() {
		p.Request(echo, &ping{N: 1})
		p.ExpectMsg(&pong{N: 1})
	})
}

func TestKit_Options(t *testing.T) {
	kit := testkit.New(t, testkit.WithTimeout(time.Second),
		testkit.WithActorSystemOptions(actor.WithDeadLetterThrottleCount(7)))
	assert.Equal(t, time.Second, kit.Timeout())
	assert.EqualValues(t, 7, kit.System().Config.DeadLetterThrottleCount)
	require.Same(t, kit.System().Root, kit.Root())
}

package testkit_test

import (
	"errors"
	"testing"
	"time"

	"github.com/otpbox/otpbox/testkit"
	"github.com/stretchr/testify/assert"
)

// These tests prove that expectations fail, promptly and with a useful
// message, instead of passing or hanging.

const short = 50 * time.Millisecond

func TestFail_ExpectMsgTimeout(t *testing.T) {
	start := time.Now()
	failWith(t, func(t testing.TB) {
		p := testkit.New(t, testkit.WithTimeout(short)).NewProbe(t)
		p.ExpectMsg("never")
		t.Error("ExpectMsg returned after its timeout")
	}, "ExpectMsg: no message arrived within 50ms")
	assert.Less(t, time.Since(start), 2*time.Second)
}

func TestFail_ExpectMsgMismatch(t *testing.T) {
	failWith(t, func(t testing.TB) {
		kit := testkit.New(t, testkit.WithTimeout(short))
		p := kit.NewProbe(t)
		p.Request(kit.Spawn(echoProps()), &ping{N: 1})
		p.ExpectMsg(&pong{N: 2})
	}, "ExpectMsg: got *testkit_test.pong &{N:1}, want *testkit_test.pong &{N:2}")
}

func TestFail_ExpectMsgType(t *testing.T) {
	failWith(t, func(t testing.TB) {
		p := testkit.New(t, testkit.WithTimeout(short)).NewProbe(t)
		p.Send(p.PID(), "text")
		testkit.ExpectMsgType[error](p)
	}, "got string text, want a error")
}

func TestFail_ExpectMsgWhere(t *testing.T) {
	failWith(t, func(t testing.TB) {
		p := testkit.New(t, testkit.WithTimeout(short)).NewProbe(t)
		p.Send(p.PID(), 7)
		p.ExpectMsgWhere(func(m any) bool { return m == 8 })
	}, "predicate rejected int 7")
}

func TestFail_ExpectNoMsg(t *testing.T) {
	failWith(t, func(t testing.TB) {
		p := testkit.New(t).NewProbe(t)
		p.Send(p.PID(), "surprise")
		p.ExpectNoMsg(time.Second)
	}, "ExpectNoMsg(1s): got string surprise")
}

func TestFail_ReceiveN(t *testing.T) {
	failWith(t, func(t testing.TB) {
		p := testkit.New(t, testkit.WithTimeout(short)).NewProbe(t)
		p.Send(p.PID(), "one")
		p.ReceiveN(2)
	}, "ReceiveN(2): timeout after 1 messages: [string one]")
}

func TestFail_Fish(t *testing.T) {
	failWith(t, func(t testing.TB) {
		p := testkit.New(t, testkit.WithTimeout(short)).NewProbe(t)
		p.Send(p.PID(), "a")
		p.Send(p.PID(), "b")
		p.Fish(func(m any) bool { return m == "c" })
	}, "skipped [string a, string b]")
}

func TestFail_ExpectTerminatedOfAnother(t *testing.T) {
	failWith(t, func(t testing.TB) {
		kit := testkit.New(t, testkit.WithTimeout(short))
		p := kit.NewProbe(t)
		a, b := kit.Root().Spawn(echoProps()), kit.Root().Spawn(echoProps())
		p.Watch(a)
		kit.Root().Stop(a)
		p.ExpectTerminated(b)
	}, "ExpectTerminated: got *actor.Terminated", "want the termination of")
}

func TestFail_ReplyWithoutSender(t *testing.T) {
	failWith(t, func(t testing.TB) {
		p := testkit.New(t).NewProbe(t)
		p.Send(p.PID(), "no sender")
		p.ExpectMsg("no sender")
		p.Reply("lost")
	}, "Reply(string lost): the last message had no sender")
}

func TestFail_WithinNarrowsTheDeadline(t *testing.T) {
	start := time.Now()
	failWith(t, func(t testing.TB) {
		p := testkit.New(t, testkit.WithTimeout(time.Minute)).NewProbe(t)
		p.Within(short, func() { p.ExpectMsg("never") })
	}, "ExpectMsg: no message arrived within")
	assert.Less(t, time.Since(start), 2*time.Second)
}

func TestFail_WithinTooSlow(t *testing.T) {
	failWith(t, func(t testing.TB) {
		p := testkit.New(t).NewProbe(t)
		p.Within(10*time.Millisecond, func() { p.ExpectNoMsg(short) })
	}, "Within(10ms): the block took")
}

func TestFail_Eventually(t *testing.T) {
	failWith(t, func(t testing.TB) {
		n := 0
		testkit.Eventually(t, short, func() error { n++; return errors.New("still waiting") })
	}, "Eventually: not satisfied within 50ms: still waiting")
}

func TestFail_AwaitAssert(t *testing.T) {
	failWith(t, func(t testing.TB) {
		testkit.AwaitAssert(t, short, func(c *assert.CollectT) { assert.Equal(c, 1, 2, "one is not two") })
	}, "one is not two", "AwaitAssert: not satisfied within 50ms")
}

func TestFail_LeakCheck(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	failWith(t, func(t testing.TB) {
		testkit.New(t)
		go func() { <-release }()
	}, "goroutines leaked by the test", "TestFail_LeakCheck")
}

package testkit_test

import (
	"errors"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/otpbox/otpbox/supervision"
	"github.com/otpbox/otpbox/testkit"
	"github.com/stretchr/testify/assert"
)

// idleProps tells report how long it waited when its receive timeout fires.
func idleProps(timeout time.Duration, report *actor.PID) *actor.Props {
	var start time.Time
	return actor.PropsFromFunc(func(c actor.Context) {
		switch c.Message().(type) {
		case *actor.Started:
			start = time.Now()
			c.SetReceiveTimeout(timeout)
		case *actor.ReceiveTimeout:
			c.CancelReceiveTimeout()
			c.Send(report, time.Since(start))
		}
	})
}

// realTime fails t if f takes a second or more of real time.
func realTime(t *testing.T, f func()) {
	t.Helper()
	start := time.Now()
	f()
	if took := time.Since(start); took >= time.Second {
		t.Errorf("took %v of real time", took)
	}
}

func TestVirtual_ReceiveTimeout(t *testing.T) {
	realTime(t, func() {
		testkit.Virtual(t, func(t *testing.T) {
			kit := testkit.New(t)
			p := kit.NewProbe(t)
			kit.Spawn(idleProps(10*time.Minute, p.PID()))
			p.ExpectNoMsg(10*time.Minute - time.Second)
			p.ExpectMsg(10 * time.Minute) // within the default 3 s

		})
	})
}

func TestVirtual_ExpectNoMsg(t *testing.T) {
	realTime(t, func() {
		testkit.Virtual(t, func(t *testing.T) {
			start := time.Now()
			testkit.New(t).NewProbe(t).ExpectNoMsg(10 * time.Minute)
			assert.Equal(t, 10*time.Minute, time.Since(start))
		})
	})
}

// Dead letters start protoactor's 1 s throttle goroutine; synctest.Test
// fails if it is still running when the bubble ends. Virtual lets it end.
func TestVirtual_DeadLettersDoNotDeadlockTheBubble(t *testing.T) {
	testkit.Virtual(t, func(t *testing.T) {
		kit := testkit.New(t)
		kit.Root().Send(kit.System().NewLocalPID("nobody"), "lost")
		_, err := kit.Root().RequestFuture(kit.System().NewLocalPID("nobody"), "lost", time.Minute).Result()
		assert.ErrorIs(t, err, actor.ErrDeadLetter)
	})
}

// Timeouts fail at once in virtual time, and the failure is still reported.
func TestVirtual_FailuresAreInstant(t *testing.T) {
	realTime(t, func() {
		testkit.Virtual(t, func(t *testing.T) {
			failWith(t, func(t testing.TB) {
				testkit.New(t).NewProbe(t).ExpectMsg("never")
			}, "ExpectMsg: no message arrived within 3s")
			failWith(t, func(t testing.TB) {
				testkit.NewRecorder(t, testkit.New(t).System()).WaitFor(1)
			}, "Recorder.WaitFor(1): 0 events within 3s")
			failWith(t, func(t testing.TB) {
				testkit.Eventually(t, time.Hour, func() error { return errors.New("never") })
			}, "not satisfied within 1h0m0s: never")
		})
	})
}

func TestVirtual_Recorder(t *testing.T) {
	testkit.Virtual(t, func(t *testing.T) {
		kit := testkit.New(t)
		r := testkit.NewRecorder(t, kit.System())
		kit.Root().Send(kit.Spawn(publisherProps()), started("c1"))
		r.ExpectSequence("S(c1)")
		assert.Equal(t, supervision.ChildStarted, r.Events()[0].Kind)
	})
}

package supervision_test

// Cases C (one_for_all), D (rest_for_one), E (intensity) and F (shutdown)
// of ../shared/spec/otp-supervisor.md.

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/supervision"
)

func TestOTP_C1_OneForAll(t *testing.T) {
	f := newFixture(t)
	sup := f.start(flags(supervision.OneForAll), f.child("c1"), f.child("c2"), f.child("c3"))
	old := []string{f.pid("c1").Id, f.pid("c2").Id, f.pid("c3").Id}
	f.exit("c2", boom)
	f.expect("X(c2,boom)", "T(c3)", "T(c1)", "S(c1)", "S(c2)", "S(c3)")
	for i, id := range []string{"c1", "c2", "c3"} {
		assert.NotEqual(t, old[i], f.pid(id).Id, "all pids are new")
	}
	assert.EqualValues(t, 1, sup.History().Total(), "a group restart counts once")
}

func TestOTP_C2_TemporaryBystander(t *testing.T) {
	f := newFixture(t)
	f.start(flags(supervision.OneForAll), f.child("c1"), f.child("c2", restart(supervision.Temporary)), f.child("c3"))
	f.exit("c1", boom)
	f.expect("X(c1,boom)", "T(c3)", "T(c2)", "S(c1)", "S(c3)")
	assert.Equal(t, []string{"c3", "c1"}, f.which())
}

func TestOTP_C3_ExitWithoutRestartLeavesSiblings(t *testing.T) {
	f := newFixture(t)
	f.start(flags(supervision.OneForAll), f.child("c1"), f.child("c2", restart(supervision.Temporary)), f.child("c3", restart(supervision.Transient)))
	f.exit("c2", boom)
	f.expect("X(c2,boom)")
	assert.Equal(t, 2, f.counts().Specs)
	f.exit("c3", supervision.Normal)
	f.expect("X(c3,normal)")
	assert.Equal(t, []string{"c3:undefined", "c1"}, f.which())
}

func TestOTP_C4_GroupRestartRevivesStoppedChild(t *testing.T) {
	f := newFixture(t)
	sup := f.start(flags(supervision.OneForAll), f.child("c1"), f.child("c2"), f.child("c3"))
	require.NoError(t, sup.TerminateChild(f.ctx, "c3"))
	f.expect("T(c3)")
	f.exit("c1", boom)
	f.expect("X(c1,boom)", "T(c2)", "S(c1)", "S(c2)", "S(c3)")
}

func TestOTP_D1_RestForOne(t *testing.T) {
	f := newFixture(t)
	f.start(flags(supervision.RestForOne), f.child("c1"), f.child("c2"), f.child("c3"), f.child("c4"))
	p1 := f.pid("c1")
	f.exit("c2", boom)
	f.expect("X(c2,boom)", "T(c4)", "T(c3)", "S(c2)", "S(c3)", "S(c4)")
	assert.True(t, p1.Equal(f.pid("c1")), "c1 is untouched")
}

func TestOTP_D2_TemporaryInTheRest(t *testing.T) {
	f := newFixture(t)
	f.start(flags(supervision.RestForOne), f.child("c1"), f.child("c2"), f.child("c3", restart(supervision.Temporary)), f.child("c4"))
	f.exit("c2", boom)
	f.expect("X(c2,boom)", "T(c4)", "T(c3)", "S(c2)", "S(c4)")
	assert.Equal(t, []string{"c4", "c2", "c1"}, f.which())
}

func intensity(i int, period time.Duration, s supervision.Strategy) supervision.Flags {
	return supervision.Flags{Strategy: s, Intensity: i, Period: period}
}

func TestOTP_E1_IntensityExceeded(t *testing.T) {
	f := newFixture(t)
	sup := f.start(intensity(1, 5*time.Second, supervision.OneForOne), f.child("c1"), f.child("c2"), f.child("c3"))
	f.exit("c2", boom)
	f.expect("X(c2,boom)", "S(c2)")
	f.exit("c2", boom)
	f.expect("X(c2,boom)", "Intensity", "T(c3)", "T(c1)", "Sup⇒shutdown")
	<-sup.Done()
	assert.Equal(t, supervision.Shutdown, sup.Reason(), "always shutdown, never the child's reason")
	_, err := sup.WhichChildren(f.ctx)
	assert.ErrorIs(t, err, supervision.ErrNoProc)
}

func TestOTP_E2_IntensityZero(t *testing.T) {
	f := newFixture(t)
	f.start(intensity(0, 5*time.Second, supervision.OneForOne), f.child("c1"), f.child("c2"), f.child("c3"))
	f.exit("c2", boom)
	f.expect("X(c2,boom)", "Intensity", "T(c3)", "T(c1)", "Sup⇒shutdown")
}

func TestOTP_E3_IntensityIsPerSupervisor(t *testing.T) {
	f := newFixture(t)
	f.start(intensity(1, 5*time.Second, supervision.OneForOne), f.child("c1"), f.child("c2"), f.child("c3"))
	f.exit("c1", boom)
	f.expect("X(c1,boom)", "S(c1)")
	f.exit("c2", boom)
	f.expect("X(c2,boom)", "Intensity", "T(c3)", "T(c1)", "Sup⇒shutdown")
}

func TestOTP_E4_GroupRestartCountsOnce(t *testing.T) {
	f := newFixture(t)
	f.start(intensity(1, 5*time.Second, supervision.OneForAll), f.child("c1"), f.child("c2"), f.child("c3"))
	f.exit("c1", boom)
	f.expect("X(c1,boom)", "T(c3)", "T(c2)", "S(c1)", "S(c2)", "S(c3)")
	f.exit("c2", boom)
	f.expect("X(c2,boom)", "Intensity", "T(c3)", "T(c1)", "Sup⇒shutdown")
}

// TestOTP_E5_WindowArithmetic checks OTP's rule: restarts at or after
// now-period (whole seconds) count; more than intensity is too many.
func TestOTP_E5_WindowArithmetic(t *testing.T) {
	t.Run("outside the window", func(t *testing.T) {
		f := newFixture(t)
		f.start(intensity(1, 5*time.Second, supervision.OneForOne), f.child("c1"))
		f.exit("c1", boom)
		f.expect("X(c1,boom)", "S(c1)")
		f.clock.Advance(6 * time.Second)
		f.exit("c1", boom)
		f.expect("X(c1,boom)", "S(c1)")
	})
	t.Run("on the window's edge", func(t *testing.T) {
		f := newFixture(t)
		f.start(intensity(1, 5*time.Second, supervision.OneForOne), f.child("c1"))
		f.exit("c1", boom)
		f.expect("X(c1,boom)", "S(c1)")
		f.clock.Advance(5*time.Second + 999*time.Millisecond) // still second 5: kept
		f.exit("c1", boom)
		f.expect("X(c1,boom)", "Intensity", "Sup⇒shutdown")
	})
}

func TestOTP_E6_FailedRestartsCount(t *testing.T) {
	t.Run("fails twice then succeeds", func(t *testing.T) {
		f := newFixture(t)
		sup := f.start(intensity(3, 10*time.Second, supervision.OneForOne), f.child("c1"), f.child("c2"), f.child("c3"))
		f.plan("c2").set(func(p *plan) { p.fail = 2 })
		f.exit("c2", boom)
		f.expect("X(c2,boom)", "F(c2)", "F(c2)", "S(c2)")
		assert.Equal(t, []string{"c3", "c2", "c1"}, f.which())
		assert.EqualValues(t, 3, sup.History().Total(), "every attempt is a restart")
	})
	t.Run("fails three times", func(t *testing.T) {
		f := newFixture(t)
		f.start(intensity(3, 10*time.Second, supervision.OneForOne), f.child("c1"), f.child("c2"), f.child("c3"))
		f.plan("c2").set(func(p *plan) { p.fail = 3 })
		f.exit("c2", boom)
		f.expect("X(c2,boom)", "F(c2)", "F(c2)", "F(c2)", "Intensity", "T(c3)", "T(c1)", "Sup⇒shutdown")
	})
}

func TestOTP_F1_OrderedStop(t *testing.T) {
	f := newFixture(t)
	release := f.plan("c3").block(t)
	sup := f.start(flags(supervision.OneForOne), f.child("c1"), f.child("c2"), f.child("c3"))
	stopped := make(chan error, 1)
	go func() { stopped <- sup.Exit(context.Background(), supervision.Shutdown) }()
	<-f.plan("c3").entered
	// c3 is still cleaning up: nobody else has been signalled.
	assert.Zero(t, f.plan("c2").clean.Load())
	assert.Zero(t, f.plan("c1").clean.Load())
	release()
	require.NoError(t, <-stopped)
	f.expect("T(c3)", "T(c2)", "T(c1)", "Sup⇒shutdown")
}

func TestOTP_F2_OtherStopReasons(t *testing.T) {
	f := newFixture(t)
	sup := f.start(flags(supervision.OneForOne), f.child("c1"), f.child("c2"), f.child("c3"))
	require.NoError(t, sup.Exit(f.ctx, boom))
	f.expect("T(c3)", "T(c2)", "T(c1)", "Sup⇒boom")

	f = newFixture(t)
	sup = f.start(flags(supervision.OneForOne), f.child("c1"), f.child("c2"), f.child("c3"))
	require.NoError(t, sup.Stop(f.ctx))
	// Stop returns only after the children are gone.
	for _, id := range []string{"c1", "c2", "c3"} {
		assert.EqualValues(t, 1, f.plan(id).clean.Load(), id)
	}
	f.expect("T(c3)", "T(c2)", "T(c1)", "Sup⇒normal")
}

func TestOTP_F3_ShutdownTimeout(t *testing.T) {
	f := newFixture(t)
	f.plan("c2").block(t) // c2 never finishes its cleanup in time
	sup := f.start(flags(supervision.OneForOne), f.child("c1"), f.child("c2", shutdown(supervision.Timeout(50*time.Millisecond))), f.child("c3"))
	require.NoError(t, sup.Exit(f.ctx, supervision.Shutdown))
	f.expect("T(c3)", "K(c2)", "T(c1)", "Sup⇒shutdown")
}

func TestOTP_F4_BrutalKill(t *testing.T) {
	f := newFixture(t)
	sup := f.start(flags(supervision.OneForOne), f.child("c1"), f.child("c2", shutdown(supervision.BrutalKill)), f.child("c3"))
	require.NoError(t, sup.Exit(f.ctx, supervision.Shutdown))
	f.expect("T(c3)", "K(c2)", "T(c1)", "Sup⇒shutdown")
	assert.Zero(t, f.plan("c2").clean.Load(), "a killed child runs none of its cleanup")
	assert.EqualValues(t, 1, f.plan("c1").clean.Load())
}

func TestOTP_F5_Infinity(t *testing.T) {
	f := newFixture(t)
	release := f.plan("c2").block(t)
	sup := f.start(flags(supervision.OneForOne), f.child("c1"), f.child("c2", shutdown(supervision.Infinity)), f.child("c3"))
	stopped := make(chan error, 1)
	go func() { stopped <- sup.Exit(context.Background(), supervision.Shutdown) }()
	<-f.plan("c2").entered
	select {
	case <-sup.Done():
		t.Fatal("the supervisor did not wait for c2")
	default:
	}
	release()
	require.NoError(t, <-stopped)
	f.expect("T(c3)", "T(c2)", "T(c1)", "Sup⇒shutdown")
}

func TestOTP_F7_SupervisorKilled(t *testing.T) {
	f := newFixture(t)
	sup := f.start(flags(supervision.OneForOne), f.child("c1"), f.child("c2"), f.child("c3"))
	sup.Kill()
	<-sup.Done()
	events := f.rec.WaitFor(4)
	kinds := map[supervision.EventKind]int{}
	for _, e := range events {
		kinds[e.Kind]++
	}
	assert.Equal(t, map[supervision.EventKind]int{supervision.ChildKilled: 3, supervision.SupervisorExited: 1}, kinds,
		"no ordered shutdown: every child is killed at once")
	assert.Equal(t, supervision.Killed, sup.Reason())
}

func TestOTP_F8_StrayMessagesIgnored(t *testing.T) {
	f := newFixture(t)
	sup := f.start(flags(supervision.OneForOne), f.child("c1"))
	f.kit.Root().Send(sup.PID(), "stray")
	f.kit.Root().Send(sup.PID(), &ping{})
	assert.Equal(t, []string{"c1"}, f.which())
	assert.Empty(t, f.rec.Events())
}

package supervision_test

// Cases G (dynamic children), H (simple_one_for_one), I (auto_shutdown) and
// J (nesting) of ../shared/spec/otp-supervisor.md.

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/supervision"
)

func TestOTP_G1_StartChild(t *testing.T) {
	f := newFixture(t)
	sup := f.start(flags(supervision.OneForOne), f.child("c1"), f.child("c2"))
	pid, err := sup.StartChild(f.ctx, f.child("d3"))
	require.NoError(t, err)
	require.NotNil(t, pid)
	f.expect("S(d3)")
	assert.Equal(t, []string{"d3", "c2", "c1"}, f.which(), "a new child goes last in start order")

	f.plan("ign").set(func(p *plan) { p.ignore = 2 })
	pid, err = sup.StartChild(f.ctx, f.child("ign"))
	require.NoError(t, err)
	assert.Nil(t, pid, "ignore is {ok, undefined}")
	pid, err = sup.StartChild(f.ctx, f.child("ign-tmp", restart(supervision.Temporary)))
	require.NoError(t, err)
	assert.NotNil(t, pid)
	f.expect("I(ign)", "S(ign-tmp)")
	assert.Equal(t, []string{"ign-tmp", "ign:undefined", "d3", "c2", "c1"}, f.which())

	require.NoError(t, sup.Exit(f.ctx, supervision.Shutdown))
	f.expect("T(ign-tmp)", "T(d3)", "T(c2)", "T(c1)", "Sup⇒shutdown")
}

func TestOTP_G2_DuplicateID(t *testing.T) {
	f := newFixture(t)
	sup := f.start(intensity(1<<30, 10*time.Second, supervision.OneForOne), f.child("c1"), f.child("c2"))
	running := f.pid("c1")
	_, err := sup.StartChild(f.ctx, f.child("c1"))
	var already *supervision.AlreadyStartedError
	require.ErrorAs(t, err, &already)
	assert.True(t, already.PID.Equal(running))

	require.NoError(t, sup.TerminateChild(f.ctx, "c1"))
	_, err = sup.StartChild(f.ctx, f.child("c1"))
	assert.ErrorIs(t, err, supervision.ErrAlreadyPresent)

	// c2's restarts fail forever: it is "restarting" while the supervisor
	// retries through its mailbox, and calls interleave with the retries.
	f.plan("c2").set(func(p *plan) { p.fail = 1 << 30 })
	f.exit("c2", boom)
	f.rec.WaitUntil(func(e *supervision.Event) bool { return e.Kind == supervision.ChildStartFailed })
	_, err = sup.StartChild(f.ctx, f.child("c2"))
	assert.ErrorIs(t, err, supervision.ErrAlreadyPresent)
	assert.Contains(t, f.which(), "c2:restarting")
	_, err = sup.RestartChild(f.ctx, "c2")
	assert.ErrorIs(t, err, supervision.ErrRestarting)
	assert.ErrorIs(t, sup.DeleteChild(f.ctx, "c2"), supervision.ErrRestarting)
	// Terminating a restarting child ends the retries.
	require.NoError(t, sup.TerminateChild(f.ctx, "c2"))
	assert.Equal(t, []string{"c2:undefined", "c1:undefined"}, f.which())
}

func TestOTP_G3_StartErrors(t *testing.T) {
	f := newFixture(t)
	sup := f.start(flags(supervision.OneForOne))
	f.plan("bad").set(func(p *plan) { p.fail = 1 })
	_, err := sup.StartChild(f.ctx, f.child("bad"))
	require.ErrorIs(t, err, errBoom)
	_, err = sup.GetChildSpec(f.ctx, "bad")
	assert.ErrorIs(t, err, supervision.ErrNotFound, "the spec is discarded")

	_, err = sup.StartChild(f.ctx, f.child("x", restart(7)))
	var se *supervision.SpecError
	require.ErrorAs(t, err, &se)
	assert.ErrorIs(t, err, supervision.ErrInvalidRestartType)
	assert.False(t, se.InStart, "not wrapped in start_spec")
	_, err = sup.StartChild(f.ctx, f.child("y", restart(supervision.Transient), significant))
	assert.ErrorIs(t, err, supervision.ErrBadCombination)
}

func TestOTP_G4_TerminateChild(t *testing.T) {
	f := newFixture(t)
	sup := f.start(intensity(0, 5*time.Second, supervision.OneForOne), f.child("c1"), f.child("c2"), f.child("tmp", restart(supervision.Temporary)))
	require.NoError(t, sup.TerminateChild(f.ctx, "c2"))
	f.expect("T(c2)")
	assert.Equal(t, []string{"tmp", "c2:undefined", "c1"}, f.which(), "spec kept, never restarted")
	require.NoError(t, sup.TerminateChild(f.ctx, "c2"), "again is ok")
	assert.ErrorIs(t, sup.TerminateChild(f.ctx, "nope"), supervision.ErrNotFound)
	assert.ErrorIs(t, sup.TerminateChildPID(f.ctx, f.pid("c1")), supervision.ErrNotFound, "a pid on a non-simple supervisor")

	require.NoError(t, sup.TerminateChild(f.ctx, "tmp"))
	f.expect("T(tmp)")
	_, err := sup.RestartChild(f.ctx, "tmp")
	assert.ErrorIs(t, err, supervision.ErrNotFound)
	assert.ErrorIs(t, sup.DeleteChild(f.ctx, "tmp"), supervision.ErrNotFound)
	assert.Equal(t, []string{"c2:undefined", "c1"}, f.which())
}

func TestOTP_G5_RestartChild(t *testing.T) {
	f := newFixture(t)
	sup := f.start(intensity(0, 5*time.Second, supervision.OneForOne), f.child("c1"))
	_, err := sup.RestartChild(f.ctx, "c1")
	assert.ErrorIs(t, err, supervision.ErrRunning)
	_, err = sup.RestartChild(f.ctx, "nope")
	assert.ErrorIs(t, err, supervision.ErrNotFound)

	// Restarts by hand do not count toward intensity (which is 0 here).
	for range 3 {
		require.NoError(t, sup.TerminateChild(f.ctx, "c1"))
		pid, err := sup.RestartChild(f.ctx, "c1")
		require.NoError(t, err)
		require.NotNil(t, pid)
	}
	f.expect("T(c1)", "S(c1)", "T(c1)", "S(c1)", "T(c1)", "S(c1)")

	require.NoError(t, sup.TerminateChild(f.ctx, "c1"))
	f.plan("c1").set(func(p *plan) { p.ignore = 1 })
	pid, err := sup.RestartChild(f.ctx, "c1")
	require.NoError(t, err)
	assert.Nil(t, pid, "{ok, undefined}")
	f.plan("c1").set(func(p *plan) { p.fail = 1 })
	_, err = sup.RestartChild(f.ctx, "c1")
	require.ErrorIs(t, err, errBoom)
	assert.Equal(t, []string{"c1:undefined"}, f.which(), "spec kept after a start error")
}

func TestOTP_G6_DeleteChild(t *testing.T) {
	f := newFixture(t)
	sup := f.start(flags(supervision.OneForOne), f.child("c1"), f.child("c2"))
	assert.ErrorIs(t, sup.DeleteChild(f.ctx, "c1"), supervision.ErrRunning)
	assert.ErrorIs(t, sup.DeleteChild(f.ctx, "nope"), supervision.ErrNotFound)
	require.NoError(t, sup.TerminateChild(f.ctx, "c1"))
	require.NoError(t, sup.DeleteChild(f.ctx, "c1"))
	assert.Equal(t, []string{"c2"}, f.which())
	// A deleted child started again goes last.
	_, err := sup.StartChild(f.ctx, f.child("c1"))
	require.NoError(t, err)
	assert.Equal(t, []string{"c1", "c2"}, f.which())
}

func TestOTP_G8_Introspection(t *testing.T) {
	f := newFixture(t)
	sub := supervision.Spec{Flags: flags(supervision.OneForOne)}
	sup := f.start(flags(supervision.OneForOne), f.child("c1"),
		supervision.ChildSpec{ID: "sub", Type: supervision.SupervisorChild, Start: supervision.Nested(sub)}, f.child("c3"))
	require.NoError(t, sup.TerminateChild(f.ctx, "c3"))
	children, err := sup.WhichChildren(f.ctx)
	require.NoError(t, err)
	require.Len(t, children, 3)
	assert.Equal(t, "c3", children[0].ID)
	assert.Nil(t, children[0].PID)
	assert.Equal(t, supervision.SupervisorChild, children[1].Type)
	assert.Equal(t, supervision.Counts{Specs: 3, Active: 2, Supervisors: 1, Workers: 2}, f.counts())
}

// sofo starts a SimpleOneForOne supervisor whose template passes its start
// arguments to the worker.
func (f *fixture) sofo(fl supervision.Flags, opts ...func(*supervision.ChildSpec)) *supervision.Supervisor {
	fl.Strategy = supervision.SimpleOneForOne
	return f.start(fl, f.child("t", opts...))
}

func TestOTP_H1_StartChildWith(t *testing.T) {
	f := newFixture(t)
	sup := f.sofo(flags(0))
	pid, err := sup.StartChildWith(f.ctx, "a", 1)
	require.NoError(t, err)
	assert.Equal(t, []any{"a", 1}, f.ping(pid).Args, "apply(M, F, A ++ Extra)")

	f.plan("t").set(func(p *plan) { p.ignore = 1 })
	pid, err = sup.StartChildWith(f.ctx)
	require.NoError(t, err)
	assert.Nil(t, pid)
	f.plan("t").set(func(p *plan) { p.fail = 1 })
	_, err = sup.StartChildWith(f.ctx)
	assert.Same(t, errBoom, err, "errors are not wrapped")

	children, err := sup.WhichChildren(f.ctx)
	require.NoError(t, err)
	require.Len(t, children, 1, "ignore stores nothing")
	assert.Empty(t, children[0].ID)
	assert.Equal(t, supervision.Counts{Specs: 1, Active: 1, Workers: 1}, f.counts())
}

func TestOTP_H2_RestartKeepsArgs(t *testing.T) {
	f := newFixture(t)
	sup := f.sofo(flags(0), restart(supervision.Transient))
	pid, err := sup.StartChildWith(f.ctx, "x")
	require.NoError(t, err)
	f.rec.Reset()
	f.kit.Root().Send(pid, &crash{R: boom})
	ev := f.rec.WaitFor(2)
	require.Equal(t, supervision.ChildStarted, ev[1].Kind)
	assert.False(t, ev[1].PID.Equal(pid))
	assert.Equal(t, []any{"x"}, f.ping(ev[1].PID).Args, "restarted with the same arguments")

	f.kit.Root().Send(ev[1].PID, &crash{R: supervision.Normal})
	f.rec.WaitFor(3)
	assert.Equal(t, 0, f.counts().Active+len(f.which()), "a transient child exiting normally is removed")
}

func TestOTP_H3_APIDifferences(t *testing.T) {
	f := newFixture(t)
	sup := f.sofo(flags(0))
	pid, err := sup.StartChildWith(f.ctx)
	require.NoError(t, err)

	assert.ErrorIs(t, sup.TerminateChild(f.ctx, "t"), supervision.ErrSimpleOneForOne)
	_, err = sup.RestartChild(f.ctx, "t")
	assert.ErrorIs(t, err, supervision.ErrSimpleOneForOne)
	assert.ErrorIs(t, sup.DeleteChild(f.ctx, "t"), supervision.ErrSimpleOneForOne)
	spec, err := sup.GetChildSpec(f.ctx, pid.Id)
	require.NoError(t, err)
	assert.Equal(t, "t", spec.ID, "the template")

	stranger := f.kit.Root().Spawn(actor.PropsFromFunc(func(actor.Context) {}))
	assert.ErrorIs(t, sup.TerminateChildPID(f.ctx, stranger), supervision.ErrNotFound, "alive but not a child")
	require.NoError(t, sup.TerminateChildPID(f.ctx, pid))
	require.NoError(t, sup.TerminateChildPID(f.ctx, pid), "an already dead pid is ok")
	assert.Empty(t, f.which())
}

func TestOTP_H4_ParallelShutdown(t *testing.T) {
	f := newFixture(t)
	sup := f.sofo(flags(0), shutdown(supervision.Timeout(100*time.Millisecond)))
	release := f.plan("t").block(t) // every child blocks in cleanup…
	slow, err := sup.StartChildWith(f.ctx)
	require.NoError(t, err)
	f.plan("t").set(func(p *plan) { p.gate = nil }) // …but the second one
	fast, err := sup.StartChildWith(f.ctx)
	require.NoError(t, err)
	f.rec.Reset()
	require.NoError(t, sup.Exit(f.ctx, supervision.Shutdown))
	assert.EqualValues(t, 1, f.plan("t").clean.Load(), "the fast child cleaned up while the slow one blocked")
	release() // the killed child's handler finishes on its own goroutine
	got := map[string]string{}
	for _, e := range f.rec.WaitFor(3)[:2] {
		got[e.PID.Id] = e.Kind.String()
	}
	assert.Equal(t, map[string]string{slow.Id: "child_killed", fast.Id: "child_terminated"}, got)
}

func TestOTP_H6_IntensityAndEscalation(t *testing.T) {
	f := newFixture(t)
	sup := f.sofo(intensity(1, 5*time.Second, 0))
	for range 3 {
		_, err := sup.StartChildWith(f.ctx)
		require.NoError(t, err)
	}
	children, err := sup.WhichChildren(f.ctx)
	require.NoError(t, err)
	f.rec.Reset()
	f.kit.Root().Send(children[0].PID, &crash{R: boom})
	restarted := f.rec.WaitFor(2)[1].PID
	f.kit.Root().Send(restarted, &crash{R: boom})
	<-sup.Done()
	events := f.rec.WaitFor(7)
	assert.Equal(t, "Intensity", events[3].String())
	assert.Equal(t, "Sup⇒shutdown", events[6].String())
	for _, e := range events[4:6] {
		assert.Equal(t, supervision.ChildTerminated, e.Kind)
	}
}

func TestOTP_H7_AutoShutdownRejected(t *testing.T) {
	for _, a := range []supervision.AutoShutdown{supervision.AnySignificant, supervision.AllSignificant} {
		f := newFixture(t)
		_, err := f.tryStart(supervision.Flags{Strategy: supervision.SimpleOneForOne, AutoShutdown: a}, f.child("t"))
		assert.ErrorIs(t, err, supervision.ErrBadCombination, a.String())
	}
}

func autoShutdown(a supervision.AutoShutdown) supervision.Flags {
	fl := flags(supervision.OneForOne)
	fl.AutoShutdown = a
	return fl
}

func TestOTP_I1_AnySignificantTransientNormal(t *testing.T) {
	f := newFixture(t)
	sup := f.start(autoShutdown(supervision.AnySignificant), f.child("c1", restart(supervision.Transient), significant), f.child("c2"), f.child("c3"))
	f.exit("c1", supervision.Normal)
	f.expect("X(c1,normal)", "AutoShutdown", "T(c3)", "T(c2)", "Sup⇒shutdown")
	<-sup.Done()
}

func TestOTP_I2_AnySignificantOtherExits(t *testing.T) {
	f := newFixture(t)
	f.start(autoShutdown(supervision.AnySignificant), f.child("c1", restart(supervision.Transient), significant), f.child("c2"))
	f.exit("c1", boom)
	f.expect("X(c1,boom)", "S(c1)")
	for _, r := range []supervision.Reason{supervision.Normal, boom, supervision.Killed} {
		t.Run("temporary "+r.String(), func(t *testing.T) {
			f := newFixture(t)
			f.start(autoShutdown(supervision.AnySignificant), f.child("c1", restart(supervision.Temporary), significant), f.child("c2"))
			f.exit("c1", r)
			f.expect("X(c1,"+r.String()+")", "AutoShutdown", "T(c2)", "Sup⇒shutdown")
		})
	}
}

func TestOTP_I3_AllSignificant(t *testing.T) {
	f := newFixture(t)
	f.start(autoShutdown(supervision.AllSignificant),
		f.child("c1", restart(supervision.Transient), significant), f.child("c2"), f.child("c3", restart(supervision.Temporary), significant))
	f.exit("c1", supervision.Normal)
	f.expect("X(c1,normal)")
	f.exit("c3", supervision.Normal)
	f.expect("X(c3,normal)", "AutoShutdown", "T(c2)", "Sup⇒shutdown")
}

func TestOTP_I5_SignificantValidation(t *testing.T) {
	f := newFixture(t)
	_, err := f.tryStart(autoShutdown(supervision.AnySignificant), f.child("c1", significant))
	var se *supervision.SpecError
	require.ErrorAs(t, err, &se)
	assert.ErrorIs(t, err, supervision.ErrBadCombination)
	assert.Equal(t, "restart permanent", se.Value)
	assert.True(t, se.InStart)

	// Under auto_shutdown never, that rule wins even when both apply.
	_, err = f.tryStart(flags(supervision.OneForOne), f.child("c1", significant))
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "auto_shutdown never", se.Value)
}

func TestOTP_J1_NestedSupervisorGivesUp(t *testing.T) {
	for _, rt := range []supervision.RestartType{supervision.Permanent, supervision.Transient} {
		t.Run(rt.String(), func(t *testing.T) {
			f := newFixture(t)
			sub := supervision.Spec{Flags: intensity(0, 5*time.Second, supervision.OneForOne), Children: []supervision.ChildSpec{f.child("w1")}}
			top := f.start(flags(supervision.OneForOne),
				supervision.ChildSpec{ID: "sub", Type: supervision.SupervisorChild, Restart: rt, Start: supervision.Nested(sub)}, f.child("w0"))
			subRef, err := supervision.Ref(f.ctx, f.kit.System(), f.pid("sub"))
			require.NoError(t, err)
			_, err = subRef.StartChild(f.ctx, f.child("dyn"))
			require.NoError(t, err)
			f.rec.Reset()

			f.kit.Root().Send(top.Whereis("sub/w1"), &crash{R: boom}) // w1's stable name, under sub's
			if rt == supervision.Permanent {
				f.expect("X(w1,boom)", "Intensity", "T(dyn)", "Sup⇒shutdown", "X(sub,shutdown)", "S(w1)", "S(sub)")
				subRef, err = supervision.Ref(f.ctx, f.kit.System(), f.pid("sub"))
				require.NoError(t, err)
				children, err := subRef.WhichChildren(f.ctx)
				require.NoError(t, err)
				assert.Len(t, children, 1, "dynamic children are lost when the supervisor restarts")
			} else {
				f.expect("X(w1,boom)", "Intensity", "T(dyn)", "Sup⇒shutdown", "X(sub,shutdown)")
				assert.Equal(t, []string{"w0", "sub:undefined"}, f.which())
			}
			// Stopping the top waits for the whole subtree.
			require.NoError(t, top.Stop(f.ctx))
			if rt == supervision.Permanent {
				// Once when the first w1 exited, once for the second at the
				// top's stop: Stop returned after the whole subtree was gone.
				assert.EqualValues(t, 2, f.plan("w1").clean.Load())
			}
		})
	}
}

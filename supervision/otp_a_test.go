package supervision_test

// Cases A (start-up and validation) and B (restart types) of
// ../shared/spec/otp-supervisor.md.

import (
	"errors"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/supervision"
)

func TestOTP_A1_StartOrderSynchronous(t *testing.T) {
	f := newFixture(t)
	var order []string // appended by each child's Init, on the supervisor's behalf
	spec := func(id string) supervision.ChildSpec {
		return supervision.ChildSpec{ID: id, Start: supervision.Spawn(func() actor.Actor {
			return &initRecorder{id: id, log: &order}
		})}
	}
	_, err := f.tryStart(flags(supervision.OneForOne), spec("c1"), spec("c2"), spec("c3"))
	require.NoError(t, err)
	// Start returned only after every init ran, in order.
	assert.Equal(t, []string{"c1", "c2", "c3"}, order)
	f.expect("S(c1)", "S(c2)", "S(c3)")
	assert.Equal(t, []string{"c3", "c2", "c1"}, f.which())
}

// initRecorder appends its id to log in Init. Inits run one at a time, each
// before the next start, so the shared slice needs no lock.
type initRecorder struct {
	id  string
	log *[]string
}

func (r *initRecorder) Init(actor.Context) error {
	*r.log = append(*r.log, r.id)
	return nil
}

func (r *initRecorder) Receive(actor.Context) {}

func TestOTP_A2_ChildFailsToStartDuringInit(t *testing.T) {
	f := newFixture(t)
	f.plan("c2").set(func(p *plan) { p.fail = 1 })
	_, err := f.tryStart(flags(supervision.OneForOne), f.child("c1"), f.child("c2"), f.child("c3"))
	var failed *supervision.FailedToStartError
	require.ErrorAs(t, err, &failed)
	assert.Equal(t, "c2", failed.ID)
	assert.ErrorIs(t, err, errBoom)
	f.expect("S(c1)", "F(c2)", "T(c1)", "Sup⇒"+supervision.ShutdownWith(failed).String())
	assert.Zero(t, f.plan("c3").starts, "c3's start function is never called")
}

func TestOTP_A3_IgnoreDuringInit(t *testing.T) {
	f := newFixture(t)
	f.plan("c2").set(func(p *plan) { p.ignore = 1 })
	f.plan("c3").set(func(p *plan) { p.ignore = 1 })
	_, err := f.tryStart(flags(supervision.OneForOne), f.child("c1"), f.child("c2"), f.child("c3", restart(supervision.Temporary)))
	require.NoError(t, err)
	f.expect("S(c1)", "I(c2)", "I(c3)")
	assert.Equal(t, []string{"c2:undefined", "c1"}, f.which())
	assert.Equal(t, supervision.Counts{Specs: 2, Active: 1, Workers: 2}, f.counts())
}

func TestOTP_A4_StartFunctionResults(t *testing.T) {
	f := newFixture(t)
	sup := f.start(flags(supervision.OneForOne))
	// ignore: {ok, undefined}
	pid, err := sup.StartChild(f.ctx, supervision.ChildSpec{ID: "ign", Type: supervision.SupervisorChild,
		Start: func(*supervision.StartContext, ...any) (*actor.PID, error) { return nil, supervision.ErrIgnore }})
	require.NoError(t, err)
	assert.Nil(t, pid)
	// a raise: {error, {E, Stack}}
	_, err = sup.StartChild(f.ctx, supervision.ChildSpec{ID: "raise",
		Start: func(*supervision.StartContext, ...any) (*actor.PID, error) { panic("bad init") }})
	var pe *supervision.PanicError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "bad init", pe.Value)
	// a bad return: neither a pid nor an error
	_, err = sup.StartChild(f.ctx, supervision.ChildSpec{ID: "bad",
		Start: func(*supervision.StartContext, ...any) (*actor.PID, error) { return nil, nil }})
	require.ErrorIs(t, err, supervision.ErrBadReturn)
	// an init that panics or returns an error fails the start
	_, err = sup.StartChild(f.ctx, supervision.ChildSpec{ID: "initerr",
		Start: supervision.Spawn(func() actor.Actor { return failingInit{} })})
	require.ErrorIs(t, err, errBoom)
	f.expect("I(ign)", "F(raise)", "F(bad)", "F(initerr)")
	assert.Equal(t, []string{"ign:undefined"}, f.which())
}

type failingInit struct{}

func (failingInit) Init(actor.Context) error { return errBoom }
func (failingInit) Receive(actor.Context)    {}

func TestOTP_A5_FlagValidation(t *testing.T) {
	tests := []struct {
		name  string
		flags supervision.Flags
		want  error
	}{
		{"negative intensity", supervision.Flags{Intensity: -1, Period: time.Second}, supervision.ErrInvalidIntensity},
		{"negative period", supervision.Flags{Intensity: 1, Period: -time.Second}, supervision.ErrInvalidPeriod},
		{"fractional period", supervision.Flags{Intensity: 1, Period: 1500 * time.Millisecond}, supervision.ErrInvalidPeriod},
		{"bogus strategy", supervision.Flags{Strategy: 42}, supervision.ErrInvalidStrategy},
		{"bogus auto_shutdown", supervision.Flags{AutoShutdown: 9}, supervision.ErrInvalidAutoShutdown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			_, err := f.tryStart(tt.flags, f.child("c1"))
			require.ErrorIs(t, err, tt.want)
			var se *supervision.SpecError
			require.ErrorAs(t, err, &se)
			assert.Empty(t, se.ID, "flag errors are supervisor_data, not child errors")
			assert.Zero(t, f.plan("c1").starts)
		})
	}
	t.Run("defaults intensity 1 period 5", func(t *testing.T) {
		f := newFixture(t)
		f.start(supervision.Flags{}, f.child("c1"))
		f.exit("c1", boom)
		f.expect("X(c1,boom)", "S(c1)")
		f.exit("c1", boom)
		f.expect("X(c1,boom)", "Intensity", "Sup⇒shutdown")
	})
}

func TestOTP_A6_ChildSpecValidationAtInit(t *testing.T) {
	noop := supervision.Spawn(func() actor.Actor { return &worker{} })
	tests := []struct {
		name string
		spec supervision.ChildSpec
		want error
	}{
		{"duplicate id", supervision.ChildSpec{ID: "c1", Start: noop}, supervision.ErrDuplicateChildName},
		{"missing id", supervision.ChildSpec{Start: noop}, supervision.ErrMissingID},
		{"missing start", supervision.ChildSpec{ID: "x"}, supervision.ErrMissingStart},
		{"bad restart", supervision.ChildSpec{ID: "x", Start: noop, Restart: 7}, supervision.ErrInvalidRestartType},
		{"bad shutdown", supervision.ChildSpec{ID: "x", Start: noop, Shutdown: -9}, supervision.ErrInvalidShutdown},
		{"bad type", supervision.ChildSpec{ID: "x", Start: noop, Type: 5}, supervision.ErrInvalidChildType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			_, err := f.tryStart(flags(supervision.OneForOne), f.child("c1"), tt.spec)
			require.ErrorIs(t, err, tt.want)
			var se *supervision.SpecError
			require.ErrorAs(t, err, &se)
			assert.True(t, se.InStart, "wrapped as start_spec")
			assert.Zero(t, f.plan("c1").starts, "no child starts when a spec is invalid")
		})
	}
}

func TestOTP_A7_SpecDefaultsAndGetChildSpec(t *testing.T) {
	f := newFixture(t)
	sub := supervision.Spec{Flags: flags(supervision.OneForOne)}
	sup := f.start(flags(supervision.OneForOne), f.child("c1"),
		supervision.ChildSpec{ID: "sub", Type: supervision.SupervisorChild, Start: supervision.Nested(sub)})
	spec, err := sup.GetChildSpec(f.ctx, "c1")
	require.NoError(t, err)
	assert.Equal(t, "c1", spec.ID)
	assert.Equal(t, supervision.Permanent, spec.Restart)
	assert.Equal(t, supervision.ShutdownSpec(5*time.Second), spec.Shutdown)
	assert.Equal(t, supervision.Worker, spec.Type)
	assert.False(t, spec.Significant)
	spec, err = sup.GetChildSpec(f.ctx, "sub")
	require.NoError(t, err)
	assert.Equal(t, supervision.Infinity, spec.Shutdown)
	_, err = sup.GetChildSpec(f.ctx, "nope")
	assert.ErrorIs(t, err, supervision.ErrNotFound)
}

func TestOTP_A8_SimpleOneForOneInit(t *testing.T) {
	for _, n := range []int{0, 2} {
		f := newFixture(t)
		children := make([]supervision.ChildSpec, n)
		for i := range children {
			children[i] = f.child("t")
		}
		_, err := f.tryStart(flags(supervision.SimpleOneForOne), children...)
		require.ErrorIs(t, err, supervision.ErrBadStartSpec, "%d specs", n)
	}
	f := newFixture(t)
	f.start(flags(supervision.SimpleOneForOne), f.child("t"))
	assert.Empty(t, f.which())
	assert.Equal(t, supervision.Counts{Specs: 1}, f.counts())
	assert.Zero(t, f.plan("t").starts, "no child starts at init")
}

func TestOTP_A9_NameAlreadyTaken(t *testing.T) {
	f := newFixture(t)
	first := f.start(flags(supervision.OneForOne))
	_, err := supervision.Start(f.kit.System(), supervision.Spec{Name: "sup"})
	var already *supervision.AlreadyStartedError
	require.ErrorAs(t, err, &already)
	assert.True(t, already.PID.Equal(first.PID()))
	assert.ErrorIs(t, err, supervision.ErrAlreadyStarted)
}

func TestOTP_B1_OneForOneCrash(t *testing.T) {
	f := newFixture(t)
	sup := f.start(flags(supervision.OneForOne), f.child("c1"), f.child("c2"), f.child("c3"))
	p1, p2, p3 := f.pid("c1"), f.pid("c2"), f.pid("c3")
	f.exit("c2", boom)
	f.expect("X(c2,boom)", "S(c2)")
	assert.False(t, p2.Equal(f.pid("c2")), "a restarted child gets a new pid")
	assert.True(t, p1.Equal(f.pid("c1")))
	assert.True(t, p3.Equal(f.pid("c3")))
	assert.EqualValues(t, 1, sup.History().Total())
	// The stable name reaches the new incarnation.
	f.ping(sup.Whereis("c2"))
}

func TestOTP_B1_PanicIsAbnormal(t *testing.T) {
	f := newFixture(t)
	f.start(flags(supervision.OneForOne), f.child("c1"))
	f.kit.Root().Send(f.pid("c1"), &explode{})
	f.expect("X(c1,panic: exploded)", "S(c1)")
}

func TestOTP_B2_PermanentRestartsOnEveryReason(t *testing.T) {
	f := newFixture(t)
	f.start(flags(supervision.OneForOne), f.child("c1"))
	for _, r := range []supervision.Reason{supervision.Normal, supervision.Shutdown, supervision.ShutdownWith("x"), boom} {
		f.exit("c1", r)
		f.expect("X(c1,"+r.String()+")", "S(c1)")
	}
	t.Run("intensity 0", func(t *testing.T) {
		f := newFixture(t)
		f.start(supervision.Flags{Intensity: 0, Period: 5 * time.Second}, f.child("c1"), f.child("c2"), f.child("c3"))
		f.exit("c1", supervision.Normal)
		f.expect("X(c1,normal)", "Intensity", "T(c3)", "T(c2)", "Sup⇒shutdown")
	})
}

func TestOTP_B3_Transient(t *testing.T) {
	for _, r := range []supervision.Reason{supervision.Normal, supervision.Shutdown, supervision.ShutdownWith("x")} {
		t.Run(r.String(), func(t *testing.T) {
			f := newFixture(t)
			sup := f.start(supervision.Flags{Intensity: 0, Period: 5 * time.Second}, f.child("t", restart(supervision.Transient)))
			f.exit("t", r)
			f.expect("X(t," + r.String() + ")")
			assert.Equal(t, []string{"t:undefined"}, f.which())
			assert.Equal(t, 0, f.counts().Active)
			pid, err := sup.RestartChild(f.ctx, "t")
			require.NoError(t, err)
			require.NotNil(t, pid)
			f.expect("S(t)")
		})
	}
	for _, r := range []supervision.Reason{boom, supervision.Killed} {
		t.Run(r.String(), func(t *testing.T) {
			f := newFixture(t)
			f.start(flags(supervision.OneForOne), f.child("t", restart(supervision.Transient)))
			f.exit("t", r)
			f.expect("X(t,"+r.String()+")", "S(t)")
		})
	}
}

func TestOTP_B4_Temporary(t *testing.T) {
	for _, r := range []supervision.Reason{supervision.Normal, boom, supervision.Killed} {
		t.Run(r.String(), func(t *testing.T) {
			f := newFixture(t)
			spec := f.child("tmp", restart(supervision.Temporary))
			sup := f.start(supervision.Flags{Intensity: 0, Period: 5 * time.Second}, spec)
			f.exit("tmp", r)
			f.expect("X(tmp," + r.String() + ")")
			assert.Empty(t, f.which())
			assert.Equal(t, supervision.Counts{}, f.counts())
			_, err := sup.RestartChild(f.ctx, "tmp")
			assert.ErrorIs(t, err, supervision.ErrNotFound)
			// No intensity was used (intensity 0), and the spec can be added again.
			_, err = sup.StartChild(f.ctx, spec)
			require.NoError(t, err)
			f.expect("S(tmp)")
		})
	}
}

var _ = errors.New

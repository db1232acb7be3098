package supervision_test

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/supervision"
)

// exitRuntime is a fakeRuntime that tells whether its supervisor gave up.
type exitRuntime struct {
	fakeRuntime
	exit *supervision.Reason
	now  time.Time
}

func (r *exitRuntime) Exit(reason supervision.Reason) { r.exit = &reason }
func (r *exitRuntime) Now() time.Time                 { return r.now }

// TestRestoreMachine: a machine restored from its State goes on as the
// saved one: the same children, the same restart window (one more exit
// gives up in both), and under simple_one_for_one the same dynamic
// children in their order, with their arguments.
func TestRestoreMachine(t *testing.T) {
	start := func(*supervision.StartContext, ...any) (*actor.PID, error) { return nil, nil }
	spec := supervision.Spec{Name: "sup", Flags: supervision.Flags{Strategy: supervision.OneForOne, Intensity: 2, Period: 10 * time.Second},
		Children: []supervision.ChildSpec{
			{ID: "a", Start: start, Def: "def a"},
			{ID: "b", Start: start, Restart: supervision.Transient},
			{ID: "c", Start: start, Restart: supervision.Temporary},
		}}
	rt := &exitRuntime{now: time.Unix(100, 0)}
	m, err := supervision.NewMachine(spec, rt)
	require.NoError(t, err)
	require.NoError(t, m.Init())
	a := func(m *supervision.Machine) *actor.PID {
		for _, c := range m.WhichChildren() {
			if c.ID == "a" {
				return c.PID
			}
		}
		return nil
	}
	m.Exited(a(m), supervision.Abnormal(assert.AnError))
	rt.now = rt.now.Add(3 * time.Second)
	m.Exited(a(m), supervision.Abnormal(assert.AnError))

	st, err := m.State()
	require.NoError(t, err)
	require.Len(t, st.Children, 3)
	assert.Equal(t, "def a", st.Children[0].Spec.Def)
	assert.Nil(t, st.Children[2].Spec.Start, "a temporary child that runs keeps no start")
	rt2 := &exitRuntime{fakeRuntime: rt.fakeRuntime, now: rt.now}
	spec.Children = nil
	m2, err := supervision.RestoreMachine(spec, rt2, st)
	require.NoError(t, err)
	assert.Equal(t, m.WhichChildren(), m2.WhichChildren())
	assert.Equal(t, m.CountChildren(), m2.CountChildren())

	for _, x := range []struct {
		m  *supervision.Machine
		rt *exitRuntime
	}{{m, rt}, {m2, rt2}} {
		x.rt.now = x.rt.now.Add(time.Second)
		x.m.Exited(a(x.m), supervision.Abnormal(assert.AnError))
		assert.NotNil(t, x.rt.exit, "a third restart within 10 s gives up")
	}
}

func TestRestoreSimpleMachine(t *testing.T) {
	start := func(*supervision.StartContext, ...any) (*actor.PID, error) { return nil, nil }
	spec := supervision.Spec{Name: "pool", Flags: supervision.Flags{Strategy: supervision.SimpleOneForOne, Intensity: 1, Period: time.Second},
		Children: []supervision.ChildSpec{{Start: start, Restart: supervision.Transient}}}
	rt := &exitRuntime{now: time.Unix(100, 0)}
	m, err := supervision.NewMachine(spec, rt)
	require.NoError(t, err)
	require.NoError(t, m.Init())
	var pids []*actor.PID
	for i := range 3 {
		pid, err := m.StartChildWith([]any{i})
		require.NoError(t, err)
		pids = append(pids, pid)
	}
	require.NoError(t, m.TerminateChildPID(pids[1]))

	st, err := m.State()
	require.NoError(t, err)
	require.Len(t, st.Children, 2)
	assert.Equal(t, []any{0}, st.Children[0].Args)
	assert.Equal(t, []any{2}, st.Children[1].Args)
	m2, err := supervision.RestoreMachine(spec, &exitRuntime{fakeRuntime: rt.fakeRuntime, now: rt.now}, st)
	require.NoError(t, err)
	assert.Equal(t, m.WhichChildren(), m2.WhichChildren())
	for _, x := range []*supervision.Machine{m, m2} {
		pid, err := x.StartChildWith([]any{3})
		require.NoError(t, err)
		assert.Equal(t, "4", pid.Id, "numbering goes on in the runtime")
		require.NoError(t, x.TerminateChildPID(pids[0]))
		assert.Equal(t, 2, x.CountChildren().Active)
		again, err := x.State()
		require.NoError(t, err)
		assert.Equal(t, uint64(4), again.Seq)
	}
}

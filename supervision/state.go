package supervision

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// MachineState is what a Machine holds besides its spec, as State returns
// it and RestoreMachine takes it back: a runtime that saves its processes
// (a sandbox's snapshot) saves each supervisor's machine with it, and a
// restored machine goes on as the saved one would have.
//
// The restart history (History) is not part of it: it is a record for
// observers, not an input of any decision; a restored machine's history
// starts empty.
type MachineState struct {
	// Epoch is when the machine started: restart times count from it.
	Epoch time.Time
	// Children are the child specs in start order, each with the pid it
	// runs (nil: none); under SimpleOneForOne, the dynamic children in
	// the order they started, each with its extra start arguments.
	Children []ChildState
	// Seq is the number of the last dynamic child started.
	Seq uint64
	// Restarts are the times of the restarts within the intensity window,
	// in whole seconds since Epoch, oldest first.
	Restarts []int64
}

// ChildState is one child of a MachineState.
type ChildState struct {
	Spec ChildSpec
	PID  *actor.PID
	Args []any  // a dynamic child's extra start arguments
	Seq  uint64 // a dynamic child's start order
}

// State returns the machine's state. It fails with ErrRestarting while a
// child's restart is to be retried (a Later callback not yet run, which
// no state can hold): save a machine when its runtime has nothing queued
// for it.
func (m *Machine) State() (MachineState, error) {
	st := MachineState{Epoch: m.epoch, Seq: m.seq, Restarts: slices.Clone(m.restarts)}
	children := m.children
	if m.simple() {
		children = m.dynamic() // start order
	}
	for _, c := range children {
		if c.restarting {
			return MachineState{}, ErrRestarting
		}
		st.Children = append(st.Children, ChildState{Spec: c.spec, PID: c.pid, Args: slices.Clone(c.args), Seq: c.seq})
	}
	return st, nil
}

// RestoreMachine returns the machine of a supervisor with spec (checked
// as NewMachine checks it) in state st, running its children's processes
// through rt: it starts nothing, the processes of st being the runtime's
// to restore. The specs of st's children carry their start functions; a
// temporary child that runs has none, as after its start.
func RestoreMachine(spec Spec, rt Runtime, st MachineState) (*Machine, error) {
	if err := validate(&spec, true); err != nil {
		return nil, err
	}
	m := newMachine(spec, rt)
	m.epoch, m.seq, m.restarts = st.Epoch, st.Seq, slices.Clone(st.Restarts)
	for _, cs := range st.Children {
		c := &child{spec: cs.Spec, pid: cs.PID, args: slices.Clone(cs.Args), seq: cs.Seq}
		if m.simple() {
			if c.pid == nil {
				return nil, errors.New("supervision: a dynamic child without a pid")
			}
			m.dyn[c] = struct{}{}
		} else {
			if _, dup := m.ids[c.spec.ID]; dup {
				return nil, fmt.Errorf("%w: %q", ErrDuplicateChildName, c.spec.ID)
			}
			m.add(c)
		}
		if c.pid != nil {
			if _, dup := m.running[c.pid.Id]; dup {
				return nil, errors.New("supervision: two children run " + c.pid.Id)
			}
			m.running[c.pid.Id] = c
		}
	}
	return m, nil
}

package supervision

import (
	"errors"

	"github.com/asynkron/protoactor-go/actor"
)

// The API calls, run on the supervisor's goroutine.

func (s *supervisor) startChild(spec ChildSpec) result {
	if s.simple() {
		return result{err: ErrSimpleOneForOne}
	}
	if err := validateChild(&spec, s.spec.Flags, false); err != nil {
		return result{err: err}
	}
	if c, ok := s.ids[spec.ID]; ok {
		if c.p != nil {
			return result{err: &AlreadyStartedError{PID: c.p.pid}}
		}
		return result{err: ErrAlreadyPresent}
	}
	c := &child{spec: spec}
	s.add(c)
	err := s.start(c, false)
	switch {
	case errors.Is(err, ErrIgnore):
		if spec.Restart == Temporary {
			s.remove(c)
		}
		return result{}
	case err != nil:
		s.remove(c)
		return result{err: err}
	}
	return result{pid: c.p.pid}
}

func (s *supervisor) startChildWith(args []any) result {
	if !s.simple() {
		return result{err: ErrNotSimpleOneForOne}
	}
	c := &child{spec: s.spec.Children[0], args: args}
	if err := s.start(c, false); err != nil {
		if errors.Is(err, ErrIgnore) {
			return result{}
		}
		return result{err: err}
	}
	s.dyn[c] = struct{}{}
	return result{pid: c.p.pid}
}

func (s *supervisor) terminateChild(id string) result {
	if s.simple() {
		return result{err: ErrSimpleOneForOne}
	}
	c, ok := s.ids[id]
	if !ok {
		return result{err: ErrNotFound}
	}
	s.terminate(c)
	c.restarting = false
	if c.spec.Restart == Temporary {
		s.remove(c)
	}
	return result{}
}

func (s *supervisor) terminateChildPID(pid *actor.PID) result {
	if !s.simple() {
		return result{err: ErrNotFound}
	}
	if pid == nil {
		return result{err: ErrNotFound}
	}
	c, ok := s.dynPID[pid.Id]
	if !ok {
		if _, alive := s.system.ProcessRegistry.GetLocal(pid.Id); alive {
			return result{err: ErrNotFound}
		}
		return result{} // already dead: ok (H3)
	}
	s.terminate(c)
	delete(s.dyn, c)
	return result{}
}

// notRunning finds the child id for restart_child and delete_child, which
// both need a child that is neither running nor restarting (G5, G6).
func (s *supervisor) notRunning(id string) (*child, error) {
	if s.simple() {
		return nil, ErrSimpleOneForOne
	}
	c, ok := s.ids[id]
	switch {
	case !ok:
		return nil, ErrNotFound
	case c.p != nil:
		return nil, ErrRunning
	case c.restarting:
		return nil, ErrRestarting
	}
	return c, nil
}

func (s *supervisor) restartChild(id string) result {
	c, err := s.notRunning(id)
	if err != nil {
		return result{err: err}
	}
	if err := s.start(c, false); err != nil {
		if errors.Is(err, ErrIgnore) {
			return result{}
		}
		return result{err: err}
	}
	return result{pid: c.p.pid}
}

func (s *supervisor) deleteChild(id string) result {
	c, err := s.notRunning(id)
	if err != nil {
		return result{err: err}
	}
	s.remove(c)
	return result{}
}

func (s *supervisor) whichChildren() result {
	var out []ChildInfo
	if s.simple() {
		out = make([]ChildInfo, 0, len(s.dyn))
		for c := range s.dyn {
			ci := c.info()
			ci.ID = ""
			out = append(out, ci)
		}
		return result{children: out}
	}
	out = make([]ChildInfo, 0, len(s.children))
	for i := len(s.children) - 1; i >= 0; i-- {
		out = append(out, s.children[i].info())
	}
	return result{children: out}
}

func (c *child) info() ChildInfo {
	ci := ChildInfo{ID: c.spec.ID, Restarting: c.restarting, Type: c.spec.Type}
	if c.p != nil {
		ci.PID = c.p.pid
	}
	return ci
}

func (s *supervisor) countChildren() result {
	var n Counts
	if s.simple() {
		n.Specs = 1
		for c := range s.dyn {
			if !c.restarting {
				n.Active++
			}
		}
		if s.spec.Children[0].Type == SupervisorChild {
			n.Supervisors = len(s.dyn)
		} else {
			n.Workers = len(s.dyn)
		}
		return result{counts: n}
	}
	n.Specs = len(s.children)
	for _, c := range s.children {
		if c.p != nil {
			n.Active++
		}
		if c.spec.Type == SupervisorChild {
			n.Supervisors++
		} else {
			n.Workers++
		}
	}
	return result{counts: n}
}

func (s *supervisor) getChildSpec(id string) result {
	if s.simple() {
		if _, ok := s.dynPID[id]; ok {
			return result{spec: s.spec.Children[0]}
		}
		return result{err: ErrNotFound}
	}
	c, ok := s.ids[id]
	if !ok {
		return result{err: ErrNotFound}
	}
	return result{spec: c.spec}
}

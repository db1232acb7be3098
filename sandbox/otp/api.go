package otp

import (
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.starlark.net/starlark"

	"github.com/otpbox/otpbox/sandbox/engine"
	"github.com/otpbox/otpbox/supervision"
)

// The supervisor API of the sandbox language: start_supervisor and OTP's
// supervisor functions, each run as a call to the supervisor, in its
// mailbox order.

func (rt *Runtime) bStartSupervisor(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var def, nameV starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "sup", &def, "name?", &nameV); err != nil {
		return nil, argError(b.Name(), err)
	}
	d, ok := def.(*supDef)
	if !ok {
		return nil, fmt.Errorf("%s: sup must be a supervisor definition, supervisor(...), got %s", signatureOf(b.Name()), describe(def))
	}
	name := ""
	switch n := nameV.(type) {
	case nil, starlark.NoneType:
	case starlark.String:
		if n == "" {
			return nil, fmt.Errorf("%s: name must not be empty", signatureOf(b.Name()))
		}
		name = string(n)
	default:
		return nil, fmt.Errorf("%s: name must be a string, got %s", signatureOf(b.Name()), describe(nameV))
	}
	rt.touch()
	root, err := rt.rootProc()
	if err != nil {
		return nil, err
	}
	if name == "" {
		rt.st.trees++
		name = fmt.Sprintf("tree%d", rt.st.trees)
	}
	cs := rt.childSpec(&childDef{spec: supervision.ChildSpec{ID: name, Type: supervision.SupervisorChild, Restart: supervision.Temporary}, start: d})
	return rt.supervisorCall(selfOf(thread), root, b.Name(), func(m *supervision.Machine) (starlark.Value, error) {
		pid, err := m.StartChild(cs)
		var already *supervision.AlreadyStartedError
		switch {
		case errors.As(err, &already):
			return nil, fmt.Errorf("start_supervisor(sup, name=%q): already_started: a tree named %q is running as %s; give the new tree another name",
				name, name, pidValue(already.PID))
		case err != nil:
			return nil, rt.explainStart("start_supervisor(sup)", name, true, err)
		}
		return pidValue(pid), nil
	})
}

func (rt *Runtime) bStartChild(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var supV, specV starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &supV, &specV); err != nil {
		return nil, argError(b.Name(), err)
	}
	rt.touch()
	sup, err := rt.supArg(b.Name(), supV)
	if err != nil {
		return nil, err
	}
	flags := sup.m.Spec().Flags
	if flags.Strategy == supervision.SimpleOneForOne {
		extra, ok := specV.(starlark.Tuple)
		if !ok {
			return nil, fmt.Errorf("start_child(sup, args): %s is simple_one_for_one, so args must be a tuple of extra arguments for its template, got %s%s", Pid{sup.n}, specV.Type(), tupleHint(specV))
		}
		extra.Freeze()
		xs := make([]any, len(extra))
		for i, x := range extra {
			xs[i] = x
		}
		return rt.supervisorCall(selfOf(thread), sup, b.Name(), func(m *supervision.Machine) (starlark.Value, error) {
			pid, err := m.StartChildWith(xs)
			if err != nil {
				return nil, rt.explainStart(fmt.Sprintf("start_child(%s, %s)", Pid{sup.n}, engine.Repr(extra, reprBytes)), "", false, err)
			}
			return pidValue(pid), nil
		})
	}
	if _, ok := specV.(starlark.Tuple); ok {
		return nil, fmt.Errorf(`start_child(sup, spec): %s is %s, so spec must be a child spec dict such as {"id": "c", "start": worker(...)}; a tuple of arguments is for simple_one_for_one supervisors`, Pid{sup.n}, flags.Strategy)
	}
	c, err := childDefOf(thread, "start_child(sup, spec)", flags, specV)
	if err != nil {
		return nil, err
	}
	cs := rt.childSpec(c)
	call := fmt.Sprintf("start_child(%s, spec)", Pid{sup.n})
	return rt.supervisorCall(selfOf(thread), sup, b.Name(), func(m *supervision.Machine) (starlark.Value, error) {
		pid, err := m.StartChild(cs)
		if err != nil {
			return nil, rt.explainAPI(m, call, Pid{sup.n}, c.spec.ID, err)
		}
		return pidValue(pid), nil
	})
}

func tupleHint(v starlark.Value) string {
	l, ok := v.(*starlark.List)
	if !ok {
		return ""
	}
	if l.Len() == 1 {
		return fmt.Sprintf("; write (%s,) for one argument", engine.Repr(l.Index(0), reprBytes))
	}
	t := make(starlark.Tuple, l.Len())
	for i := range t {
		t[i] = l.Index(i)
	}
	return fmt.Sprintf("; write %s (a one-element tuple is (x,))", engine.Repr(t, reprBytes))
}

func (rt *Runtime) bTerminateChild(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var supV, which starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &supV, &which); err != nil {
		return nil, argError(b.Name(), err)
	}
	switch which.(type) {
	case Pid, starlark.String:
	default:
		return nil, fmt.Errorf("%s: id must be a child id (a string) or, under simple_one_for_one, a child's pid; got %s", signatureOf(b.Name()), describe(which))
	}
	return rt.supCall(thread, b.Name(), supV, func(m *supervision.Machine) (starlark.Value, error) {
		sup := supPid(m)
		call := fmt.Sprintf("terminate_child(%s, %s)", sup, which)
		switch w := which.(type) {
		case Pid:
			if m.Spec().Strategy != supervision.SimpleOneForOne {
				return nil, fmt.Errorf(`%s: not_found: %s is %s, so its children are terminated by id, such as terminate_child(%s, "c"); which_children(%s) lists them`, call, sup, m.Spec().Strategy, sup, sup)
			}
			if err := m.TerminateChildPID(pidOf(w.n)); err != nil {
				return nil, fmt.Errorf("%s: not_found: %s is not a child of %s; which_children(%s) lists them", call, w, sup, sup)
			}
		case starlark.String:
			if err := m.TerminateChild(string(w)); err != nil {
				return nil, rt.explainAPI(m, call, sup, string(w), err)
			}
		}
		return starlark.None, nil
	})
}

func supPid(m *supervision.Machine) Pid {
	return Pid{numberOf(&actor.PID{Id: m.Spec().Name})}
}

func idArgs(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, string, error) {
	var supV, idV starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &supV, &idV); err != nil {
		return nil, "", argError(b.Name(), err)
	}
	id, ok := idV.(starlark.String)
	if !ok {
		return nil, "", fmt.Errorf("%s: id must be a child id (a string), got %s", signatureOf(b.Name()), describe(idV))
	}
	return supV, string(id), nil
}

func (rt *Runtime) bRestartChild(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	supV, id, err := idArgs(b, args, kwargs)
	if err != nil {
		return nil, err
	}
	return rt.supCall(thread, b.Name(), supV, func(m *supervision.Machine) (starlark.Value, error) {
		pid, err := m.RestartChild(id)
		if err != nil {
			sup := supPid(m)
			return nil, rt.explainAPI(m, fmt.Sprintf("restart_child(%s, %q)", sup, id), sup, id, err)
		}
		return pidValue(pid), nil
	})
}

func (rt *Runtime) bDeleteChild(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	supV, id, err := idArgs(b, args, kwargs)
	if err != nil {
		return nil, err
	}
	return rt.supCall(thread, b.Name(), supV, func(m *supervision.Machine) (starlark.Value, error) {
		if err := m.DeleteChild(id); err != nil {
			sup := supPid(m)
			return nil, rt.explainAPI(m, fmt.Sprintf("delete_child(%s, %q)", sup, id), sup, id, err)
		}
		return starlark.None, nil
	})
}

func (rt *Runtime) bWhereis(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	supV, id, err := idArgs(b, args, kwargs)
	if err != nil {
		return nil, err
	}
	return rt.supCall(thread, b.Name(), supV, func(m *supervision.Machine) (starlark.Value, error) {
		for _, c := range m.WhichChildren() {
			if c.ID == id {
				return pidValue(c.PID), nil
			}
		}
		return starlark.None, nil
	})
}

func supOnly(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var supV starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &supV); err != nil {
		return nil, argError(b.Name(), err)
	}
	return supV, nil
}

func (rt *Runtime) bWhichChildren(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	supV, err := supOnly(b, args, kwargs)
	if err != nil {
		return nil, err
	}
	return rt.supCall(thread, b.Name(), supV, func(m *supervision.Machine) (starlark.Value, error) {
		children := m.WhichChildren()
		out := make([]starlark.Value, 0, len(children))
		for _, c := range children {
			d := starlark.NewDict(3)
			var id starlark.Value = starlark.None
			if c.ID != "" {
				id = starlark.String(c.ID)
			}
			pid := pidValue(c.PID)
			if c.Restarting {
				pid = starlark.String("restarting")
			}
			_ = d.SetKey(starlark.String("id"), id)
			_ = d.SetKey(starlark.String("pid"), pid)
			_ = d.SetKey(starlark.String("type"), starlark.String(c.Type.String()))
			out = append(out, d)
		}
		return starlark.NewList(out), nil
	})
}

func (rt *Runtime) bCountChildren(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	supV, err := supOnly(b, args, kwargs)
	if err != nil {
		return nil, err
	}
	return rt.supCall(thread, b.Name(), supV, func(m *supervision.Machine) (starlark.Value, error) {
		n := m.CountChildren()
		d := starlark.NewDict(4)
		_ = d.SetKey(starlark.String("specs"), starlark.MakeInt(n.Specs))
		_ = d.SetKey(starlark.String("active"), starlark.MakeInt(n.Active))
		_ = d.SetKey(starlark.String("supervisors"), starlark.MakeInt(n.Supervisors))
		_ = d.SetKey(starlark.String("workers"), starlark.MakeInt(n.Workers))
		return d, nil
	})
}

func (rt *Runtime) bGetChildSpec(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var supV, which starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &supV, &which); err != nil {
		return nil, argError(b.Name(), err)
	}
	var key string
	switch w := which.(type) {
	case Pid:
		key = w.String()
	case starlark.String:
		key = string(w)
	default:
		return nil, fmt.Errorf("%s: id must be a child id (a string) or, under simple_one_for_one, a child's pid; got %s", signatureOf(b.Name()), describe(which))
	}
	return rt.supCall(thread, b.Name(), supV, func(m *supervision.Machine) (starlark.Value, error) {
		sup := supPid(m)
		simple := m.Spec().Strategy == supervision.SimpleOneForOne
		_, byPid := which.(Pid)
		if simple != byPid {
			if simple {
				return nil, fmt.Errorf("get_childspec(%s, %s): not_found: %s is simple_one_for_one: its children have no ids; give one of their pids", sup, which, sup)
			}
			return nil, fmt.Errorf(`get_childspec(%s, %s): not_found: %s is %s: give a child id, such as get_childspec(%s, "c")`, sup, which, sup, m.Spec().Strategy, sup)
		}
		spec, err := m.GetChildSpec(key)
		if err != nil {
			return nil, rt.explainAPI(m, fmt.Sprintf("get_childspec(%s, %s)", sup, which), sup, key, err)
		}
		return specDict(spec), nil
	})
}

func specDict(spec supervision.ChildSpec) *starlark.Dict {
	d := starlark.NewDict(5)
	var id starlark.Value = starlark.None
	if spec.ID != "" {
		id = starlark.String(spec.ID)
	}
	var shutdown starlark.Value
	switch spec.Shutdown {
	case supervision.BrutalKill:
		shutdown = starlark.String("brutal_kill")
	case supervision.Infinity:
		shutdown = starlark.String("infinity")
	default:
		shutdown = starlark.MakeInt64(int64(time.Duration(spec.Shutdown) / time.Millisecond))
	}
	_ = d.SetKey(starlark.String("id"), id)
	_ = d.SetKey(starlark.String("restart"), starlark.String(spec.Restart.String()))
	_ = d.SetKey(starlark.String("shutdown"), shutdown)
	_ = d.SetKey(starlark.String("type"), starlark.String(spec.Type.String()))
	_ = d.SetKey(starlark.String("significant"), starlark.Bool(spec.Significant))
	return d
}

package otp

import (
	"fmt"
	"time"

	"go.starlark.net/starlark"

	"github.com/otpbox/otpbox/sandbox/engine"
	"github.com/otpbox/otpbox/supervision"
)

// The definitions: worker(...), supervisor(...) and the child spec dicts
// they are made of, checked as OTP checks them.

func (rt *Runtime) bWorker(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var init, hc, hcast starlark.Value = starlark.None, starlark.None, starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "init?", &init, "handle_call?", &hc, "handle_cast?", &hcast); err != nil {
		return nil, argError(b.Name(), err)
	}
	d := &workerDef{}
	for _, f := range []struct {
		v    starlark.Value
		dst  *starlark.Callable
		n    string
		want string
	}{
		{init, &d.init, "init", "def init(args): return state"},
		{hc, &d.handleCall, "handle_call", "def handle_call(msg, state): return (reply, state)"},
		{hcast, &d.handleCast, "handle_cast", "def handle_cast(msg, state): return state"},
	} {
		if f.v == starlark.None {
			continue
		}
		c, ok := f.v.(starlark.Callable)
		if !ok {
			return nil, fmt.Errorf("%s: %s must be a function such as %s, got %s", signatureOf(b.Name()), f.n, f.want, describe(f.v))
		}
		f.v.Freeze()
		engine.KeepSource(thread, c) // a lambda: for a snapshot to write it
		*f.dst = c
	}
	return d, nil
}

var strategies = map[string]supervision.Strategy{
	"one_for_one": supervision.OneForOne, "one_for_all": supervision.OneForAll,
	"rest_for_one": supervision.RestForOne, "simple_one_for_one": supervision.SimpleOneForOne,
}

var autoShutdowns = map[string]supervision.AutoShutdown{
	"never": supervision.Never, "any_significant": supervision.AnySignificant, "all_significant": supervision.AllSignificant,
}

var supervisorFlags = []string{"strategy", "intensity", "period", "auto_shutdown", "children"}

func (rt *Runtime) bSupervisor(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	sig := signatureOf(b.Name())
	var known []starlark.Tuple
	for _, kv := range kwargs {
		k := string(kv[0].(starlark.String))
		if !contains(supervisorFlags, k) {
			engine.Warn(thread, fmt.Sprintf("warning: supervisor(...): unknown flag %s ignored (the flags: strategy, intensity, period, auto_shutdown, children)", k))
			continue
		}
		known = append(known, kv)
	}
	var strategyV, intensityV, periodV, autoV, childrenV starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, known, "strategy?", &strategyV, "intensity?", &intensityV,
		"period?", &periodV, "auto_shutdown?", &autoV, "children?", &childrenV); err != nil {
		return nil, argError(b.Name(), err)
	}
	strategy, auto := "one_for_one", "never"
	intensity, period := 1, 5
	if strategyV != nil {
		s, ok := strategyV.(starlark.String)
		if !ok {
			return nil, fmt.Errorf("%s: invalid_strategy %s: want one_for_one, one_for_all, rest_for_one or simple_one_for_one", sig, quote(strategyV))
		}
		strategy = string(s)
	}
	s, ok := strategies[strategy]
	if !ok {
		return nil, fmt.Errorf("%s: invalid_strategy %q: want one_for_one, one_for_all, rest_for_one or simple_one_for_one", sig, strategy)
	}
	if intensityV != nil {
		n, err := starlark.AsInt32(intensityV)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%s: invalid_intensity %s: want a number of restarts, 0 or more", sig, quote(intensityV))
		}
		intensity = n
	}
	if periodV != nil {
		n, err := starlark.AsInt32(periodV)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%s: invalid_period %s: want a whole number of seconds, 1 or more", sig, quote(periodV))
		}
		period = n
	}
	if autoV != nil {
		a, ok := autoV.(starlark.String)
		if !ok {
			return nil, fmt.Errorf("%s: invalid_auto_shutdown %s: want never, any_significant or all_significant", sig, quote(autoV))
		}
		auto = string(a)
	}
	a, ok := autoShutdowns[auto]
	if !ok {
		return nil, fmt.Errorf("%s: invalid_auto_shutdown %q: want never, any_significant or all_significant", sig, auto)
	}
	if s == supervision.SimpleOneForOne && a != supervision.Never {
		return nil, fmt.Errorf("%s: bad_combination: a simple_one_for_one supervisor cannot have auto_shutdown %q (its children cannot be significant)", sig, auto)
	}
	d := &supDef{flags: supervision.Flags{Strategy: s, Intensity: intensity, Period: time.Duration(period) * time.Second, AutoShutdown: a}}
	var children []starlark.Value
	switch c := childrenV.(type) {
	case nil:
	case *starlark.List:
		for i := range c.Len() {
			children = append(children, c.Index(i))
		}
	case starlark.Tuple:
		children = c
	default:
		return nil, fmt.Errorf("%s: children must be a list of child specs, got %s", sig, describe(childrenV))
	}
	ids := map[string]bool{}
	for _, v := range children {
		c, err := childDefOf(thread, "supervisor(...)", d.flags, v)
		if err != nil {
			return nil, err
		}
		if s != supervision.SimpleOneForOne {
			if ids[c.spec.ID] {
				return nil, fmt.Errorf("supervisor(...): duplicate_child_name %q: two children have that id", c.spec.ID)
			}
			ids[c.spec.ID] = true
		}
		d.children = append(d.children, c)
	}
	if s == supervision.SimpleOneForOne && len(d.children) != 1 {
		return nil, fmt.Errorf("supervisor(...): bad_start_spec: a simple_one_for_one supervisor takes exactly one child spec, the template of its children; got %d", len(d.children))
	}
	return d, nil
}

var childSpecKeyList = []string{"id", "start", "args", "restart", "shutdown", "type", "significant"}

func childDefOf(thread *starlark.Thread, fn string, flags supervision.Flags, v starlark.Value) (*childDef, error) {
	m, ok := v.(*starlark.Dict)
	if !ok {
		return nil, fmt.Errorf(`%s: invalid_child_spec: a child spec is a dict such as {"id": "c", "start": worker(...)}, got %s`, fn, describe(v))
	}
	get := func(k string) starlark.Value {
		if x, found, _ := m.Get(starlark.String(k)); found {
			return x
		}
		return nil
	}
	c := &childDef{}
	if id := get("id"); id != nil {
		s, ok := id.(starlark.String)
		if !ok {
			return nil, fmt.Errorf("%s: the child id must be a string, got %s", fn, describe(id))
		}
		c.spec.ID = string(s)
	}
	simple := flags.Strategy == supervision.SimpleOneForOne
	if c.spec.ID == "" && !simple {
		return nil, fmt.Errorf(`%s: missing_id: the child spec has no "id"; every child of a %s supervisor needs one, such as {"id": "c", "start": w}`, fn, flags.Strategy)
	}
	child := "the child"
	if c.spec.ID != "" {
		child = fmt.Sprintf("child %q", c.spec.ID)
	}
	for _, k := range m.Keys() {
		if ks, ok := k.(starlark.String); !ok || !contains(childSpecKeyList, string(ks)) {
			engine.Warn(thread, fmt.Sprintf("warning: %s: %s: unknown child spec key %s ignored (the keys: %s)", fn, child, k, childSpecKeys))
		}
	}
	c.start = get("start")
	switch c.start.(type) {
	case *workerDef:
	case *supDef:
		c.spec.Type = supervision.SupervisorChild
	case nil:
		return nil, fmt.Errorf(`%s: %s: missing_start: the child spec has no "start"; give it a worker(...) or a supervisor(...)`, fn, child)
	default:
		return nil, fmt.Errorf(`%s: %s: "start" must be a worker() or a supervisor(), got %s`, fn, child, describe(c.start))
	}
	if t := get("type"); t != nil {
		switch t {
		case starlark.String("worker"), starlark.String("supervisor"):
			if string(t.(starlark.String)) != c.spec.Type.String() {
				return nil, fmt.Errorf(`%s: %s: invalid_child_type: "type" is %s but "start" is a %s()`, fn, child, t, c.spec.Type)
			}
		default:
			return nil, fmt.Errorf(`%s: %s: invalid_child_type %s: want "worker" or "supervisor"`, fn, child, quote(t))
		}
	}
	if a := get("args"); a != nil {
		t, ok := a.(starlark.Tuple)
		if !ok {
			l, isList := a.(*starlark.List)
			if !isList {
				return nil, fmt.Errorf(`%s: %s: "args" must be a tuple of arguments for init, got %s`, fn, child, describe(a))
			}
			for i := range l.Len() {
				t = append(t, l.Index(i))
			}
		}
		t.Freeze()
		c.args = t
	}
	if r := get("restart"); r != nil {
		switch r {
		case starlark.String("permanent"):
			c.spec.Restart = supervision.Permanent
		case starlark.String("transient"):
			c.spec.Restart = supervision.Transient
		case starlark.String("temporary"):
			c.spec.Restart = supervision.Temporary
		default:
			return nil, fmt.Errorf(`%s: %s: invalid_restart_type %s: want "permanent", "transient" or "temporary"`, fn, child, quote(r))
		}
	}
	if sd := get("shutdown"); sd != nil {
		bad := fmt.Errorf(`%s: %s: invalid_shutdown %s: want milliseconds (0 or more), "brutal_kill" or "infinity"`, fn, child, quote(sd))
		switch x := sd.(type) {
		case starlark.String:
			switch x {
			case "brutal_kill":
				c.spec.Shutdown = supervision.BrutalKill
			case "infinity":
				c.spec.Shutdown = supervision.Infinity
			default:
				return nil, bad
			}
		case starlark.Int:
			ms, ok := x.Int64()
			if !ok || ms < 0 || ms > int64(time.Duration(1<<62)/time.Millisecond) {
				return nil, bad
			}
			c.spec.Shutdown = supervision.Timeout(time.Duration(ms) * time.Millisecond)
		default:
			return nil, bad
		}
	}
	if sig := get("significant"); sig != nil {
		b, ok := sig.(starlark.Bool)
		if !ok {
			return nil, fmt.Errorf(`%s: %s: invalid_significant %s: want True or False`, fn, child, quote(sig))
		}
		c.spec.Significant = bool(b)
	}
	if c.spec.Significant {
		switch {
		case flags.AutoShutdown == supervision.Never:
			return nil, fmt.Errorf(`%s: %s: bad_combination: a significant child needs a supervisor with auto_shutdown "any_significant" or "all_significant", not "never"`, fn, child)
		case c.spec.Restart == supervision.Permanent:
			return nil, fmt.Errorf(`%s: %s: bad_combination: a significant child must be "transient" or "temporary", not "permanent" (it would never stop its supervisor)`, fn, child)
		}
	}
	return c, nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

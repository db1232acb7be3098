package otp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/otpbox/otpbox/sandbox/engine"
	"github.com/otpbox/otpbox/supervision"
)

// A Runtime is an engine.SavedWorld: a sandbox's snapshot holds its
// processes, so that a sandbox with supervision trees replays from its
// state rather than its whole history.
//
// The runtime is saved between executions, when it is at rest: every
// message handled, no handler running, no restart retry queued (an
// execution is answered only once its effects settled). What it saves is
// what decides what it does next: each process's number, parent and child
// id; a worker's definition (its functions, by name: they must be
// top-level defs held by the globals of their names) and state; a
// supervisor's flags, its children's specs, pids and start arguments, its
// dynamic children in their order and its restart window; the pid
// counter, the trees started, the clock; and what observers read back:
// each worker's recent messages and the log of restarts. A supervisor's
// restart history is not saved: it only feeds that log, which is.

var _ engine.SavedWorld = (*Runtime)(nil)

// savedRuntime is the runtime as Save writes it (JSON).
type savedRuntime struct {
	Next   uint64         `json:"next"`
	Root   uint64         `json:"root,omitempty"`
	Trees  int            `json:"trees,omitempty"`
	Now    time.Time      `json:"now"`
	LogSeq uint64         `json:"log_seq,omitempty"`
	Log    []Record       `json:"log,omitempty"`
	Procs  []savedProcess `json:"procs,omitempty"`
}

type savedProcess struct {
	N      uint64 `json:"n"`
	Parent uint64 `json:"parent,omitempty"`
	ID     string `json:"id,omitempty"`

	// A worker's: its worker() and state as expressions, its trace.
	Def    string          `json:"def,omitempty"`
	State  string          `json:"state,omitempty"`
	Trace  []TracedMessage `json:"trace,omitempty"`
	Traced int             `json:"traced,omitempty"` // messages ever traced

	Sup *savedSupervisor `json:"sup,omitempty"`
}

type savedSupervisor struct {
	Strategy     string        `json:"strategy"`
	Intensity    int           `json:"intensity"`
	Period       time.Duration `json:"period"`
	AutoShutdown string        `json:"auto_shutdown"`
	Template     *savedChild   `json:"template,omitempty"` // simple_one_for_one's
	Epoch        time.Time     `json:"epoch"`
	Children     []savedChild  `json:"children,omitempty"`
	Seq          uint64        `json:"seq,omitempty"`
	Restarts     []int64       `json:"restarts,omitempty"`
}

// savedChild is a child spec as its machine holds it (defaults applied),
// with what it starts: a worker() or supervisor() and args, as
// expressions; Start is empty for a running temporary child, which keeps
// none.
type savedChild struct {
	ID          string `json:"id,omitempty"`
	Restart     int    `json:"restart"`
	Shutdown    int64  `json:"shutdown"`
	Type        int    `json:"type"`
	Significant bool   `json:"significant,omitempty"`
	Start       string `json:"start,omitempty"`
	Args        string `json:"args,omitempty"`
	PID         uint64 `json:"pid,omitempty"`
	Extra       string `json:"extra,omitempty"` // a dynamic child's extra args
	Seq         uint64 `json:"seq,omitempty"`
}

// Save writes the runtime's state; "" for a runtime that never started
// a process. It fails with an engine.NotPlainError when the state cannot
// be written exactly: a worker's function or value the engine cannot
// write (a lambda, a shared list), or a runtime not at rest.
func (rt *Runtime) Save(w *engine.Writer) (string, error) {
	st := rt.st
	if rt.Pristine() {
		return "", nil
	}
	if rt.saved != nil || len(st.runq) > 0 {
		return "", w.NotPlain("OTP processes in the middle of an execution")
	}
	out := savedRuntime{Next: st.next, Root: st.root, Trees: st.trees, Now: st.now, LogSeq: st.logSeq, Log: st.log}
	for _, n := range slices.Sorted(maps.Keys(st.procs)) {
		p := st.procs[n]
		if len(p.mailbox) > 0 || p.busy || p.exit != nil || p.queued {
			return "", w.NotPlain(fmt.Sprintf("the process %s, busy", Pid{p.n}))
		}
		sp := savedProcess{N: p.n, Parent: p.parent, ID: p.id}
		var err error
		switch p.kind {
		case workerKind:
			where := "the worker " + Pid{p.n}.String()
			if sp.Def, err = w.Expr(where, p.def); err != nil {
				return "", err
			}
			if sp.State, err = w.State("the state of "+Pid{p.n}.String(), p.state); err != nil {
				return "", err
			}
			sp.Trace, sp.Traced = p.trace.entries(), p.trace.n
		case supervisorKind:
			if sp.Sup, err = saveSupervisor(w, p); err != nil {
				return "", err
			}
		}
		out.Procs = append(out.Procs, sp)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return "", err
	}
	return b.String(), nil
}

func saveSupervisor(w *engine.Writer, p *process) (*savedSupervisor, error) {
	where := "the supervisor " + Pid{p.n}.String()
	ms, err := p.m.State()
	if err != nil {
		return nil, w.NotPlain(where + ": " + err.Error())
	}
	spec := p.m.Spec()
	ss := &savedSupervisor{Strategy: spec.Strategy.String(), Intensity: spec.Intensity, Period: spec.Period,
		AutoShutdown: spec.AutoShutdown.String(), Epoch: ms.Epoch, Seq: ms.Seq, Restarts: ms.Restarts}
	if spec.Strategy == supervision.SimpleOneForOne {
		t, err := saveChild(w, where, supervision.ChildState{Spec: spec.Children[0]})
		if err != nil {
			return nil, err
		}
		ss.Template = &t
	}
	for _, c := range ms.Children {
		sc, err := saveChild(w, where, c)
		if err != nil {
			return nil, err
		}
		ss.Children = append(ss.Children, sc)
	}
	return ss, nil
}

func saveChild(w *engine.Writer, where string, c supervision.ChildState) (savedChild, error) {
	sc := savedChild{ID: c.Spec.ID, Restart: int(c.Spec.Restart), Shutdown: int64(c.Spec.Shutdown), Type: int(c.Spec.Type),
		Significant: c.Spec.Significant, PID: numberOf(c.PID), Seq: c.Seq}
	if c.PID != nil && sc.PID == 0 {
		return sc, w.NotPlain(where + ": a child pid " + c.PID.Id)
	}
	def, ok := c.Spec.Def.(*childDef)
	if !ok {
		return sc, w.NotPlain(where + ": a child without its definition")
	}
	var err error
	if c.Spec.Start != nil {
		if sc.Start, err = w.Expr(where, def.start); err != nil {
			return sc, err
		}
		if sc.Args, err = w.Expr(where, def.args); err != nil {
			return sc, err
		}
	}
	if c.Args != nil {
		extra := make(starlark.Tuple, len(c.Args))
		for i, a := range c.Args {
			extra[i] = a.(starlark.Value)
		}
		if sc.Extra, err = w.Expr(where, extra); err != nil {
			return sc, err
		}
	}
	return sc, nil
}

// Load rebuilds the state Save wrote in a runtime that has none.
func (rt *Runtime) Load(state string, r *engine.Reader) error {
	if !rt.Pristine() {
		return errors.New("otp: load into a runtime with processes")
	}
	var in savedRuntime
	dec := json.NewDecoder(bytes.NewReader([]byte(state)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return fmt.Errorf("otp: a saved runtime: %w", err)
	}
	r.Prefetch(in.exprs())
	if err := rt.load(&in, r); err != nil {
		return fmt.Errorf("otp: a saved runtime: %w", err)
	}
	return nil
}

// exprs lists the expressions of the saved values, for one evaluation.
func (in *savedRuntime) exprs() []string {
	var out []string
	add := func(es ...string) {
		for _, e := range es {
			if e != "" {
				out = append(out, e)
			}
		}
	}
	for _, p := range in.Procs {
		add(p.Def, p.State)
		if p.Sup == nil {
			continue
		}
		if t := p.Sup.Template; t != nil {
			add(t.Start, t.Args, t.Extra)
		}
		for _, c := range p.Sup.Children {
			add(c.Start, c.Args, c.Extra)
		}
	}
	return out
}

func (rt *Runtime) load(in *savedRuntime, r *engine.Reader) error {
	st := &state{procs: make(map[uint64]*process, len(in.Procs)), next: in.Next, root: in.Root, trees: in.Trees,
		now: in.Now, log: in.Log, logSeq: in.LogSeq}
	if len(st.log) > rt.logMax {
		st.log = st.log[len(st.log)-rt.logMax:]
	}
	for _, sp := range in.Procs {
		if sp.N == 0 || sp.N > in.Next || st.procs[sp.N] != nil {
			return fmt.Errorf("process number %d", sp.N)
		}
		p := &process{n: sp.N, parent: sp.Parent, id: sp.ID}
		switch {
		case sp.Sup != nil:
			p.kind = supervisorKind
		case sp.Def != "":
			p.kind = workerKind
			v, err := r.Value(sp.Def)
			if err != nil {
				return err
			}
			if p.def, _ = v.(*workerDef); p.def == nil {
				return fmt.Errorf("process %d: its definition is a %s", sp.N, v.Type())
			}
			if err := r.State(sp.State, func(v starlark.Value) { p.state = v }); err != nil {
				return err
			}
			if len(sp.Trace) > traceSize || sp.Traced < len(sp.Trace) {
				return fmt.Errorf("process %d: a trace of %d messages, %d traced", sp.N, len(sp.Trace), sp.Traced)
			}
			if len(sp.Trace) > 0 {
				p.trace.own()
			}
			for i, m := range sp.Trace {
				p.trace.ring[(sp.Traced-len(sp.Trace)+i)%traceSize] = m
			}
			p.trace.n = sp.Traced
		default:
			return fmt.Errorf("process %d: neither a worker nor a supervisor", sp.N)
		}
		st.procs[p.n] = p
		if p.n != st.root {
			st.actors++
		}
	}
	if st.root != 0 && (st.procs[st.root] == nil || st.procs[st.root].kind != supervisorKind) {
		return fmt.Errorf("root %d", st.root)
	}
	// The machines run through the runtime: it holds st while they load,
	// and goes back to no processes if they do not.
	empty := rt.st
	rt.st = st
	for _, sp := range in.Procs {
		if sp.Sup == nil {
			continue
		}
		if err := rt.loadSupervisor(st.procs[sp.N], sp.Sup, r); err != nil {
			rt.st = empty
			return fmt.Errorf("supervisor %d: %w", sp.N, err)
		}
	}
	if err := st.tree(); err != nil {
		rt.st = empty
		return err
	}
	return nil
}

// tree checks that the processes form one tree under the root: each runs
// as a child of its parent's machine, which runs nothing else.
func (st *state) tree() error {
	if len(st.procs) > 0 && st.root == 0 {
		return errors.New("processes without a root")
	}
	children := 0
	for _, p := range st.procs {
		if p.kind != supervisorKind {
			continue
		}
		for _, c := range p.m.WhichChildren() {
			if c.PID != nil {
				children++
			}
		}
	}
	if children != len(st.procs)-1 {
		return fmt.Errorf("%d processes, %d of them children", len(st.procs), children)
	}
	for _, p := range st.procs {
		// Every child is its parent's (checked with the machines), and
		// there are as many as processes under the root: so each process
		// but the root is the child of one; and no cycle, by depth.
		q := p
		for range len(st.procs) {
			if q.n == st.root {
				break
			}
			if q = st.procs[q.parent]; q == nil {
				break
			}
		}
		if q == nil || q.n != st.root {
			return fmt.Errorf("process %d: not under the root", p.n)
		}
	}
	return nil
}

func (rt *Runtime) loadSupervisor(p *process, ss *savedSupervisor, r *engine.Reader) error {
	s, ok := strategies[ss.Strategy]
	a, ok2 := autoShutdowns[ss.AutoShutdown]
	if !ok || !ok2 {
		return fmt.Errorf("flags %s, %s", ss.Strategy, ss.AutoShutdown)
	}
	spec := supervision.Spec{Name: Pid{p.n}.String(), Flags: supervision.Flags{Strategy: s, Intensity: ss.Intensity, Period: ss.Period, AutoShutdown: a}}
	if s == supervision.SimpleOneForOne {
		if ss.Template == nil {
			return errors.New("simple_one_for_one without a template")
		}
		t, err := rt.loadChild(ss.Template, r)
		if err != nil {
			return err
		}
		spec.Children = []supervision.ChildSpec{t.Spec}
	}
	ms := supervision.MachineState{Epoch: ss.Epoch, Seq: ss.Seq, Restarts: ss.Restarts}
	for i := range ss.Children {
		c, err := rt.loadChild(&ss.Children[i], r)
		if err != nil {
			return err
		}
		if c.PID != nil {
			if child := rt.proc(numberOf(c.PID)); child == nil || child.parent != p.n {
				return fmt.Errorf("child %s: not a process of this supervisor", c.PID.Id)
			}
		}
		ms.Children = append(ms.Children, c)
	}
	m, err := supervision.RestoreMachine(spec, host{rt: rt, n: p.n}, ms)
	if err != nil {
		return err
	}
	p.m = m
	return nil
}

func (rt *Runtime) loadChild(sc *savedChild, r *engine.Reader) (supervision.ChildState, error) {
	spec := supervision.ChildSpec{ID: sc.ID, Restart: supervision.RestartType(sc.Restart), Shutdown: supervision.ShutdownSpec(sc.Shutdown),
		Type: supervision.ChildType(sc.Type), Significant: sc.Significant}
	switch {
	case spec.Restart != supervision.Permanent && spec.Restart != supervision.Transient && spec.Restart != supervision.Temporary,
		spec.Type != supervision.Worker && spec.Type != supervision.SupervisorChild:
		return supervision.ChildState{}, fmt.Errorf("child %q: restart %d, type %d", sc.ID, sc.Restart, sc.Type)
	}
	c := supervision.ChildState{Spec: spec, Seq: sc.Seq}
	if sc.PID != 0 {
		c.PID = pidOf(sc.PID)
	}
	def := &childDef{spec: spec}
	if sc.Start != "" {
		var err error
		if def.start, err = r.Value(sc.Start); err != nil {
			return c, err
		}
		switch def.start.(type) {
		case *workerDef, *supDef:
		default:
			return c, fmt.Errorf("child %q starts a %s", sc.ID, def.start.Type())
		}
		args, err := r.Value(sc.Args)
		if err != nil {
			return c, err
		}
		t, ok := args.(starlark.Tuple)
		if !ok {
			return c, fmt.Errorf("child %q: args %s", sc.ID, args.Type())
		}
		def.args = t
		c.Spec = rt.childSpec(def)
		c.Spec.Shutdown = spec.Shutdown // with its default applied
	} else {
		c.Spec.Def = def
	}
	if sc.Extra != "" {
		v, err := r.Value(sc.Extra)
		if err != nil {
			return c, err
		}
		extra, ok := v.(starlark.Tuple)
		if !ok {
			return c, fmt.Errorf("child %d: extra args %s", sc.PID, v.Type())
		}
		c.Args = make([]any, len(extra))
		for i, x := range extra {
			c.Args[i] = x
		}
	}
	return c, nil
}

// Constructors are the builtins of the expressions Save writes:
// pid(n), worker(init, handle_call, handle_cast) with function names,
// supervisor_def(strategy, intensity, period, auto_shutdown, children) of
// child_def(id, restart, shutdown, type, significant, start, args), and
// ignore.
func (rt *Runtime) Constructors() starlark.StringDict {
	return constructors
}

var constructors = starlark.StringDict{
	"pid":            starlark.NewBuiltin("pid", cPid),
	"worker":         starlark.NewBuiltin("worker", cWorker),
	"supervisor_def": starlark.NewBuiltin("supervisor_def", cSupervisor),
	"child_def":      starlark.NewBuiltin("child_def", cChild),
	"ignore":         ignore,
}

func cPid(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var n uint64
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &n); err != nil {
		return nil, err
	}
	return Pid{n}, nil
}

func cWorker(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var names [3]starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 3, &names[0], &names[1], &names[2]); err != nil {
		return nil, err
	}
	r := engine.ReaderOf(thread)
	if r == nil {
		return nil, errors.New("worker: not within a restore")
	}
	d := &workerDef{}
	for i, dst := range []*starlark.Callable{&d.init, &d.handleCall, &d.handleCast} {
		if names[i] == starlark.None {
			continue
		}
		err := r.Func(names[i], func(fn *starlark.Function) {
			fn.Freeze() // as worker() froze it
			*dst = fn
		})
		if err != nil {
			return nil, fmt.Errorf("worker: %w", err)
		}
	}
	return d, nil
}

func cSupervisor(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		strategy, auto string
		intensity      int
		period         int64
		children       *starlark.List
	)
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 5, &strategy, &intensity, &period, &auto, &children); err != nil {
		return nil, err
	}
	s, ok := strategies[strategy]
	a, ok2 := autoShutdowns[auto]
	if !ok || !ok2 || intensity < 0 || period <= 0 {
		return nil, fmt.Errorf("supervisor_def: flags %s, %d, %d, %s", strategy, intensity, period, auto)
	}
	d := &supDef{flags: supervision.Flags{Strategy: s, Intensity: intensity, Period: time.Duration(period), AutoShutdown: a}}
	for c := range children.Elements() {
		cd, ok := c.(*childDef)
		if !ok {
			return nil, fmt.Errorf("supervisor_def: a child is a %s", c.Type())
		}
		d.children = append(d.children, cd)
	}
	return d, nil
}

func cChild(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		id           string
		restart, typ int
		shutdown     int64
		significant  bool
		start        starlark.Value
		startArgs    starlark.Tuple
	)
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 7, &id, &restart, &shutdown, &typ, &significant, &start, &startArgs); err != nil {
		return nil, err
	}
	switch start.(type) {
	case *workerDef, *supDef:
	default:
		return nil, fmt.Errorf("child_def: start is a %s", start.Type())
	}
	return &childDef{spec: supervision.ChildSpec{ID: id, Restart: supervision.RestartType(restart), Shutdown: supervision.ShutdownSpec(shutdown),
		Type: supervision.ChildType(typ), Significant: significant}, start: start, args: startArgs}, nil
}

// The values of the runtime are engine.Writables.

var (
	_ engine.Writable = Pid{}
	_ engine.Writable = (*workerDef)(nil)
	_ engine.Writable = (*supDef)(nil)
	_ engine.Writable = (*childDef)(nil)
	_ engine.Writable = ignoreValue{}
)

// WriteTo writes pid(n).
func (p Pid) WriteTo(w *engine.Writer) error {
	w.WriteString("pid(" + strconv.FormatUint(p.n, 10) + ")")
	return nil
}

func (d *workerDef) WriteTo(w *engine.Writer) error {
	w.WriteString("worker(")
	for i, fn := range []starlark.Callable{d.init, d.handleCall, d.handleCast} {
		if i > 0 {
			w.WriteString(", ")
		}
		if fn == nil {
			w.WriteString("None")
		} else if err := w.WriteFunc(fn); err != nil {
			return err
		}
	}
	w.WriteString(")")
	return nil
}

func (d *supDef) WriteTo(w *engine.Writer) error {
	f := d.flags
	w.WriteString(fmt.Sprintf("supervisor_def(%q, %d, %d, %q, [", f.Strategy, f.Intensity, int64(f.Period), f.AutoShutdown))
	for i, c := range d.children {
		if i > 0 {
			w.WriteString(", ")
		}
		if err := c.WriteTo(w); err != nil {
			return err
		}
	}
	w.WriteString("])")
	return nil
}

func (c *childDef) WriteTo(w *engine.Writer) error {
	s := c.spec
	w.WriteString(fmt.Sprintf("child_def(%s, %d, %d, %d, %s, ", starlark.String(s.ID), s.Restart, int64(s.Shutdown), s.Type, starlark.Bool(s.Significant)))
	if err := w.WriteValue(c.start); err != nil {
		return err
	}
	w.WriteString(", ")
	args := c.args
	if args == nil {
		args = starlark.Tuple{}
	}
	if err := w.WriteValue(args); err != nil {
		return err
	}
	w.WriteString(")")
	return nil
}

// WriteTo writes ignore.
func (ignoreValue) WriteTo(w *engine.Writer) error {
	w.WriteString("ignore")
	return nil
}

// The definitions hold functions (engine.Holder): the session keeps the
// sources of the lambdas among them while they do.

var (
	_ engine.Holder = (*workerDef)(nil)
	_ engine.Holder = (*supDef)(nil)
)

// Held yields the worker's functions.
func (d *workerDef) Held(yield func(starlark.Value) bool) {
	for _, fn := range []starlark.Callable{d.init, d.handleCall, d.handleCast} {
		if fn != nil && !yield(fn) {
			return
		}
	}
}

// Held yields what the children start, and their args.
func (d *supDef) Held(yield func(starlark.Value) bool) {
	for _, c := range d.children {
		if !yield(c.start) || c.args != nil && !yield(c.args) {
			return
		}
	}
}

// childDef is a starlark.Value only within a restore (child_def(...)).

func (*childDef) String() string        { return "<child_def>" }
func (*childDef) Type() string          { return "child_def" }
func (*childDef) Freeze()               {}
func (*childDef) Truth() starlark.Bool  { return true }
func (*childDef) Hash() (uint32, error) { return 0, errors.New("unhashable: child_def") }

// Definitions compare by what they define: a restore writes one that two
// globals share as two, which must still be equal.

func (d *workerDef) CompareSameType(op syntax.Token, y starlark.Value, _ int) (bool, error) {
	e := y.(*workerDef)
	eq := d.init == e.init && d.handleCall == e.handleCall && d.handleCast == e.handleCast
	return compareEq(op, eq, "worker")
}

func (d *supDef) CompareSameType(op syntax.Token, y starlark.Value, depth int) (bool, error) {
	e := y.(*supDef)
	eq := d.flags == e.flags && len(d.children) == len(e.children)
	for i := 0; eq && i < len(d.children); i++ {
		a, b := d.children[i], e.children[i]
		if a.spec.ID != b.spec.ID || a.spec.Restart != b.spec.Restart || a.spec.Shutdown != b.spec.Shutdown ||
			a.spec.Type != b.spec.Type || a.spec.Significant != b.spec.Significant {
			eq = false
			break
		}
		var err error
		if eq, err = starlark.EqualDepth(a.start, b.start, depth-1); err != nil {
			return false, err
		}
		if eq {
			if eq, err = starlark.EqualDepth(a.args, b.args, depth-1); err != nil {
				return false, err
			}
		}
	}
	return compareEq(op, eq, "supervisor")
}

func compareEq(op syntax.Token, eq bool, what string) (bool, error) {
	switch op {
	case syntax.EQL:
		return eq, nil
	case syntax.NEQ:
		return !eq, nil
	}
	return false, fmt.Errorf("invalid comparison of %ss: %s", what, op)
}

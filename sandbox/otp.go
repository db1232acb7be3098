package sandbox

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.starlark.net/starlark"

	"github.com/otpbox/otpbox/sandbox/engine"
	"github.com/otpbox/otpbox/supervision"
)

// otpRuntime is the OTP side of one sandbox: the root supervisor that
// contains every tree the sandbox's code starts (a crash never escapes it),
// the Starlark workers, and what is queried about them. It lives with the
// grain's activation and is stopped with it.
type otpRuntime struct {
	host   *Host
	id     string
	limits Limits

	mu      sync.Mutex // protects root, sups, workers, trees
	root    *supervision.Supervisor
	sups    map[string]*supervision.Supervisor // by pid id
	workers map[string]*starWorker             // by pid id
	trees   int                                // trees started, for names

	actors atomic.Int32 // live workers
}

// otpEnv is the environment of every sandbox: Starlark's universe plus the
// OTP builtins.
var otpEnv = func() *engine.Env {
	env, err := engine.NewEnv(otpBuiltins)
	if err != nil {
		panic(err) // programmer error: the builtins are fixed
	}
	return env
}()

func newOTPRuntime(h *Host, id string, limits Limits) *otpRuntime {
	return &otpRuntime{host: h, id: id, limits: limits.WithDefaults(),
		sups: map[string]*supervision.Supervisor{}, workers: map[string]*starWorker{}}
}

func (rt *otpRuntime) actorCount() int {
	if rt == nil {
		return 0
	}
	return int(rt.actors.Load())
}

// rootSup starts the sandbox's root supervisor on first use: one_for_one
// over temporary trees, so a tree that gives up is removed and the root
// never escalates.
func (rt *otpRuntime) rootSup() (*supervision.Supervisor, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.root != nil {
		select {
		case <-rt.root.Done(): // exited (exit() on it): start a new one
		default:
			return rt.root, nil
		}
	}
	root, err := supervision.Start(rt.host.system, supervision.Spec{
		Name:  "sandbox/" + rt.id + "/otp",
		Flags: supervision.Flags{Strategy: supervision.OneForOne, Intensity: 1 << 20, Period: time.Second},
	})
	if err != nil {
		return nil, err
	}
	rt.root = root
	rt.sups[root.PID().Id] = root
	return root, nil
}

// stop stops every tree of the sandbox.
func (rt *otpRuntime) stop() {
	rt.mu.Lock()
	root := rt.root
	rt.root = nil
	rt.mu.Unlock()
	if root != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = root.Stop(ctx)
	}
}

// handle returns the supervisor handle of pid.
func (rt *otpRuntime) handle(ctx context.Context, pid *actor.PID) (*supervision.Supervisor, error) {
	rt.mu.Lock()
	h, ok := rt.sups[pid.Id]
	rt.mu.Unlock()
	if ok {
		return h, nil
	}
	h, err := supervision.Ref(ctx, rt.host.system, pid)
	if err != nil {
		return nil, fmt.Errorf("%s is not a supervisor of this sandbox", pid.Id)
	}
	rt.mu.Lock()
	rt.sups[pid.Id] = h
	rt.mu.Unlock()
	return h, nil
}

func (rt *otpRuntime) worker(pid *actor.PID) *starWorker {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.workers[pid.Id]
}

func (rt *otpRuntime) addWorker(w *starWorker) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.workers[w.pid.Id] = w
}

func (rt *otpRuntime) removeWorker(w *starWorker) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	delete(rt.workers, w.pid.Id)
}

// startTree starts a supervision tree from a supervisor definition under
// the root.
func (rt *otpRuntime) startTree(ctx context.Context, def *supDef, name string) (*actor.PID, error) {
	root, err := rt.rootSup()
	if err != nil {
		return nil, err
	}
	spec, err := rt.spec(def)
	if err != nil {
		return nil, err
	}
	rt.mu.Lock()
	rt.trees++
	if name == "" {
		name = fmt.Sprintf("tree%d", rt.trees)
	}
	rt.mu.Unlock()
	pid, err := root.StartChild(ctx, supervision.ChildSpec{ID: name, Type: supervision.SupervisorChild,
		Restart: supervision.Temporary, Start: supervision.Nested(spec)})
	if err != nil {
		return nil, err
	}
	return pid, nil
}

// spec converts a Starlark supervisor definition to a supervision.Spec.
func (rt *otpRuntime) spec(def *supDef) (supervision.Spec, error) {
	spec := supervision.Spec{Flags: def.flags}
	for _, c := range def.children {
		cs, err := rt.childSpec(c)
		if err != nil {
			return spec, err
		}
		spec.Children = append(spec.Children, cs)
	}
	return spec, nil
}

func (rt *otpRuntime) childSpec(c *childDef) (supervision.ChildSpec, error) {
	cs := c.spec
	switch start := c.start.(type) {
	case *workerDef:
		args := c.args
		cs.Start = func(sc *supervision.StartContext, extra ...any) (*actor.PID, error) {
			all := append(starlark.Tuple(nil), args...)
			for _, x := range extra {
				all = append(all, x.(starlark.Value))
			}
			return sc.Spawn(func() actor.Actor { return &starWorker{rt: rt, def: start, args: all} })
		}
	case *supDef:
		sub, err := rt.spec(start)
		if err != nil {
			return cs, err
		}
		cs.Type = supervision.SupervisorChild
		cs.Start = supervision.Nested(sub)
	default:
		return cs, fmt.Errorf("child %q: start must be a worker() or a supervisor()", cs.ID)
	}
	return cs, nil
}

// Messages of Starlark workers.
type (
	callMsg struct {
		msg   starlark.Value
		reply chan callResult
	}
	callResult struct {
		v   starlark.Value
		err error
	}
	castMsg struct{ msg starlark.Value }
	exitMsg struct{ reason supervision.Reason }
)

var errNoProc = errors.New("noproc: the process is not alive")

// deliver checks the mailbox limit of a Starlark worker before a message is
// queued for it.
func (rt *otpRuntime) deliver(pid *actor.PID, msg any) error {
	if w := rt.worker(pid); w != nil {
		if n := w.inbox.Add(1); int(n) > rt.limits.MaxMailbox {
			w.inbox.Add(-1)
			return &LimitError{Limit: LimitMailbox, Max: uint64(rt.limits.MaxMailbox), Got: uint64(n)}
		}
	} else if _, alive := rt.host.system.ProcessRegistry.Get(pid); !alive {
		return errNoProc
	}
	rt.host.system.Root.Send(pid, msg)
	return nil
}

func (rt *otpRuntime) call(ctx context.Context, pid *actor.PID, msg starlark.Value, timeout time.Duration) (starlark.Value, error) {
	msg.Freeze()
	m := &callMsg{msg: msg, reply: make(chan callResult, 1)}
	if err := rt.deliver(pid, m); err != nil {
		return nil, err
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case r := <-m.reply:
		return r.v, r.err
	case <-t.C:
		return nil, fmt.Errorf("call to %s timed out after %v", pid.Id, timeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (rt *otpRuntime) cast(pid *actor.PID, msg starlark.Value) error {
	msg.Freeze()
	return rt.deliver(pid, &castMsg{msg: msg})
}

// Node is one process of a sandbox's supervision tree.
type Node struct {
	ID       string  `json:"id,omitempty"`
	PID      string  `json:"pid,omitempty"`
	Type     string  `json:"type"`
	Status   string  `json:"status"` // running, undefined, restarting
	Strategy string  `json:"strategy,omitempty"`
	State    string  `json:"state,omitempty"` // a worker's state (repr)
	Children []*Node `json:"children,omitempty"`
}

// Tree is a sandbox's supervision trees, under its root supervisor.
type Tree struct {
	Root *Node `json:"root,omitempty"`
}

// RestartRecord is one restart in a sandbox's trees.
type RestartRecord struct {
	Supervisor string    `json:"supervisor"`
	ChildID    string    `json:"child_id,omitempty"`
	PID        string    `json:"pid,omitempty"`
	Reason     string    `json:"reason"`
	Time       time.Time `json:"time"`
}

// TraceEntry is the recent messages of one actor, oldest first.
type TraceEntry struct {
	PID      string          `json:"pid"`
	Messages []TracedMessage `json:"messages"`
}

// TracedMessage is one message an actor handled.
type TracedMessage struct {
	Kind  string    `json:"kind"` // call, cast, exit
	Value string    `json:"value"`
	Time  time.Time `json:"time"`
}

func (rt *otpRuntime) tree() *Tree {
	rt.mu.Lock()
	root := rt.root
	rt.mu.Unlock()
	if root == nil {
		return &Tree{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return &Tree{Root: rt.node(ctx, root, "", "running")}
}

func (rt *otpRuntime) node(ctx context.Context, s *supervision.Supervisor, id, status string) *Node {
	n := &Node{ID: id, PID: s.PID().Id, Type: "supervisor", Status: status, Strategy: s.Strategy().String()}
	children, err := s.WhichChildren(ctx)
	if err != nil {
		return n
	}
	for i := len(children) - 1; i >= 0; i-- { // start order
		c := children[i]
		st := "running"
		switch {
		case c.Restarting:
			st = "restarting"
		case c.PID == nil:
			st = "undefined"
		}
		if c.Type == supervision.SupervisorChild && c.PID != nil {
			if h, err := rt.handle(ctx, c.PID); err == nil {
				n.Children = append(n.Children, rt.node(ctx, h, c.ID, st))
				continue
			}
		}
		child := &Node{ID: c.ID, Type: c.Type.String(), Status: st}
		if c.PID != nil {
			child.PID = c.PID.Id
			if w := rt.worker(c.PID); w != nil {
				child.State = w.stateRepr()
			}
		}
		n.Children = append(n.Children, child)
	}
	return n
}

func (rt *otpRuntime) restarts() []RestartRecord {
	rt.mu.Lock()
	sups := make([]*supervision.Supervisor, 0, len(rt.sups))
	for _, s := range rt.sups {
		sups = append(sups, s)
	}
	rt.mu.Unlock()
	var out []RestartRecord
	for _, s := range sups {
		for _, r := range s.History().Records() {
			rec := RestartRecord{Supervisor: s.Name(), ChildID: r.ChildID, Reason: r.Reason.String(), Time: r.Time}
			if r.PID != nil {
				rec.PID = r.PID.Id
			}
			out = append(out, rec)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}

func (rt *otpRuntime) trace() []TraceEntry {
	rt.mu.Lock()
	ws := make([]*starWorker, 0, len(rt.workers))
	for _, w := range rt.workers {
		ws = append(ws, w)
	}
	rt.mu.Unlock()
	out := make([]TraceEntry, 0, len(ws))
	for _, w := range ws {
		out = append(out, TraceEntry{PID: w.pid.Id, Messages: w.traced()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PID < out[j].PID })
	return out
}

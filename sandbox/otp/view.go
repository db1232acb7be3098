package otp

import (
	"cmp"
	"slices"
	"time"

	"github.com/otpbox/otpbox/sandbox/engine"
	"github.com/otpbox/otpbox/supervision"
)

// Node is one process of a sandbox's supervision tree.
type Node struct {
	ID       string `json:"id,omitempty"`
	PID      string `json:"pid,omitempty"`
	Type     string `json:"type"`
	Status   string `json:"status"` // running, undefined, restarting
	Strategy string `json:"strategy,omitempty"`
	// A supervisor's restart intensity: at most Intensity restarts in
	// Period seconds.
	Intensity int     `json:"intensity,omitempty"`
	Period    float64 `json:"period,omitempty"`
	State     string  `json:"state,omitempty"` // a worker's state, its repr cut to 256 bytes
	Mailbox   int     `json:"mailbox,omitempty"`
	Children  []*Node `json:"children,omitempty"`
}

// RootID is the id the tree gives the sandbox's root supervisor, whose
// children are the trees the code started (start_supervisor).
const RootID = "root"

// Tree is a sandbox's supervision trees, under its root supervisor.
type Tree struct {
	Root *Node `json:"root,omitempty"`
}

// Tree returns the sandbox's trees as they are between executions. Its
// size is bounded: at most MaxActors processes, each state cut.
func (rt *Runtime) Tree() *Tree {
	root := rt.proc(rt.st.root)
	if root == nil {
		return &Tree{}
	}
	return &Tree{Root: rt.node(root, RootID, "running")}
}

func (rt *Runtime) node(p *process, id, status string) *Node {
	n := &Node{ID: id, PID: Pid{p.n}.String(), Status: status, Mailbox: len(p.mailbox)}
	if p.kind == workerKind {
		n.Type = supervision.Worker.String()
		n.State = engine.Repr(p.state, stateReprBytes)
		return n
	}
	n.Type = supervision.SupervisorChild.String()
	spec := p.m.Spec()
	n.Strategy = spec.Strategy.String()
	n.Intensity, n.Period = spec.Intensity, spec.Period.Seconds()
	children := p.m.WhichChildren()
	for i := len(children) - 1; i >= 0; i-- { // start order
		c := children[i]
		st := "running"
		switch {
		case c.Restarting:
			st = "restarting"
		case c.PID == nil:
			st = "undefined"
		}
		if cp := rt.proc(numberOf(c.PID)); cp != nil {
			n.Children = append(n.Children, rt.node(cp, c.ID, st))
			continue
		}
		n.Children = append(n.Children, &Node{ID: c.ID, Type: c.Type.String(), Status: st})
	}
	return n
}

// Record kinds.
const (
	RecordRestart      = "restart"       // a supervisor restarted a child
	RecordGaveUp       = "gave_up"       // a supervisor reached its restart intensity and exited
	RecordAutoShutdown = "auto_shutdown" // a significant child's exit stopped a supervisor
)

// Record is one restart, or one supervisor giving up, in a sandbox's
// trees. The log of records outlives the supervisors that made them.
type Record struct {
	Seq        uint64    `json:"seq"`
	Kind       string    `json:"kind"`
	Supervisor string    `json:"supervisor"`     // its pid
	Path       string    `json:"path,omitempty"` // its child ids from the root, "tree1/jobs"
	ChildID    string    `json:"child_id,omitempty"`
	PID        string    `json:"pid,omitempty"` // the incarnation that exited
	Reason     string    `json:"reason"`
	Time       time.Time `json:"time"`
}

// Records returns the recent records, oldest first (at most
// Config.LogSize).
func (rt *Runtime) Records() []Record { return slices.Clone(rt.st.log) }

// LastRecord returns the Seq of the latest record (0: none yet).
func (rt *Runtime) LastRecord() uint64 { return rt.st.logSeq }

// RecordsSince returns the records after Seq seq that are still kept,
// oldest first.
func (rt *Runtime) RecordsSince(seq uint64) []Record {
	log := rt.st.log
	i, _ := slices.BinarySearchFunc(log, seq+1, func(r Record, s uint64) int { return cmp.Compare(r.Seq, s) })
	return slices.Clone(log[i:])
}

// TraceEntry is the recent messages of one worker, oldest first.
type TraceEntry struct {
	PID      string          `json:"pid"`
	Messages []TracedMessage `json:"messages"`
}

// Trace returns each live worker's recent messages (at most 32, each cut
// to 128 bytes), by pid.
func (rt *Runtime) Trace() []TraceEntry {
	out := make([]TraceEntry, 0, len(rt.st.procs))
	for _, p := range rt.sorted() {
		if p.kind == workerKind {
			out = append(out, TraceEntry{PID: Pid{p.n}.String(), Messages: p.trace.entries()})
		}
	}
	return out
}

// sorted returns the live processes by pid.
func (rt *Runtime) sorted() []*process {
	out := make([]*process, 0, len(rt.st.procs))
	for _, p := range rt.st.procs {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *process) int { return cmp.Compare(a.n, b.n) })
	return out
}

// path is p's child ids from the root, "tree1/jobs"; the root's is "".
func (rt *Runtime) path(p *process) string {
	var ids []string
	for p != nil && p.n != rt.st.root {
		ids = append(ids, p.id)
		p = rt.proc(p.parent)
	}
	slices.Reverse(ids)
	out := ""
	for i, id := range ids {
		if i > 0 {
			out += "/"
		}
		out += id
	}
	return out
}

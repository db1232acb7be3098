package otp

import (
	"errors"

	"fmt"
	"strings"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/otpbox/otpbox/sandbox/engine"
	"github.com/otpbox/otpbox/supervision"
)

// Changes of a sandbox's processes, as an Observer sees them.
const (
	ChangeStarted      = "started"          // a supervisor started a child
	ChangeExited       = "exited"           // a process exited (crashed, was killed or stopped)
	ChangeTerminated   = "terminated"       // its supervisor stopped it (terminate_child, shutdown)
	ChangeRestarted    = "restarted"        // a supervisor restarted a child (after its started)
	ChangeGaveUp       = RecordGaveUp       // a supervisor reached its restart intensity
	ChangeAutoShutdown = RecordAutoShutdown // a significant child's exit stopped a supervisor
	ChangeTrace        = "trace"            // a worker handled a message
)

// Change is one thing that happened to a sandbox's processes while an
// execution ran: what the console animates and watchers are told.
type Change struct {
	Kind       string // one of the Change constants
	PID        string // the process it is about ("" for a record without one)
	ChildID    string // its child id under its supervisor
	Path       string // its child ids from the root, "tree1/w1"
	Supervisor string // its supervisor's pid
	Type       string // "worker" or "supervisor"
	Reason     string // why it exited, or was restarted
	Message    string // trace: "call" or "cast"
	Value      string // trace: the message, its repr cut to 128 bytes
}

// Observe makes f see every change of the processes from now on (nil:
// none). The changes of an execution that fails are seen too, before it
// is undone: the observer keeps them until it knows the outcome. The
// runtime calls f on the goroutine of the execution.
func (rt *Runtime) Observe(f func(Change)) { rt.observer = f }

func (rt *Runtime) observe(c Change) {
	if rt.observer != nil {
		rt.observer(c)
	}
}

// changeOf describes process p for an observer.
func (rt *Runtime) changeOf(kind string, p *process, reason string) Change {
	c := Change{Kind: kind, PID: Pid{p.n}.String(), ChildID: p.id, Path: rt.path(p), Reason: reason, Type: supervision.Worker.String()}
	if p.kind == supervisorKind {
		c.Type = supervision.SupervisorChild.String()
	}
	if p.parent != 0 {
		c.Supervisor = Pid{p.parent}.String()
	}
	return c
}

// ErrNoProcess is the error of a process lookup that finds none.
var ErrNoProcess = errors.New("no such process")

// Lookup finds a live process by its pid ("<0.7.0>") or by its path of
// child ids from the root ("tree1/w1"; the trees the code started are
// the root's children, named "tree1", ... or by start_supervisor's name).
func (rt *Runtime) Lookup(pid, path string) (Pid, error) {
	switch {
	case pid != "" && path != "":
		return Pid{}, errors.New("give a pid or a path, not both")
	case pid != "":
		p, _ := ParsePid(pid)
		if n := p.n; rt.proc(n) == nil || n == rt.st.root {
			return Pid{}, fmt.Errorf("%w: %s", ErrNoProcess, pid)
		}
		return p, nil
	case path != "":
		p := rt.proc(rt.st.root)
		for _, id := range strings.Split(strings.Trim(path, "/"), "/") {
			if p == nil || p.m == nil {
				return Pid{}, fmt.Errorf("%w: %s", ErrNoProcess, path)
			}
			next := (*process)(nil)
			for _, c := range p.m.WhichChildren() {
				if c.ID == id && c.PID != nil {
					next = rt.proc(numberOf(c.PID))
				}
			}
			p = next
		}
		if p == nil {
			return Pid{}, fmt.Errorf("%w: %s", ErrNoProcess, path)
		}
		return Pid{p.n}, nil
	}
	return Pid{}, errors.New("give a pid or a path")
}

// ParsePid reads a pid as it is shown, "<0.7.0>".
func ParsePid(s string) (Pid, bool) {
	n := numberOf(&actor.PID{Id: s})
	return Pid{n}, n != 0
}

// ChildOf returns the supervisor and child id of the child at path
// ("tree1/w1"), whether or not the child runs now: what terminate_child
// and restart_child take.
func (rt *Runtime) ChildOf(path string) (sup Pid, id string, err error) {
	path = strings.Trim(path, "/")
	i := strings.LastIndexByte(path, '/')
	if i < 0 {
		return Pid{}, "", fmt.Errorf("%w: %s is a tree, not a child of one (terminate or restart its children, or exit it)", ErrNoProcess, path)
	}
	s, err := rt.Lookup("", path[:i])
	if err != nil {
		return Pid{}, "", err
	}
	id = path[i+1:]
	if _, err := rt.proc(s.n).m.GetChildSpec(id); err != nil {
		return Pid{}, "", fmt.Errorf("%w: %s has no child %q", ErrNoProcess, path[:i], id)
	}
	return s, id, nil
}

// ProcessInfo is what a process is doing: for the console's details and
// GET /process.
type ProcessInfo struct {
	PID        string          `json:"pid"`
	ID         string          `json:"id,omitempty"`
	Path       string          `json:"path"`
	Type       string          `json:"type"`
	Status     string          `json:"status"`
	Strategy   string          `json:"strategy,omitempty"`
	State      string          `json:"state,omitempty"`
	Mailbox    int             `json:"mailbox"`
	Messages   []TracedMessage `json:"messages,omitempty"`
	Restarts   []Record        `json:"restarts,omitempty"`
	Supervisor string          `json:"supervisor,omitempty"`
	Children   int             `json:"children,omitempty"`
}

// Process describes the live process pid.
func (rt *Runtime) Process(pid Pid) (*ProcessInfo, error) {
	p := rt.proc(pid.n)
	if p == nil || p.n == rt.st.root {
		return nil, fmt.Errorf("%w: %s", ErrNoProcess, pid)
	}
	c := rt.changeOf("", p, "")
	info := &ProcessInfo{PID: c.PID, ID: c.ChildID, Path: c.Path, Type: c.Type, Status: "running", Mailbox: len(p.mailbox), Supervisor: c.Supervisor}
	if p.parent == rt.st.root {
		info.Supervisor = "" // the sandbox's own root is not a process of the code's
	}
	if p.kind == workerKind {
		info.State = engine.Repr(p.state, stateReprBytes)
		info.Messages = p.trace.entries()
	} else {
		info.Strategy = p.m.Spec().Strategy.String()
		info.Children = p.m.CountChildren().Specs
	}
	for _, r := range rt.st.log {
		if r.Supervisor == c.Supervisor && r.ChildID != "" && r.ChildID == p.id || r.Supervisor == c.PID && r.ChildID == "" {
			info.Restarts = append(info.Restarts, r)
		}
	}
	return info, nil
}

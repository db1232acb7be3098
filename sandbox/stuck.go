package sandbox

import (
	"context"

	pcluster "github.com/asynkron/protoactor-go/cluster"

	"sync"
	"sync/atomic"
	"time"
)

// stuckGrace is how long past its wall-clock limit an execution may run
// before it counts as stuck. The interpreter checks the clock every few
// thousand steps and every operation that can take long is charged, so a
// healthy execution overruns by milliseconds; one that overruns by this
// much is in a path nothing can interrupt.
const stuckGrace = time.Second

// running is an execution in progress, for the watchdog.
type running struct {
	id        string
	req       string             // the request id of the call it answers
	cancel    context.CancelFunc // ends the execution: its caller went away
	deadline  time.Time          // start + the sandbox's MaxDuration
	abandoned atomic.Bool
}

// executions tracks the executions in progress on a host.
type executions struct {
	mu sync.Mutex // protects m
	m  map[*running]struct{}
}

func (e *executions) start(id, req string, limit time.Duration, cancel context.CancelFunc) *running {
	r := &running{id: id, req: req, cancel: cancel, deadline: time.Now().Add(limit)}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.m == nil {
		e.m = make(map[*running]struct{})
	}
	e.m[r] = struct{}{}
	return r
}

func (e *executions) done(r *running) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.m, r)
}

// cancel ends sandbox id's execution for request req, if it is running
// on this host: its caller went away (a client that hung up, Ctrl-C in
// the REPL), so nobody waits for its answer. The execution fails with the
// cancellation and, like any failed execution, leaves nothing behind.
func (e *executions) cancel(id, req string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for r := range e.m {
		if r.id == id && r.req == req && r.cancel != nil {
			r.cancel()
		}
	}
}

// stuck returns the executions past their deadline and its grace.
func (e *executions) stuck() []*running {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []*running
	now := time.Now()
	for r := range e.m {
		if now.After(r.deadline.Add(stuckGrace)) {
			out = append(out, r)
		}
	}
	return out
}

// Stuck returns the ids of the sandboxes whose execution has run past its
// wall-clock limit by more than a second: a path the limits could not
// interrupt. The node reports itself degraded while there is one. Calls
// waiting for such a sandbox give up at their deadline and abandon its
// activation (see Manager.Execute); the next call activates the sandbox
// afresh from its journal, and the stuck execution, should it ever end,
// is dropped.
func (m *Manager) Stuck() []string {
	var ids []string
	for _, r := range m.host.execs.stuck() {
		ids = append(ids, r.id)
	}
	return ids
}

// abandonStuck abandons the activation of id when its execution is
// stuck, so that the next call activates the sandbox afresh.
func (m *Manager) abandonStuck(id string) bool {
	found := false
	for _, r := range m.host.execs.stuck() {
		if r.id == id && r.abandoned.CompareAndSwap(false, true) {
			found = true
			m.host.log.Warn("sandbox execution stuck past its limits: activation abandoned", "id", id)
		}
	}
	return found
}

// all returns the executions in progress.
func (e *executions) all() []*running {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]*running, 0, len(e.m))
	for r := range e.m {
		out = append(out, r)
	}
	return out
}

// AbandonAll gives up every execution in progress, as a node does at its
// drain deadline: each is dropped when it ends (never journaled, so its
// caller, answered with an error, did not see it applied), and its
// activation is forgotten, so that passivation and shutdown do not wait
// for it. It returns how many it abandoned.
func (m *Manager) AbandonAll() int {
	n := 0
	for _, r := range m.host.execs.all() {
		if !r.abandoned.CompareAndSwap(false, true) {
			continue
		}
		n++
		m.host.log.Warn("sandbox execution abandoned at the drain deadline", "id", r.id)
		if pid, ok := m.dir.Lookup(Kind, r.id); ok {
			m.dir.RemovePid(pcluster.NewClusterIdentity(r.id, Kind), pid)
		}
	}
	return n
}

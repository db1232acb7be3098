package supervision

import (
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
)

// name is a registered name for a child id: a process in protoactor's
// registry, under the child's stable path (Supervisor.Name + "/" + id),
// that forwards everything to the child's current incarnation. A message
// sent while the child is not running goes to dead letters, as a message to
// an unregistered name does in OTP.
type name struct {
	system  *actor.ActorSystem
	pid     *actor.PID // immutable after register
	cur     atomic.Pointer[actor.PID]
	removed bool // owned by the supervisor's goroutine
}

var _ actor.Process = (*name)(nil)

// register adds the name to the registry; it returns nil when the path is
// taken.
func register(system *actor.ActorSystem, path string) *name {
	n := &name{system: system}
	pid, ok := system.ProcessRegistry.Add(n, path)
	if !ok {
		return nil
	}
	n.pid = pid
	return n
}

func (n *name) set(pid *actor.PID) {
	if n != nil {
		n.cur.Store(pid)
	}
}

// unregister frees the path; calling it again is a no-op. Only the owning
// supervisor's goroutine calls it.
func (n *name) unregister() {
	if n != nil && !n.removed {
		n.removed = true
		n.cur.Store(nil)
		n.system.ProcessRegistry.Remove(n.pid)
	}
}

func (n *name) target() (actor.Process, *actor.PID) {
	cur := n.cur.Load()
	if cur == nil {
		return n.system.DeadLetter, n.pid
	}
	p, _ := n.system.ProcessRegistry.Get(cur)
	return p, cur
}

// SendUserMessage forwards a message to the current incarnation.
func (n *name) SendUserMessage(_ *actor.PID, message any) {
	p, pid := n.target()
	p.SendUserMessage(pid, message)
}

// SendSystemMessage forwards a system message (Watch, Stop, …).
func (n *name) SendSystemMessage(_ *actor.PID, message any) {
	p, pid := n.target()
	p.SendSystemMessage(pid, message)
}

// Stop stops the current incarnation.
func (n *name) Stop(_ *actor.PID) {
	p, pid := n.target()
	p.Stop(pid)
}

package cluster

import (
	"github.com/asynkron/protoactor-go/actor"
)

// Bind is the first message a warm activation receives (see
// Directory.Warm): the identity it now is. It is sent by the directory,
// before any message for that identity, and only within this process.
type Bind struct {
	Identity string
}

// warmPool is the activations of one kind spawned ahead of need.
type warmPool struct {
	size     int          // how many to keep
	pids     []*actor.PID // ready, not bound to an identity
	spawning int          // being spawned by Replenish
}

// Warm keeps n activations of kind (a kind given to Named) spawned ahead
// of need: the activation of a new identity, or of one reactivated, then
// takes one and sends it Bind before any message, instead of spawning
// and starting an actor on the caller's path. What a warm activation
// prepares when it starts (an actor of kind gets *actor.Started with no
// identity in its name, see IdentityOf) is then ready too. Warm fills the
// pool (on a started member; else Setup does); activations of kind keep
// it full by calling Replenish once they answered their first message.
// When the pool is empty, activations are spawned as without it. n ≤ 0
// keeps none. StopWarm (and Shutdown) stop the pool's activations.
func (d *Directory) Warm(kind string, n int) {
	d.mu.Lock()
	if d.warm == nil {
		d.warm = make(map[string]*warmPool)
	}
	if _, named := d.named[kind]; !named || n <= 0 || d.warmStopped {
		delete(d.warm, kind)
		d.mu.Unlock()
		return
	}
	p := d.warm[kind]
	if p == nil {
		p = &warmPool{}
		d.warm[kind] = p
	}
	p.size = n
	started := d.system != nil
	d.mu.Unlock()
	if started {
		d.fill(kind)
	}
}

// fill replenishes the pool of kind until it is full.
func (d *Directory) fill(kind string) {
	for d.Replenish(kind) {
	}
}

// Replenish spawns one warm activation of kind if its pool (see Warm) is
// not full, and reports whether it did. The activations of kind call it
// off their callers' path (after answering), so that a warm activation
// taken is soon replaced: the pool costs no goroutine of its own.
func (d *Directory) Replenish(kind string) bool {
	d.mu.Lock()
	p := d.warm[kind]
	if p == nil || d.warmStopped || d.system == nil || len(p.pids)+p.spawning >= p.size {
		d.mu.Unlock()
		return false
	}
	p.spawning++
	props := d.named[kind]
	d.mu.Unlock()
	// Spawned without the lock: activations go on meanwhile.
	pid := d.system.Root.SpawnPrefix(props, kind+"/")
	d.mu.Lock()
	p.spawning--
	stopped := d.warmStopped
	if !stopped {
		p.pids = append(p.pids, pid)
		d.warmSpawned++
	}
	d.mu.Unlock()
	if stopped {
		d.stopAll([]*actor.PID{pid})
		return false
	}
	return true
}

// WarmCount returns how many warm activations of kind are ready.
func (d *Directory) WarmCount(kind string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if p := d.warm[kind]; p != nil {
		return len(p.pids)
	}
	return 0
}

// takeWarm returns a ready warm activation of kind, or nil. d.mu must be
// held.
func (d *Directory) takeWarm(kind string) *actor.PID {
	p := d.warm[kind]
	if p == nil {
		return nil
	}
	for len(p.pids) > 0 {
		last := len(p.pids) - 1
		pid := p.pids[last]
		p.pids = p.pids[:last]
		if _, alive := d.system.ProcessRegistry.GetLocal(pid.Id); alive {
			d.warmTaken++
			return pid
		}
		// Stopped with the system.
	}
	return nil
}

// StopWarm stops keeping warm activations and stops those in the pools;
// activations already bound are not affected. Calling it again does
// nothing.
func (d *Directory) StopWarm() {
	d.mu.Lock()
	d.warmStopped = true
	var pids []*actor.PID
	for _, p := range d.warm {
		pids = append(pids, p.pids...)
		p.pids = nil
	}
	d.mu.Unlock()
	d.stopAll(pids)
}

func (d *Directory) stopAll(pids []*actor.PID) {
	if d.system == nil || d.system.IsStopped() {
		return
	}
	for _, pid := range pids {
		d.system.Root.Stop(pid)
	}
}

// WarmStats returns how many activations were taken from the warm pools
// and how many the pools spawned.
func (d *Directory) WarmStats() (taken, spawned uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.warmTaken, d.warmSpawned
}

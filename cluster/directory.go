package cluster

import (
	"context"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/asynkron/protoactor-go/actor"
	pcluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/eventstream"
)

// Directory is a protoactor IdentityLookup that places every activation on
// this member and keeps them in a map: lookup, activation and removal are
// O(1) each. (protoactor's disthash placement actor scans all of its grains
// on every termination, so draining N grains costs O(N²).)
//
// Exactly one activation exists per identity: Get spawns under the lock.
// Directory is safe for concurrent use.
type Directory struct {
	mu     sync.Mutex // protects pids, counts, used and clock
	c      *pcluster.Cluster
	pids   map[key]*actor.PID
	counts map[string]int // live activations per kind
	used   map[key]uint64 // clock at each activation's last Get, for LeastRecent
	clock  uint64         // counts Gets
	sub    *eventstream.Subscription
	system *actor.ActorSystem

	remote map[key]remotePID       // activations on other members, as last resolved
	named  map[string]*actor.Props // see Named
	p      *placing                // nil on a single member
	stop   sync.Once

	// The warm activations (see Warm).
	warm        map[string]*warmPool
	warmStopped bool // StopWarm was called
	warmTaken   uint64
	warmSpawned uint64
}

type key struct{ kind, identity string }

// remotePID is an activation on another member, and that member's name
// (for its breaker).
type remotePID struct {
	pid    *actor.PID
	member string
}

var _ pcluster.IdentityLookup = (*Directory)(nil)

// NewDirectory returns a directory for one member: every activation is
// placed on it.
func NewDirectory() *Directory {
	return &Directory{pids: make(map[key]*actor.PID), counts: make(map[string]int), used: make(map[key]uint64),
		remote: make(map[key]remotePID)}
}

// Setup is called by protoactor when the member starts.
func (d *Directory) Setup(c *pcluster.Cluster, _ []string, _ bool) {
	d.c = c
	d.system = c.ActorSystem
	d.sub = c.ActorSystem.EventStream.SubscribeWithPredicate(func(evt any) {
		t := evt.(*pcluster.ActivationTerminating)
		d.RemovePid(t.ClusterIdentity, t.Pid)
	}, func(evt any) bool {
		_, ok := evt.(*pcluster.ActivationTerminating)
		return ok
	})
	if d.p != nil {
		d.p.start(d)
	}
	d.mu.Lock()
	kinds := slices.Collect(maps.Keys(d.warm))
	d.mu.Unlock()
	for _, kind := range kinds {
		d.fill(kind)
	}
}

// Shutdown stops following activations and, in a cluster, answering the
// other members, and stops the warm activations (StopWarm). Calling it
// again does nothing.
func (d *Directory) Shutdown() {
	d.stop.Do(func() {
		d.StopWarm()
		if d.p != nil {
			d.p.stop(d)
		}
		if d.sub != nil {
			d.system.EventStream.Unsubscribe(d.sub)
		}
	})
}

// Get returns the activation of ci, placing and spawning it when there is
// none. It returns nil for an unknown kind, or when no member can host it
// (see Resolve, which says why).
func (d *Directory) Get(ci *pcluster.ClusterIdentity) *actor.PID {
	if d.p == nil {
		return d.local(ci)
	}
	ctx, cancel := context.WithTimeout(context.Background(), d.p.cfg.ActivateTimeout)
	defer cancel()
	pid, _ := d.Resolve(ctx, ci.Kind, ci.Identity)
	return pid
}

// local returns the activation of ci on this member, spawning it when
// there is none; nil for an unknown kind.
func (d *Directory) local(ci *pcluster.ClusterIdentity) *actor.PID {
	k := key{ci.Kind, ci.Identity}
	d.mu.Lock()
	defer d.mu.Unlock()
	if pid, ok := d.pids[k]; ok {
		if _, alive := d.system.ProcessRegistry.GetLocal(pid.Id); alive {
			d.clock++
			d.used[k] = d.clock
			return pid
		}
		d.forget(k)
	}
	kind, ok := d.c.TryGetClusterKind(ci.Kind)
	if !ok {
		return nil
	}
	pid := d.takeWarm(ci.Kind)
	if pid != nil {
		// Its mailbox has Bind before anything a caller sends it.
		d.system.Root.Send(pid, &Bind{Identity: ci.Identity})
	} else {
		props, named := d.named[ci.Kind]
		if !named {
			props = pcluster.WithClusterIdentity(kind.Props, ci)
		}
		// A unique name per activation ("<kind>/<identity>$<n>", see
		// IdentityOf): a new activation must never share a pid with one
		// that is still stopping, or that one's removal would remove the
		// new one.
		pid = d.system.Root.SpawnPrefix(props, ci.Kind+"/"+ci.Identity)
	}
	kind.Inc()
	d.pids[k] = pid
	d.counts[ci.Kind]++
	d.clock++
	d.used[k] = d.clock
	return pid
}

// Named has the activations of kind spawned from props as they are,
// without protoactor's cluster middleware: an activation finds its
// identity in its own name (IdentityOf(ctx.Self())), or in the Bind it
// receives first when it was spawned warm (see Warm), gets no ClusterInit,
// and must call RemovePid itself when it stops (no ActivationTerminating
// is published for it). It saves the copy of the kind's props, with its
// context extension, that every activation otherwise keeps: about 400
// bytes each, which matters for kinds with many live activations.
func (d *Directory) Named(kind string, props *actor.Props) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.named == nil {
		d.named = make(map[string]*actor.Props)
	}
	d.named[kind] = props
}

// IdentityOf returns the identity of a named activation (see Named) from
// its pid: false for a pid that does not name one.
func IdentityOf(pid *actor.PID, kind string) (string, bool) {
	id, ok := strings.CutPrefix(pid.GetId(), kind+"/")
	if !ok {
		return "", false
	}
	i := strings.LastIndexByte(id, '$')
	if i <= 0 {
		return "", false // a warm activation's ("<kind>/$<n>") too
	}
	return id[:i], true
}

// forget drops k; d.mu must be held.
func (d *Directory) forget(k key) {
	delete(d.pids, k)
	delete(d.used, k)
	d.counts[k.kind]--
	if kind, ok := d.c.TryGetClusterKind(k.kind); ok {
		kind.Dec()
	}
}

// RemovePid forgets the activation pid of ci, if it is still the current
// one, here or as last resolved on another member.
func (d *Directory) RemovePid(ci *pcluster.ClusterIdentity, pid *actor.PID) {
	if ci == nil || pid == nil {
		return
	}
	k := key{ci.Kind, ci.Identity}
	d.mu.Lock()
	defer d.mu.Unlock()
	if cur, ok := d.pids[k]; ok && cur.Equal(pid) {
		d.forget(k)
	}
	if cur, ok := d.remote[k]; ok && cur.pid.Equal(pid) {
		delete(d.remote, k)
	}
}

// Lookup returns the activation of ci without spawning one.
func (d *Directory) Lookup(kind, identity string) (*actor.PID, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	pid, ok := d.pids[key{kind, identity}]
	return pid, ok
}

// Active returns the identities of kind with a live activation, sorted.
func (d *Directory) Active(kind string) []string {
	d.mu.Lock()
	ids := make([]string, 0, len(d.pids))
	for k := range d.pids {
		if k.kind == kind {
			ids = append(ids, k.identity)
		}
	}
	d.mu.Unlock()
	sort.Strings(ids)
	return ids
}

// LeastRecent returns up to n identities of kind whose activations were
// looked up least recently (every call to a grain looks it up), oldest
// first: the idlest activations, for passivation under memory pressure.
func (d *Directory) LeastRecent(kind string, n int) []string {
	type entry struct {
		id string
		at uint64
	}
	d.mu.Lock()
	all := make([]entry, 0, d.counts[kind])
	for k, at := range d.used {
		if k.kind == kind {
			all = append(all, entry{k.identity, at})
		}
	}
	d.mu.Unlock()
	sort.Slice(all, func(i, j int) bool { return all[i].at < all[j].at })
	if n < len(all) {
		all = all[:n]
	}
	ids := make([]string, len(all))
	for i, e := range all {
		ids[i] = e.id
	}
	return ids
}

// Count returns the number of live activations of kind.
func (d *Directory) Count(kind string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.counts[kind]
}

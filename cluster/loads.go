package cluster

import (
	"encoding/json"
	"sync"
	"time"
)

// Load sources, as LoadBoard.Source reports them.
const (
	// LoadDirect: the member sent its load itself, within the board's
	// MaxAge.
	LoadDirect = "direct"
	// LoadSelf: this member's own load, read when asked.
	LoadSelf = "self"
	// LoadMembership: the membership's (Consul's catalog, which a Consul
	// agent may update only every check_update_interval).
	LoadMembership = "consul"
)

// LoadBoard is a Membership whose members' loads are the freshest known:
// the loads the members send each other directly (see
// DirectoryConfig.Loads), while they are at most MaxAge old, else the
// underlying membership's. Membership and health stay the underlying
// membership's. It is safe for concurrent use.
type LoadBoard struct {
	Membership
	maxAge time.Duration
	self   func() Load // this member's load, read when asked; nil: none
	now    func() time.Time

	mu    sync.Mutex // protects loads
	loads map[string]timedLoad
}

type timedLoad struct {
	l  Load
	at time.Time
}

// NewLoadBoard returns a board over m whose direct loads count for
// maxAge; self, when set, gives this member's own load.
func NewLoadBoard(m Membership, maxAge time.Duration, self func() Load) *LoadBoard {
	return &LoadBoard{Membership: m, maxAge: maxAge, self: self, now: time.Now, loads: make(map[string]timedLoad)}
}

// Put records the load member node sent now.
func (b *LoadBoard) Put(node string, l Load) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.loads[node] = timedLoad{l, b.now()}
}

// put decodes a load report.
func (b *LoadBoard) put(node string, raw []byte) {
	var l Load
	if node == "" || json.Unmarshal(raw, &l) != nil {
		return
	}
	b.Put(node, l)
}

// Members implements Membership: the underlying members with their
// freshest loads.
func (b *LoadBoard) Members() []Member {
	ms := b.Membership.Members()
	now := b.now()
	self := b.Membership.Self()
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := range ms {
		if ms[i].Name == self && b.self != nil {
			ms[i].Load = b.self()
			continue
		}
		if t, ok := b.loads[ms[i].Name]; ok && now.Sub(t.at) <= b.maxAge {
			ms[i].Load = t.l
		}
	}
	return ms
}

// Peers returns the members as the membership has them, without reading
// any load: for who needs only who is there.
func (b *LoadBoard) Peers() []Member { return b.Membership.Members() }

// Source says where Members takes node's load from, and how old the
// direct one is (0 when it is not direct).
func (b *LoadBoard) Source(node string) (string, time.Duration) {
	if node == b.Membership.Self() && b.self != nil {
		return LoadSelf, 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if t, ok := b.loads[node]; ok {
		if age := b.now().Sub(t.at); age <= b.maxAge {
			return LoadDirect, age
		}
	}
	return LoadMembership, 0
}

// MaxAge is how long a direct load counts.
func (b *LoadBoard) MaxAge() time.Duration { return b.maxAge }

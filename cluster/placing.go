package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	pcluster "github.com/asynkron/protoactor-go/cluster"

	"github.com/otpbox/otpbox/breaker"
	"github.com/otpbox/otpbox/cluster/clusterpb"
)

// errDraining is the Activated error of a draining member.
const errDraining = "draining"

// PlacementActor is the name of the actor every member runs to answer the
// others' Activate, Deactivate, ListPlaced and Drain requests.
const PlacementActor = "otpbox-placement"

// Errors of the cluster directory.
var (
	// ErrUnknownMember: no such member, or it is not alive.
	ErrUnknownMember = errors.New("cluster: unknown member")
	// ErrUnreachable: the member that hosts the activation did not answer.
	ErrUnreachable = errors.New("cluster: member unreachable")
)

// DirectoryConfig configures a Directory for a cluster of members.
type DirectoryConfig struct {
	// Membership gives the members and their health. Required.
	Membership Membership
	// Registry keeps one placement per identity. Required; it must be
	// shared by all members (RedisRegistry).
	Registry Registry
	// Placer picks a member for a new activation (default RoundRobin).
	Placer Placer
	// Deactivate passivates this member's activation of identity, if it
	// has one, so that its state is durable and it stops. Required for
	// Move and Drain.
	Deactivate func(ctx context.Context, kind, identity string) error
	// ActivateTimeout bounds one Activate request to another member
	// (default 2 s). A member that does not answer is asked again until
	// the caller's deadline, so that a member found dead meanwhile is
	// replaced.
	ActivateTimeout time.Duration
	Logger          *slog.Logger
	// Loads, when set, gets the loads the other members send this one,
	// and LoadInterval (default 1 s) is how often this member sends its
	// own (Loads' self func) to every other alive member: placement then
	// works on loads at most a few heartbeats old, whatever the
	// membership's own freshness.
	Loads        *LoadBoard
	LoadInterval time.Duration
	// Breaker, when set, returns the circuit breaker in front of a
	// member: the requests to a member whose breaker is open fail fast
	// with a *breaker.OpenError (not retried), and a sandbox placed there
	// is not waited for.
	Breaker func(member string) *breaker.Breaker
}

// placing is the cluster half of a Directory: placement through the
// registry and the placer, and the actor answering other members.
type placing struct {
	cfg      DirectoryConfig
	placer   atomic.Pointer[Placer]
	draining atomic.Bool
	self     string
	pid      *actor.PID
	unsub    func()
	ctx      context.Context // canceled by stop; ends drains and sweeps
	cancel   context.CancelFunc
	wg       sync.WaitGroup // the goroutines answering long requests
	wasDown  atomic.Bool    // this member was seen critical; sweep on its return

	downMu sync.Mutex
	down   map[string]chan struct{} // by member address: closed when it goes down
}

// NewClusterDirectory returns a directory that places activations on the
// members of cfg.Membership: each identity has one placement in
// cfg.Registry, claimed by compare-and-swap, so exactly one member hosts
// its activation. New activations go where cfg.Placer says; a placement on
// a member that is gone (critical) or draining is moved on the next call.
func NewClusterDirectory(cfg DirectoryConfig) (*Directory, error) {
	if cfg.Membership == nil || cfg.Registry == nil {
		return nil, errors.New("cluster: DirectoryConfig needs Membership and Registry")
	}
	if cfg.ActivateTimeout <= 0 {
		cfg.ActivateTimeout = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	d := NewDirectory()
	d.p = &placing{cfg: cfg, self: cfg.Membership.Self()}
	var p Placer = &RoundRobin{}
	if cfg.Placer != nil {
		p = cfg.Placer
	}
	d.p.placer.Store(&p)
	return d, nil
}

// SetPlacer replaces the placer of new activations (the LoadBalancer's
// strategy). It does nothing on a single-member directory.
func (d *Directory) SetPlacer(p Placer) {
	if d.p != nil && p != nil {
		d.p.placer.Store(&p)
	}
}

// Draining reports whether this member is draining: it moves its
// activations away and takes no new ones.
func (d *Directory) Draining() bool { return d.p != nil && d.p.draining.Load() }

func (p *placing) start(d *Directory) {
	p.ctx, p.cancel = context.WithCancel(context.Background())
	props := actor.PropsFromFunc(func(ctx actor.Context) { p.receive(d, ctx) })
	pid, err := d.system.Root.SpawnNamed(props, PlacementActor)
	if err != nil {
		p.cfg.Logger.Error("cluster: placement actor", "error", err)
	}
	p.pid = pid
	p.unsub = p.cfg.Membership.Subscribe(func(e Event) { p.onEvent(d, e) })
	if b := p.cfg.Loads; b != nil && b.self != nil {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.sendLoads(d, b)
		}()
	}
}

// sendLoads sends this member's load to every other alive member every
// LoadInterval, until the directory stops. Reports are fire-and-forget:
// a lost one is replaced by the next.
func (p *placing) sendLoads(d *Directory, b *LoadBoard) {
	every := p.cfg.LoadInterval
	if every <= 0 {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		raw, err := json.Marshal(b.self())
		if err == nil {
			report := &clusterpb.LoadReport{Node: p.self, Load: raw}
			for _, m := range Alive(b.Membership.Members()) {
				if m.Name != p.self && m.Address != "" {
					d.system.Root.Send(actor.NewPID(m.Address, PlacementActor), report)
				}
			}
		}
		select {
		case <-p.ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (p *placing) stop(d *Directory) {
	if p.unsub != nil {
		p.unsub()
	}
	if p.cancel != nil {
		p.cancel()
	}
	p.wg.Wait()
	if p.pid != nil {
		d.system.Root.Stop(p.pid)
	}
}

// onEvent forgets activations resolved on a member that went down, and
// after this member itself was down and is back, passivates its own
// activations whose placement moved meanwhile.
func (p *placing) onEvent(d *Directory, e Event) {
	switch {
	case e.Kind == NodeDown && e.Member.Name == p.self:
		p.wasDown.Store(true)
	case e.Kind == NodeDown:
		d.mu.Lock()
		for k, r := range d.remote {
			if r.pid.Address == e.Member.Address {
				delete(d.remote, k)
			}
		}
		d.mu.Unlock()
		p.downMu.Lock()
		if ch, ok := p.down[e.Member.Address]; ok {
			close(ch)
			delete(p.down, e.Member.Address)
		}
		p.downMu.Unlock()
	case e.Kind == NodeUp && e.Member.Name == p.self && p.wasDown.Swap(false):
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.sweep(d)
		}()
	}
}

// sweep passivates every local activation whose placement is no longer
// this member (it was moved while this member was unreachable).
func (p *placing) sweep(d *Directory) {
	d.mu.Lock()
	keys := make([]key, 0, len(d.pids))
	for k := range d.pids {
		keys = append(keys, k)
	}
	d.mu.Unlock()
	for _, k := range keys {
		rec, err := p.cfg.Registry.Lookup(p.ctx, k.kind, k.identity)
		if err != nil || rec.Node == p.self {
			continue
		}
		if p.cfg.Deactivate != nil {
			if err := p.cfg.Deactivate(p.ctx, k.kind, k.identity); err != nil {
				p.cfg.Logger.Warn("cluster: passivate moved activation", "identity", k.identity, "error", err)
			}
		}
	}
}

func (p *placing) receive(d *Directory, ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *clusterpb.LoadReport:
		if p.cfg.Loads != nil {
			p.cfg.Loads.put(m.Node, m.Load)
		}
	case *clusterpb.Activate:
		ci := pcluster.NewClusterIdentity(m.Identity, m.Kind)
		if p.draining.Load() && !d.Known(m.Kind, m.Identity) {
			// A member that has not heard of the drain yet placed it here:
			// refuse, so it places it elsewhere once it has.
			ctx.Respond(&clusterpb.Activated{Error: errDraining})
			return
		}
		pid := d.local(ci)
		if pid == nil {
			ctx.Respond(&clusterpb.Activated{Error: fmt.Sprintf("unknown kind %q", m.Kind)})
			return
		}
		ctx.Respond(&clusterpb.Activated{Address: pid.Address, Id: pid.Id})
	case *clusterpb.ListPlaced:
		if m.Identity != "" {
			var ids []string
			if _, ok := d.Lookup(m.Kind, m.Identity); ok {
				ids = []string{m.Identity}
			}
			ctx.Respond(&clusterpb.Placed{Identities: ids})
			return
		}
		ctx.Respond(&clusterpb.Placed{Identities: d.Active(m.Kind)})
	case *clusterpb.Deactivate:
		p.async(ctx, func(c context.Context) (int, error) {
			if p.cfg.Deactivate == nil {
				return 0, errors.New("cluster: this member cannot deactivate")
			}
			return 1, p.cfg.Deactivate(c, m.Kind, m.Identity)
		})
	case *clusterpb.Drain:
		p.async(ctx, func(c context.Context) (int, error) { return d.drainSelf(c, m.Kind) })
	}
}

// async answers a long request from a goroutine, so the placement actor
// keeps answering Activate meanwhile (a drain activates elsewhere and
// deactivates here).
func (p *placing) async(ctx actor.Context, fn func(context.Context) (int, error)) {
	sender := ctx.Sender()
	root := ctx.ActorSystem().Root
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		n, err := fn(p.ctx)
		done := &clusterpb.Done{Moved: int32(n)}
		if err != nil {
			done.Error = err.Error()
		}
		if sender != nil {
			root.Send(sender, done)
		}
	}()
}

// members returns the members by name.
func (p *placing) members() map[string]Member {
	ms := p.cfg.Membership.Members()
	out := make(map[string]Member, len(ms))
	for _, m := range ms {
		out[m.Name] = m
	}
	return out
}

// candidates returns the members that accept new activations, minus
// except. When none does, the alive members that are not draining (the
// overloaded or degraded ones, Consul's warning) stand in: a sandbox
// placed on a busy member beats one that cannot run at all.
func (p *placing) candidates(except string) []Member {
	var accept, alive []Member
	for _, m := range p.cfg.Membership.Members() {
		if m.Name == except || p.leaving(m) {
			continue
		}
		switch {
		case m.Accepts():
			accept = append(accept, m)
		case m.Alive():
			alive = append(alive, m)
		}
	}
	if len(accept) > 0 {
		return accept
	}
	return alive
}

// Resolve returns the activation of (kind, identity) wherever it is,
// placing and activating it when it has none: a live activation on this
// member first, then the one last resolved elsewhere, then the registry.
// A placement on a member that is gone or draining is moved to one the
// placer picks. It retries an unreachable member until ctx ends.
func (d *Directory) Resolve(ctx context.Context, kind, identity string) (*actor.PID, error) {
	k := key{kind, identity}
	ci := pcluster.NewClusterIdentity(identity, kind)
	if d.p == nil {
		if pid := d.local(ci); pid != nil {
			return pid, nil
		}
		return nil, fmt.Errorf("cluster: unknown kind %q", kind)
	}
	d.mu.Lock()
	if pid, ok := d.pids[k]; ok {
		if _, alive := d.system.ProcessRegistry.GetLocal(pid.Id); alive {
			d.clock++
			d.used[k] = d.clock
			d.mu.Unlock()
			return pid, nil
		}
	}
	if r, ok := d.remote[k]; ok {
		d.mu.Unlock()
		if b := d.p.breaker(r.member); b != nil {
			if err := b.Check(); err != nil {
				return nil, fmt.Errorf("cluster: %s: %w", r.member, err)
			}
		}
		return r.pid, nil
	}
	d.mu.Unlock()

	backoff := 20 * time.Millisecond
	for {
		pid, err := d.place(ctx, ci)
		if err == nil {
			return pid, nil
		}
		if !errors.Is(err, ErrUnreachable) && !errors.Is(err, ErrNoMembers) {
			return nil, err
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%w (%v)", err, ctx.Err())
		case <-t.C:
		}
		backoff = min(2*backoff, 500*time.Millisecond)
	}
}

// newIdentityKey marks a context whose resolution is for an identity
// being created (WithNewIdentity).
type newIdentityKey struct{}

// WithNewIdentity returns ctx marked as resolving an identity that is
// being created, such as a sandbox's create: Resolve claims a placement
// for it at once (one registry round trip) instead of looking it up
// first (two). An identity placed already is found all the same, by the
// claim that fails.
func WithNewIdentity(ctx context.Context) context.Context {
	return context.WithValue(ctx, newIdentityKey{}, true)
}

// place resolves ci through the registry once.
func (d *Directory) place(ctx context.Context, ci *pcluster.ClusterIdentity) (*actor.PID, error) {
	p := d.p
	var rec Placement
	unplaced := ctx.Value(newIdentityKey{}) != nil
	if !unplaced {
		var err error
		if rec, err = p.cfg.Registry.Lookup(ctx, ci.Kind, ci.Identity); err != nil {
			return nil, err
		}
	}
	for {
		if !unplaced && p.usable(rec) {
			break
		}
		// Unplaced, or its member is gone or leaving: place it anew.
		cands := p.candidates("")
		if len(cands) == 0 {
			return nil, ErrNoMembers
		}
		node, err := (*p.placer.Load()).Place(ctx, ci.Identity, cands)
		if err != nil {
			return nil, err
		}
		cur, won, err := p.cfg.Registry.Claim(ctx, ci.Kind, ci.Identity, rec, Placement{Node: node, Epoch: rec.Epoch + 1})
		if err != nil {
			return nil, err
		}
		// Whoever won, cur is the placement in force now.
		if cur.IsZero() {
			return nil, ErrUnreachable // released meanwhile: try again
		}
		rec = cur
		if won || !unplaced {
			break
		}
		// A new identity that was placed already: check that placement
		// as a lookup would have.
		unplaced = false
	}
	return d.activateOn(ctx, ci, rec.Node)
}

// usable reports whether rec places an identity on a member that can
// host it: alive, not draining.
func (p *placing) usable(rec Placement) bool {
	if rec.IsZero() {
		return false
	}
	m, ok := p.members()[rec.Node]
	return ok && m.Alive() && !p.leaving(m)
}

// leaving reports whether m is draining (this member knows its own
// drain before the others hear of it).
func (p *placing) leaving(m Member) bool {
	return m.Load.Draining || (m.Name == p.self && p.draining.Load())
}

// activateOn activates ci on node and remembers where.
func (d *Directory) activateOn(ctx context.Context, ci *pcluster.ClusterIdentity, node string) (*actor.PID, error) {
	p := d.p
	if node == p.self {
		pid := d.local(ci)
		if pid == nil {
			return nil, fmt.Errorf("cluster: unknown kind %q", ci.Kind)
		}
		return pid, nil
	}
	m, ok := p.members()[node]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnreachable, node)
	}
	res, err := d.ask(ctx, m, &clusterpb.Activate{Kind: ci.Kind, Identity: ci.Identity}, p.cfg.ActivateTimeout)
	if err != nil {
		return nil, err
	}
	a, ok := res.(*clusterpb.Activated)
	if !ok {
		return nil, fmt.Errorf("%w: %s answered %T", ErrUnreachable, node, res)
	}
	if a.Error == errDraining {
		return nil, fmt.Errorf("%w: %s is draining", ErrUnreachable, node)
	}
	if a.Error != "" {
		return nil, fmt.Errorf("cluster: activate on %s: %s", node, a.Error)
	}
	pid := actor.NewPID(a.Address, a.Id)
	d.mu.Lock()
	d.remote[key{ci.Kind, ci.Identity}] = remotePID{pid: pid, member: node}
	d.mu.Unlock()
	return pid, nil
}

// ask sends msg to member m's placement actor and waits up to timeout (or
// ctx's end) for the answer.
func (d *Directory) ask(ctx context.Context, m Member, msg any, timeout time.Duration) (any, error) {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
		timeout = time.Until(dl)
	}
	if timeout <= 0 {
		return nil, ctx.Err()
	}
	if b := d.p.breaker(m.Name); b != nil {
		done, err := b.Allow()
		if err != nil {
			return nil, fmt.Errorf("cluster: %s: %w", m.Name, err)
		}
		res, err := d.askOnce(m, msg, timeout)
		done(err)
		return res, err
	}
	return d.askOnce(m, msg, timeout)
}

func (d *Directory) askOnce(m Member, msg any, timeout time.Duration) (any, error) {
	f := d.system.Root.RequestFuture(actor.NewPID(m.Address, PlacementActor), msg, timeout)
	res, err := f.Result()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrUnreachable, m.Name, err)
	}
	if _, dead := res.(*actor.DeadLetterResponse); dead {
		return nil, fmt.Errorf("%w: %s has no placement actor", ErrUnreachable, m.Name)
	}
	return res, nil
}

// breaker returns the breaker in front of member (nil: none).
func (p *placing) breaker(member string) *breaker.Breaker {
	if p.cfg.Breaker == nil || member == p.self {
		return nil
	}
	return p.cfg.Breaker(member)
}

// askDone sends a request answered by Done to member node.
func (d *Directory) askDone(ctx context.Context, node string, msg any) (int, error) {
	if node == d.p.self {
		switch m := msg.(type) {
		case *clusterpb.Deactivate:
			return 1, d.p.cfg.Deactivate(ctx, m.Kind, m.Identity)
		case *clusterpb.Drain:
			return d.drainSelf(ctx, m.Kind)
		}
	}
	m, ok := d.p.members()[node]
	if !ok || !m.Alive() {
		return 0, fmt.Errorf("%w: %q", ErrUnknownMember, node)
	}
	timeout := time.Minute
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	res, err := d.ask(ctx, m, msg, timeout)
	if err != nil {
		return 0, err
	}
	done, ok := res.(*clusterpb.Done)
	if !ok {
		return 0, fmt.Errorf("%w: %s answered %T", ErrUnreachable, node, res)
	}
	if done.Error != "" {
		return int(done.Moved), fmt.Errorf("cluster: %s: %s", node, done.Error)
	}
	return int(done.Moved), nil
}

// Placed returns the identities of kind active on node.
func (d *Directory) Placed(ctx context.Context, kind, node string) ([]string, error) {
	return d.placed(ctx, kind, "", node)
}

// ActiveOn reports whether (kind, identity) has a live activation on node.
func (d *Directory) ActiveOn(ctx context.Context, kind, identity, node string) (bool, error) {
	ids, err := d.placed(ctx, kind, identity, node)
	return len(ids) > 0, err
}

// placed asks node for its activations of kind, or of identity alone.
func (d *Directory) placed(ctx context.Context, kind, identity, node string) ([]string, error) {
	if d.p == nil || node == d.p.self {
		if identity == "" {
			return d.Active(kind), nil
		}
		if _, ok := d.Lookup(kind, identity); ok {
			return []string{identity}, nil
		}
		return nil, nil
	}
	m, ok := d.p.members()[node]
	if !ok || !m.Alive() {
		return nil, fmt.Errorf("%w: %q", ErrUnknownMember, node)
	}
	res, err := d.ask(ctx, m, &clusterpb.ListPlaced{Kind: kind, Identity: identity}, d.p.cfg.ActivateTimeout)
	if err != nil {
		return nil, err
	}
	pl, ok := res.(*clusterpb.Placed)
	if !ok {
		return nil, fmt.Errorf("%w: %s answered %T", ErrUnreachable, node, res)
	}
	return pl.Identities, nil
}

// Move moves the activation of (kind, identity) to node: the placement
// changes first (so new calls go to node), then the old activation
// passivates (its state is durable) and node activates it. Moving to where
// it is already placed only activates it there.
func (d *Directory) Move(ctx context.Context, kind, identity, node string) (*actor.PID, error) {
	if d.p == nil {
		return nil, fmt.Errorf("%w: %q (a single member)", ErrUnknownMember, node)
	}
	p := d.p
	target, ok := p.members()[node]
	if !ok || !target.Accepts() || (node == p.self && p.draining.Load()) {
		return nil, fmt.Errorf("%w: %q does not accept activations", ErrUnknownMember, node)
	}
	ci := pcluster.NewClusterIdentity(identity, kind)
	for attempt := 0; ; attempt++ {
		rec, err := p.cfg.Registry.Lookup(ctx, kind, identity)
		if err != nil {
			return nil, err
		}
		if rec.Node == node {
			return d.activateOn(ctx, ci, node)
		}
		cur, won, err := p.cfg.Registry.Claim(ctx, kind, identity, rec, Placement{Node: node, Epoch: rec.Epoch + 1})
		if err != nil {
			return nil, err
		}
		if !won {
			if attempt < 3 {
				continue // moved concurrently: look again
			}
			return nil, fmt.Errorf("cluster: %s is moving concurrently (now on %s)", identity, cur.Node)
		}
		d.mu.Lock()
		delete(d.remote, key{kind, identity})
		d.mu.Unlock()
		if old, ok := p.members()[rec.Node]; ok && old.Alive() {
			if _, err := d.askDone(ctx, rec.Node, &clusterpb.Deactivate{Kind: kind, Identity: identity}); err != nil {
				p.cfg.Logger.Warn("cluster: passivate before move", "identity", identity, "node", rec.Node, "error", err)
			}
		}
		return d.activateOn(ctx, ci, node)
	}
}

// Drain moves every activation of kind on node to the other members (where
// the placer says) and marks node draining, so it takes no new ones. It
// returns how many it moved. Nothing is lost when it fails: the
// activations not moved stay where they are.
func (d *Directory) Drain(ctx context.Context, kind, node string) (int, error) {
	if d.p == nil {
		return 0, fmt.Errorf("%w: a single member cannot drain", ErrNoMembers)
	}
	return d.askDone(ctx, node, &clusterpb.Drain{Kind: kind})
}

func (d *Directory) drainSelf(ctx context.Context, kind string) (int, error) {
	p := d.p
	p.draining.Store(true)
	moved := 0
	// Activations placed here by members that had not heard of the drain
	// yet may appear meanwhile: go again until none is left.
	for pass := 0; ; pass++ {
		ids := d.Active(kind)
		if len(ids) == 0 {
			return moved, nil
		}
		var errs []error
		for _, id := range ids {
			cands := p.candidates(p.self)
			if len(cands) == 0 {
				return moved, ErrNoMembers
			}
			node, err := (*p.placer.Load()).Place(ctx, id, cands)
			if err == nil {
				_, err = d.Move(ctx, kind, id, node)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("move %s: %w", id, err))
				continue
			}
			moved++
		}
		if len(errs) > 0 || pass == 10 || ctx.Err() != nil {
			return moved, errors.Join(append(errs, ctx.Err())...)
		}
	}
}

// Undrain lets this member take new activations again.
func (d *Directory) Undrain() {
	if d.p != nil {
		d.p.draining.Store(false)
	}
}

// Forget drops the placement of (kind, identity) (a terminated sandbox)
// and any activation resolved elsewhere.
func (d *Directory) Forget(ctx context.Context, kind, identity string) error {
	d.Forgotten(kind, identity)
	if d.p == nil {
		return nil
	}
	return d.p.cfg.Registry.Remove(ctx, kind, identity)
}

// Forgotten drops what this member remembers of (kind, identity)'s
// activation on another member, for an identity whose placement was
// removed already (with its records, in the same transaction: see
// sandbox.PlacementDeleter).
func (d *Directory) Forgotten(kind, identity string) {
	d.mu.Lock()
	delete(d.remote, key{kind, identity})
	d.mu.Unlock()
}

// Owner returns the member that identity is placed on ("" when none, and
// on a single member).
func (d *Directory) Owner(ctx context.Context, kind, identity string) (string, error) {
	if d.p == nil {
		return "", nil
	}
	rec, err := d.p.cfg.Registry.Lookup(ctx, kind, identity)
	return rec.Node, err
}

// Down returns a channel closed when the member at address goes down (its
// health turns critical, or it leaves), so that calls waiting on it give
// up at once instead of waiting for protoactor's remote to notice. It
// returns nil (never ready) on a single member and for this member.
func (d *Directory) Down(address string) <-chan struct{} {
	if d.p == nil || address == d.system.Address() {
		return nil
	}
	p := d.p
	p.downMu.Lock()
	defer p.downMu.Unlock()
	if p.down == nil {
		p.down = make(map[string]chan struct{})
	}
	ch, ok := p.down[address]
	if !ok {
		ch = make(chan struct{})
		p.down[address] = ch
	}
	return ch
}

// Find returns the activation of (kind, identity) that is live here, or
// the one last resolved on another member, without placing or
// activating anything (a watcher's poll must not wake a sandbox).
func (d *Directory) Find(kind, identity string) (*actor.PID, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	k := key{kind, identity}
	if pid, ok := d.pids[k]; ok && d.system != nil {
		if _, alive := d.system.ProcessRegistry.GetLocal(pid.Id); alive {
			return pid, true
		}
	}
	r, ok := d.remote[k]
	return r.pid, ok
}

// Known reports whether (kind, identity) has an activation here or one
// resolved on another member.
func (d *Directory) Known(kind, identity string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	k := key{kind, identity}
	_, local := d.pids[k]
	_, remote := d.remote[k]
	return local || remote
}

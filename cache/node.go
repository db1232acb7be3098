package cache

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/otpbox/otpbox/cache/internal/cachepb"
)

// OwnerName is the default name of a node's owner actor.
const OwnerName = "otpbox-cache-owner"

// MemberID returns the member id of the owner actor named name (OwnerName
// if empty) on the actor system at address: "address/name". Node ids have
// this form, so a cluster membership maps its node addresses to members
// with MemberID(addr, "").
func MemberID(address, name string) string {
	if name == "" {
		name = OwnerName
	}
	return address + "/" + name
}

// ownerPID parses a member id made by MemberID.
func ownerPID(member string) *actor.PID {
	i := strings.LastIndexByte(member, '/')
	if i < 0 {
		return actor.NewPID(member, OwnerName)
	}
	return actor.NewPID(member[:i], member[i+1:])
}

// DefaultRemoteTimeout bounds one request to a remote owner when
// NodeConfig.Timeout is 0.
const DefaultRemoteTimeout = time.Second

// NodeConfig configures NewNode. The zero value works for a single node.
type NodeConfig struct {
	// Name of the owner actor; default OwnerName. Several Nodes can share
	// one actor system under different names (in-process clusters, tests).
	Name string
	// Size of the node's owned-key store in bytes; default DefaultL1Size.
	Size int
	// Live returns the ids (see MemberID) of the live members, including
	// this node.
	// Nil means "only this node". It is called on every L2 operation and
	// must be cheap; the cluster membership feeds it.
	Live func() []string
	// Timeout bounds each request to a remote owner; default DefaultRemoteTimeout.
	Timeout time.Duration
	// Clock is the store's clock for TTLs; default time.Now.
	Clock func() time.Time
}

// Node is the protoactor implementation of Members: an owner actor (named
// NodeConfig.Name) on an actor system keeps the keys this node owns in its own freecache and
// answers Get/Set/Delete/Clear from other nodes; Invalidate messages it
// receives are handed to the local Cache's L1. Requests for keys this node
// owns skip the mailbox and use the store directly. Messages between nodes
// are the protobuf types of cache/internal/cachepb, so the actor system must
// have protoactor remote started for more than one node.
type Node struct {
	system   *actor.ActorSystem
	pid      *actor.PID
	name     string
	store    *L1
	live     func() []string
	timeout  time.Duration
	listener atomic.Pointer[func([]string)]
}

var (
	_ Members            = (*Node)(nil)
	_ InvalidationSource = (*Node)(nil)
)

// NewNode spawns the owner actor on system, named OwnerName. Stop it with
// Stop (or by shutting the system down).
func NewNode(system *actor.ActorSystem, cfg NodeConfig) (*Node, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultRemoteTimeout
	}
	n := &Node{system: system, store: NewL1(cfg.Size, cfg.Clock), live: cfg.Live, timeout: cfg.Timeout}
	if cfg.Name == "" {
		cfg.Name = OwnerName
	}
	n.name = cfg.Name
	pid, err := system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return &owner{n: n} }), cfg.Name)
	if err != nil {
		return nil, fmt.Errorf("spawn cache owner: %w", err)
	}
	n.pid = pid
	return n, nil
}

// Stop stops the owner actor and waits for it.
func (n *Node) Stop() error { return n.system.Root.StopFuture(n.pid).Wait() }

// Self returns this node's member id, MemberID(system address, name).
func (n *Node) Self() string { return MemberID(n.system.Address(), n.name) }

// Live returns NodeConfig.Live(), or just Self.
func (n *Node) Live() []string {
	if n.live == nil {
		return []string{n.Self()}
	}
	return n.live()
}

// OnInvalidate sets the function that receives keys other nodes invalidate.
func (n *Node) OnInvalidate(fn func(keys []string)) { n.listener.Store(&fn) }

// Stats reports this node's owned store.
func (n *Node) Stats() TierStats { return n.store.Stats() }

func (n *Node) request(ctx context.Context, member string, msg any) (any, error) {
	timeout := n.timeout
	if d, ok := ctx.Deadline(); ok && time.Until(d) < timeout {
		timeout = time.Until(d)
	}
	if timeout <= 0 {
		return nil, context.DeadlineExceeded
	}
	return n.system.Root.RequestFuture(ownerPID(member), msg, timeout).Result()
}

func ackErr(res any, err error) error {
	if err != nil {
		return err
	}
	a, ok := res.(*cachepb.Ack)
	if !ok {
		return fmt.Errorf("%w: unexpected reply %T", ErrRemote, res)
	}
	return remoteErr(a.GetError())
}

func remoteErr(s string) error {
	switch s {
	case "":
		return nil
	case ErrOversized.Error():
		return ErrOversized
	}
	return fmt.Errorf("%w: %s", ErrRemote, s)
}

// Get reads key from member's owned store.
func (n *Node) Get(ctx context.Context, member, key string) ([]byte, bool, error) {
	if member == n.Self() {
		return n.store.Get(ctx, key)
	}
	res, err := n.request(ctx, member, &cachepb.GetRequest{Key: key})
	if err != nil {
		return nil, false, err
	}
	r, ok := res.(*cachepb.GetResponse)
	if !ok {
		return nil, false, fmt.Errorf("%w: unexpected reply %T", ErrRemote, res)
	}
	if err := remoteErr(r.GetError()); err != nil {
		return nil, false, err
	}
	return r.GetValue(), r.GetFound(), nil
}

// Set stores key in member's owned store.
func (n *Node) Set(ctx context.Context, member, key string, val []byte, ttl time.Duration) error {
	if member == n.Self() {
		return n.store.Set(ctx, key, val, ttl)
	}
	return ackErr(n.request(ctx, member, &cachepb.SetRequest{Key: key, Value: val, TtlMs: ttl.Milliseconds()}))
}

// Delete removes key from member's owned store.
func (n *Node) Delete(ctx context.Context, member, key string) error {
	if member == n.Self() {
		return n.store.Delete(ctx, key)
	}
	return ackErr(n.request(ctx, member, &cachepb.DeleteRequest{Key: key}))
}

// Clear empties member's owned store.
func (n *Node) Clear(ctx context.Context, member string) error {
	if member == n.Self() {
		return n.store.Clear(ctx)
	}
	return ackErr(n.request(ctx, member, &cachepb.ClearRequest{}))
}

// Invalidate sends keys to member's owner, which drops them from its L1. It
// does not wait: delivery is protoactor's, in order per sender.
func (n *Node) Invalidate(_ context.Context, member string, keys []string) error {
	if member == n.Self() {
		n.invalidated(keys)
		return nil
	}
	n.system.Root.Send(ownerPID(member), &cachepb.Invalidate{Keys: keys})
	return nil
}

func (n *Node) invalidated(keys []string) {
	if fn := n.listener.Load(); fn != nil {
		(*fn)(keys)
	}
}

// owner is the actor answering remote requests against Node.store.
type owner struct{ n *Node }

func (o *owner) Receive(ctx actor.Context) {
	bg := context.Background()
	switch m := ctx.Message().(type) {
	case *cachepb.GetRequest:
		v, ok, err := o.n.store.Get(bg, m.GetKey())
		ctx.Respond(&cachepb.GetResponse{Found: ok, Value: v, Error: errString(err)})
	case *cachepb.SetRequest:
		err := o.n.store.Set(bg, m.GetKey(), m.GetValue(), time.Duration(m.GetTtlMs())*time.Millisecond)
		ctx.Respond(&cachepb.Ack{Error: errString(err)})
	case *cachepb.DeleteRequest:
		ctx.Respond(&cachepb.Ack{Error: errString(o.n.store.Delete(bg, m.GetKey()))})
	case *cachepb.ClearRequest:
		ctx.Respond(&cachepb.Ack{Error: errString(o.n.store.Clear(bg))})
	case *cachepb.Invalidate:
		o.n.invalidated(m.GetKeys())
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	if errors.Is(err, ErrOversized) {
		return ErrOversized.Error()
	}
	return err.Error()
}

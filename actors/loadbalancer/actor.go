package loadbalancer

import (
	"context"
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/scheduler"
	"github.com/otpbox/otpbox/cluster"
	"github.com/otpbox/otpbox/supervision"
)

// ChildID is the supervision child id ChildSpec uses.
const ChildID = "loadbalancer"

// Deps are the actor's collaborators; both are optional.
type Deps struct {
	// Membership, when set, is followed: the actor syncs with Members on
	// start and every health check, and applies the events it subscribes
	// to (unsubscribing when it stops).
	Membership cluster.Membership
	// Migrator moves sandboxes when rebalancing; nil: rounds are skipped
	// (SkipNoMigrator).
	Migrator cluster.Migrator
	// Leader, when set, says whether this member leads rebalancing: every
	// member runs a LoadBalancer (each places the sandboxes created
	// through it), but only one should move sandboxes, or their rounds
	// would undo each other. Rounds on other members are skipped
	// (SkipNotLeader). Nil: this member leads.
	Leader func() bool
}

// Props returns the props of the actor managing b.
func Props(b *Balancer, deps Deps) *actor.Props { return actor.PropsFromProducer(Producer(b, deps)) }

// Producer returns a producer of actors managing b, for supervision.Spawn.
// It panics if b is nil.
func Producer(b *Balancer, deps Deps) actor.Producer {
	if b == nil {
		panic("loadbalancer: nil Balancer")
	}
	return func() actor.Actor { return &balancerActor{b: b, deps: deps} }
}

// ChildSpec is the actor managing b as a permanent supervised worker with
// id ChildID. A restart builds a new actor around the same Balancer: its
// nodes, metrics and strategy survive, and placements through b never
// stop.
func ChildSpec(b *Balancer, deps Deps) supervision.ChildSpec {
	return supervision.ChildSpec{ID: ChildID, Start: supervision.Spawn(Producer(b, deps))}
}

// balancerActor is the LoadBalancer actor. Only Receive touches its
// fields; the Balancer has its own lock.
type balancerActor struct {
	b           *Balancer
	deps        Deps
	cancelTimer scheduler.CancelFunc
	unsubscribe func()
}

func (a *balancerActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		a.start(ctx)
	case *actor.Stopping:
		a.stop()
	case *actor.Restarting:
		a.stop()
	case *ReportNodeMetrics:
		a.b.Report(msg.Node, msg.Metrics)
		a.check(ctx)
	case *GetBestNode:
		node, err := a.b.Best(msg.Key)
		ctx.Respond(&BestNode{Node: node, Err: err})
	case *GetLoadDistribution:
		ctx.Respond(a.b.Distribution())
	case *TriggerRebalancing:
		reply(ctx, a.rebalance(ctx))
	case *SetStrategy:
		err := a.b.SetStrategy(msg.Strategy)
		if err == nil {
			ctx.Logger().Info("loadbalancer: strategy", slog.String("strategy", msg.Strategy.String()))
		}
		reply(ctx, &Done{Err: err})
	case *SetRebalancing:
		a.b.SetRebalancing(msg.Enabled)
		reply(ctx, &Done{})
	case *NodeUp:
		a.publish(ctx, a.b.NodeUp(msg.Member))
		reply(ctx, &Done{})
	case *NodeDown:
		a.publish(ctx, a.b.NodeDown(msg.Node))
		a.check(ctx)
		reply(ctx, &Done{})
	case *MembershipEvent:
		a.event(ctx, msg.Event)
	case *Tick:
		a.healthCheck(ctx)
	case actor.SystemMessage, actor.AutoReceiveMessage:
	default:
		ctx.Logger().Warn("loadbalancer: unknown message", slog.Any("type", msg))
	}
}

// reply answers a request; a message sent without a sender was a cast.
func reply(ctx actor.Context, msg message) {
	if ctx.Sender() != nil {
		ctx.Respond(msg)
	}
}

func (a *balancerActor) start(ctx actor.Context) {
	if ms := a.deps.Membership; ms != nil {
		// Subscribe first, then sync: an event racing the snapshot is
		// applied after it, and applying it again is harmless.
		self, root := ctx.Self(), ctx.ActorSystem().Root
		a.unsubscribe = ms.Subscribe(func(ev cluster.Event) { root.Send(self, &MembershipEvent{Event: ev}) })
		a.publish(ctx, a.b.Sync(ms.Members())...)
	}
	a.b.Distribution() // the gauges of the known nodes exist from the start
	if d := a.b.Config().HealthCheckInterval; d > 0 {
		a.cancelTimer = scheduler.NewTimerScheduler(ctx.ActorSystem().Root).SendRepeatedly(d, d, ctx.Self(), &Tick{})
	}
}

func (a *balancerActor) stop() {
	if a.cancelTimer != nil {
		a.cancelTimer()
		a.cancelTimer = nil
	}
	if a.unsubscribe != nil {
		a.unsubscribe()
		a.unsubscribe = nil
	}
}

// event applies a membership event; node_down and node_updated may call
// for rebalancing.
func (a *balancerActor) event(ctx actor.Context, ev cluster.Event) {
	m := ev.Member
	if ev.Kind == cluster.NodeDown && m.Alive() {
		m.Health = cluster.Critical
	}
	a.publish(ctx, a.b.Update(m))
	if ev.Kind != cluster.NodeUp {
		a.check(ctx)
	}
}

// healthCheck reconciles with the membership, refreshes the gauges and
// rebalances if needed.
func (a *balancerActor) healthCheck(ctx actor.Context) {
	if ms := a.deps.Membership; ms != nil {
		a.publish(ctx, a.b.Sync(ms.Members())...)
	}
	a.b.Distribution()
	a.check(ctx)
}

// check runs a rebalancing round if one is due.
func (a *balancerActor) check(ctx actor.Context) {
	if a.deps.Migrator != nil && a.b.NeedsRebalancing() {
		a.rebalance(ctx)
	}
}

// rebalance runs a round, blocking the mailbox (not placements) while it
// migrates; a round that attempted moves is logged and published.
func (a *balancerActor) rebalance(ctx actor.Context) *Rebalanced {
	if a.deps.Leader != nil && !a.deps.Leader() {
		return &Rebalanced{At: a.b.Config().Clock(), SpreadBefore: a.b.Spread(), SpreadAfter: a.b.Spread(), Skipped: SkipNotLeader}
	}
	r := a.b.Rebalance(context.Background(), a.deps.Migrator)
	if r.Skipped == "" {
		ctx.Logger().Info("loadbalancer: rebalanced", slog.Int("moves", len(r.Moves)),
			slog.Int("failures", len(r.Failures)), slog.Float64("spread_before", r.SpreadBefore),
			slog.Float64("spread_after", r.SpreadAfter))
		for _, f := range r.Failures {
			ctx.Logger().Warn("loadbalancer: migration failed", slog.Any("err", f.Err))
		}
		a.b.Distribution() // refresh the gauges
		ctx.ActorSystem().EventStream.Publish(r)
	}
	return r
}

func (a *balancerActor) publish(ctx actor.Context, changes ...*HealthChanged) {
	for _, c := range changes {
		if c == nil {
			continue
		}
		ctx.Logger().Info("loadbalancer: node health", slog.String("node", c.Node),
			slog.String("from", string(c.From)), slog.String("to", string(c.To)))
		ctx.ActorSystem().EventStream.Publish(c)
	}
}

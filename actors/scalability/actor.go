package scalability

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/scheduler"
	"github.com/otpbox/otpbox/cluster"
	"github.com/otpbox/otpbox/supervision"
)

// ChildID is the supervision child id ChildSpec uses.
const ChildID = "scalability"

// Props returns the props of a manager. Without a supervisor, a manager
// whose deps or config are invalid logs the error and stops at once.
func Props(deps Deps, cfg Config) *actor.Props { return actor.PropsFromProducer(Producer(deps, cfg)) }

// Producer returns a producer of managers, for supervision.Spawn. The
// manager implements supervision.Initializer: invalid deps or config fail
// its start with ErrNoMembership or a *ConfigError.
func Producer(deps Deps, cfg Config) actor.Producer {
	if deps.Clock == nil {
		deps.Clock = time.Now
	}
	return func() actor.Actor { return &manager{deps: deps, cfg: cfg} }
}

// ChildSpec is the manager as a permanent supervised worker with id
// ChildID. A restart cancels the running operations (their goroutines end
// before the old incarnation stops; a node being drained stays draining)
// and starts afresh with cfg: no history, no cooldown, and no change made
// by SetConfig.
func ChildSpec(deps Deps, cfg Config) supervision.ChildSpec {
	return supervision.ChildSpec{ID: ChildID, Start: supervision.Spawn(Producer(deps, cfg))}
}

// manager is the ScalabilityManager actor. Only Receive touches its
// fields, except ops and notified, which its helpers' goroutines use.
type manager struct {
	deps    Deps
	cfg     Config // validated, with defaults, Self set
	metrics *metrics
	log     *slog.Logger
	self    *actor.PID
	root    *actor.RootContext
	timer   scheduler.CancelFunc
	unsub   func()
	// notified is set while a membershipChanged is in the mailbox, so a
	// burst of membership events makes one check.
	notified atomic.Bool

	// opsCtx is the parent of the operations' contexts: the manager has no
	// context of its own to hand its goroutines, so it keeps the one it
	// creates when it starts and cancels it when it stops.
	opsCtx    context.Context
	opsCancel context.CancelFunc
	ops       sync.WaitGroup // the operations' goroutines; waited for on stop

	pending    []*Operation // running, oldest first
	history    []Operation  // finished, oldest first, at most cfg.HistorySize
	lastAction time.Time    // when the last operation finished
	seq        uint64
}

var _ supervision.Initializer = (*manager)(nil)

func (m *manager) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started: // only without a supervisor, which calls Init
		if err := m.Init(ctx); err != nil {
			ctx.Logger().Error("scalability: start", slog.Any("err", err))
			ctx.Stop(ctx.Self())
		}
	case *actor.Stopping:
		m.stop()
	case actor.SystemMessage, actor.AutoReceiveMessage:
	case message:
		if m.metrics == nil { // Init failed; the actor is stopping
			return
		}
		m.receive(ctx, msg)
	default:
		ctx.Logger().Warn("scalability: unknown message", slog.Any("type", msg))
	}
}

// receive handles the manager's own vocabulary, once Init succeeded.
func (m *manager) receive(ctx actor.Context, msg message) {
	switch msg := msg.(type) {
	case *GetClusterStatus:
		ctx.Respond(m.status())
	case *GetOptimalNode:
		ctx.Respond(m.optimalNode(msg.Requirements))
	case *TriggerScaleCheck:
		ctx.Respond(m.check(fromRequest))
	case *Tick:
		m.check(fromTimer)
	case *membershipChanged:
		m.notified.Store(false)
		m.check(fromEvent)
	case *TriggerScaleOut:
		ctx.Respond(m.trigger(ScaleOut, msg.Reason))
	case *TriggerScaleIn:
		ctx.Respond(m.trigger(ScaleIn, msg.Reason))
	case *SetConfig:
		ctx.Respond(&Done{Err: m.setConfig(msg.Config)})
	case *GetConfig:
		ctx.Respond(&ConfigResult{Config: m.cfg})
	case *GetHistory:
		ctx.Respond(&HistoryResult{Operations: cloneOps(m.history)})
	case *opProgress:
		m.progress(msg)
	case *opFinished:
		m.finished(msg)
	default: // replies and events: not for the manager
		m.log.Warn("scalability: unexpected message", slog.Any("type", msg))
	}
}

// Init validates the deps and config, subscribes to the membership and
// starts the periodic check.
func (m *manager) Init(ctx actor.Context) error {
	if m.deps.Membership == nil {
		return ErrNoMembership
	}
	if err := m.cfg.Validate(); err != nil {
		return err
	}
	met, err := newMetrics(m.deps.Registerer)
	if err != nil {
		return fmt.Errorf("scalability: register metrics: %w", err)
	}
	m.cfg = m.complete(m.cfg)
	m.metrics, m.log = met, ctx.Logger()
	m.self, m.root = ctx.Self(), ctx.ActorSystem().Root
	m.opsCtx, m.opsCancel = context.WithCancel(context.Background())
	self, root, notified := m.self, m.root, &m.notified
	m.unsub = m.deps.Membership.Subscribe(func(cluster.Event) {
		if notified.CompareAndSwap(false, true) {
			root.Send(self, &membershipChanged{})
		}
	})
	m.schedule()
	return nil
}

// complete applies defaults and this node's name.
func (m *manager) complete(c Config) Config {
	c = c.withDefaults()
	if c.Self == "" {
		c.Self = m.deps.Membership.Self()
	}
	return c
}

// stop ends everything the manager started: the timer, the membership
// subscription and the operations, whose goroutines it waits for.
func (m *manager) stop() {
	m.stopTimer()
	if m.unsub != nil {
		m.unsub()
		m.unsub = nil
	}
	if m.opsCancel != nil {
		m.opsCancel()
	}
	m.ops.Wait()
	for _, op := range m.pending {
		m.metrics.pending.WithLabelValues(op.Kind.String()).Dec()
		m.metrics.operations.WithLabelValues(op.Kind.String(), "cancelled").Inc()
		m.log.Warn("scalability: operation cancelled", slog.String("id", op.ID), slog.String("kind", op.Kind.String()),
			slog.String("phase", op.Phase))
	}
	m.pending = nil
}

func (m *manager) setConfig(c Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	c = m.complete(c)
	reschedule := c.CheckInterval != m.cfg.CheckInterval
	m.cfg = c
	if n := len(m.history) - c.HistorySize; n > 0 {
		m.history = append([]Operation(nil), m.history[n:]...)
	}
	if reschedule {
		m.schedule()
	}
	return nil
}

func (m *manager) status() *ClusterStatus {
	ms := m.deps.Membership.Members()
	srv := serving(ms)
	u := utilization(srv, nil)
	st := &ClusterStatus{
		TotalNodes:         len(ms),
		CurrentUtilization: u.Max(),
		Utilization:        u,
		PendingOperations:  make([]Operation, 0, len(m.pending)),
		LastScaleAction:    m.lastAction,
		Leader:             leader(ms),
		Self:               m.cfg.Self,
		AutoScalingEnabled: m.cfg.AutoScalingEnabled,
	}
	for _, mb := range ms {
		if mb.Alive() {
			st.ActiveNodes++
			if mb.Load.Draining {
				st.DrainingNodes++
			}
		}
	}
	for _, mb := range srv {
		if mb.Capacity.Slots > 0 {
			st.TotalCapacity += mb.Capacity.Slots
		}
		st.Sandboxes += mb.Load.Sandboxes
	}
	for _, op := range m.pending {
		st.PendingOperations = append(st.PendingOperations, op.clone())
	}
	return st
}

func (m *manager) optimalNode(r Requirements) *OptimalNode {
	ms := m.deps.Membership.Members()
	if name, s, ok := optimal(ms, r, m.deps.Zone); ok {
		return &OptimalNode{Node: name, Score: s}
	}
	// The design casts trigger_scale_out(:no_suitable_node): only when the
	// cluster is full, not when no member could ever fit r.
	srv := serving(ms)
	possible := len(srv) == 0
	for _, mb := range srv {
		possible = possible || fitsEmpty(mb, r)
	}
	if possible && m.cfg.AutoScalingEnabled {
		m.decide(ms, ScaleOut, "no_suitable_node", fromPlacement)
	}
	return &OptimalNode{Err: &NoNodeError{Requirements: r, ScalingOut: m.pendingKind(ScaleOut)}}
}

func (m *manager) schedule() {
	m.stopTimer()
	if m.cfg.CheckInterval <= 0 {
		return
	}
	m.timer = scheduler.NewTimerScheduler(m.root).SendRepeatedly(m.cfg.CheckInterval, m.cfg.CheckInterval, m.self, &Tick{})
}

func (m *manager) stopTimer() {
	if m.timer != nil {
		m.timer()
		m.timer = nil
	}
}

func cloneOps(ops []Operation) []Operation {
	out := make([]Operation, len(ops))
	for i, op := range ops {
		out[i] = op.clone()
	}
	return out
}

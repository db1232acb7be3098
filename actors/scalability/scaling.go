package scalability

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"

	"github.com/otpbox/otpbox/cluster"
)

// Reasons of decisions.
const (
	ReasonImmediate = "immediate_capacity_needed"
	ReasonHigh      = "high_utilization"
	ReasonLow       = "low_utilization"
	ReasonBelowMin  = "below_min_nodes"
	ReasonNoNode    = "no_suitable_node"
	ReasonInBetween = "within_thresholds"
	ReasonManual    = "manual"
	// ReasonNotReady: this node is not (yet, or no longer) alive in the
	// membership, so the view cannot be trusted (a node that just started
	// sees no member at all): no operation.
	ReasonNotReady = "membership_not_ready"
)

// source says what asked for a decision.
type source uint8

const (
	fromTimer     source = iota // Tick
	fromRequest                 // TriggerScaleCheck
	fromEvent                   // a membership event
	fromPlacement               // GetOptimalNode found no node
	fromTrigger                 // TriggerScaleOut, TriggerScaleIn
)

// check is the design's check_and_adjust_capacity: compare the cluster's
// utilization with the thresholds and start what it calls for. A check
// from a membership event acts only at the immediate threshold.
func (m *manager) check(src source) *Decision {
	ms := m.deps.Membership.Members()
	if !slices.ContainsFunc(ms, func(mem cluster.Member) bool { return mem.Name == m.cfg.Self && mem.Alive() }) {
		if src == fromEvent {
			return nil
		}
		return m.decide(ms, 0, ReasonNotReady, src)
	}
	u := utilization(serving(ms), nil).Max()
	m.metrics.utilization.Set(u)
	kind, reason := ScaleOut, ReasonImmediate
	switch {
	case u >= m.cfg.ImmediateThreshold:
	case src == fromEvent:
		return nil
	case m.nodes(ms) < m.cfg.MinNodes:
		reason = ReasonBelowMin
	case u >= m.cfg.ScaleOutThreshold:
		reason = ReasonHigh
	case u <= m.cfg.ScaleInThreshold:
		kind, reason = ScaleIn, ReasonLow
	default:
		kind, reason = 0, ReasonInBetween
	}
	return m.decide(ms, kind, reason, src)
}

// trigger is an explicit TriggerScaleOut or TriggerScaleIn.
func (m *manager) trigger(kind Kind, reason string) *Decision {
	if reason == "" {
		reason = ReasonManual
	}
	return m.decide(m.deps.Membership.Members(), kind, reason, fromTrigger)
}

// decide starts an operation of kind (none: 0) if the policy allows it, and
// publishes the decision unless it came from an event or a placement and
// started nothing.
func (m *manager) decide(ms []cluster.Member, kind Kind, reason string, src source) *Decision {
	d := &Decision{Kind: kind, Reason: reason, Utilization: utilization(serving(ms), nil).Max(), At: m.deps.Clock()}
	switch {
	case kind == 0:
	case !m.cfg.AutoScalingEnabled && src != fromTrigger:
		d.Skipped = ErrDisabled
	default:
		if op, err := m.start(ms, kind, reason, src); err != nil {
			d.Skipped = err
		} else {
			c := op.clone()
			d.Operation = &c
		}
	}
	if d.Operation == nil && (src == fromEvent || src == fromPlacement) {
		return d
	}
	if d.Skipped != nil {
		m.log.Debug("scalability: operation skipped", slog.String("decision", d.String()))
	}
	m.root.ActorSystem().EventStream.Publish(d)
	if d.Operation != nil {
		m.root.ActorSystem().EventStream.Publish(d.Operation)
	}
	return d
}

// nodes counts the nodes that will serve: the serving members not being
// removed.
func (m *manager) nodes(ms []cluster.Member) int {
	removing := m.removing()
	n := 0
	for _, mb := range serving(ms) {
		if !removing[mb.Name] {
			n++
		}
	}
	return n
}

// removing returns the nodes targeted by pending scale-ins.
func (m *manager) removing() map[string]bool {
	r := map[string]bool{}
	for _, op := range m.pending {
		if op.Kind == ScaleIn {
			for _, n := range op.Nodes {
				r[n] = true
			}
		}
	}
	return r
}

func (m *manager) pendingKind(k Kind) bool {
	return slices.ContainsFunc(m.pending, func(op *Operation) bool { return op.Kind == k })
}

// cooling returns ErrCooldown while the last operation finished less than
// Cooldown ago.
func (m *manager) cooling() error {
	if m.cfg.Cooldown <= 0 || m.lastAction.IsZero() {
		return nil
	}
	if left := m.cfg.Cooldown - m.deps.Clock().Sub(m.lastAction); left > 0 {
		return fmt.Errorf("%w: %s left", ErrCooldown, left)
	}
	return nil
}

// start is the design's can_scale_out?/can_scale_in? and
// perform_scale_out/perform_scale_in: it checks leadership, the provider,
// pending operations, the cooldown and the node bounds, then launches the
// operation.
func (m *manager) start(ms []cluster.Member, kind Kind, reason string, src source) (*Operation, error) {
	if l := leader(ms); m.cfg.LeaderOnly && l != "" && l != m.cfg.Self {
		return nil, fmt.Errorf("%w (the leader is %s)", ErrNotLeader, l)
	}
	if m.deps.Provider == nil {
		return nil, ErrNoProvider
	}
	n := m.nodes(ms)
	if kind == ScaleOut {
		if m.pendingKind(ScaleOut) {
			return nil, fmt.Errorf("%w: %s", ErrPending, ScaleOut)
		}
		if reason != ReasonImmediate {
			if err := m.cooling(); err != nil {
				return nil, err
			}
		}
		want := m.cfg.ScaleOutStep
		if reason == ReasonBelowMin {
			want = max(m.cfg.MinNodes-n, 1)
		}
		count := min(want, m.cfg.MaxNodes-n)
		if count <= 0 {
			return nil, fmt.Errorf("%w: %d of %d", ErrMaxNodes, n, m.cfg.MaxNodes)
		}
		op := m.newOp(ScaleOut, reason, count, nil)
		p, members, join := m.deps.Provider, m.deps.Membership, m.cfg.JoinTimeout
		m.launch(op, func(ctx context.Context, report reportFunc) ([]string, error) {
			return runScaleOut(ctx, report, p, members, count, join)
		})
		return op, nil
	}

	if m.deps.Migrator == nil {
		return nil, ErrNoMigrator
	}
	if len(m.pending) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrPending, m.pending[0].Kind)
	}
	if err := m.cooling(); err != nil {
		return nil, err
	}
	count := min(m.cfg.ScaleInStep, n-m.cfg.MinNodes)
	if count <= 0 {
		return nil, fmt.Errorf("%w: %d of %d", ErrMinNodes, n, m.cfg.MinNodes)
	}
	srv := serving(ms)
	cands := slices.DeleteFunc(slices.Clone(srv), func(mb cluster.Member) bool { return mb.Name == m.cfg.Self })
	// The design's identify_nodes_for_removal: fewest sandboxes first.
	slices.SortFunc(cands, func(a, b cluster.Member) int {
		return cmp.Or(cmp.Compare(a.Load.Sandboxes, b.Load.Sandboxes), cmp.Compare(a.Name, b.Name))
	})
	chosen := make([]string, 0, count)
	without := map[string]bool{}
	for _, mb := range cands[:min(count, len(cands))] {
		chosen = append(chosen, mb.Name)
		without[mb.Name] = true
	}
	if src != fromTrigger {
		if u := utilization(srv, without).Max(); u >= m.cfg.ScaleOutThreshold {
			return nil, fmt.Errorf("%w: %.2f without %v", ErrWouldOverload, u, chosen)
		}
	}
	op := m.newOp(ScaleIn, reason, len(chosen), chosen)
	p, mig, members, drain := m.deps.Provider, m.deps.Migrator, m.deps.Membership, m.cfg.DrainTimeout
	m.launch(op, func(ctx context.Context, report reportFunc) ([]string, error) {
		return runScaleIn(ctx, report, p, mig, members, chosen, drain)
	})
	return op, nil
}

func (m *manager) newOp(kind Kind, reason string, count int, nodes []string) *Operation {
	var b [6]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand, Go ≥ 1.24)
	m.seq++
	op := &Operation{ID: fmt.Sprintf("%s-%d-%s", kind, m.seq, hex.EncodeToString(b[:])), Kind: kind, Reason: reason,
		Count: count, Nodes: slices.Clone(nodes), State: Running, StartedAt: m.deps.Clock()}
	m.pending = append(m.pending, op)
	m.metrics.pending.WithLabelValues(kind.String()).Inc()
	m.log.Info("scalability: operation started", slog.String("id", op.ID), slog.String("kind", kind.String()),
		slog.String("reason", reason), slog.Int("count", count), slog.Any("nodes", nodes))
	return op
}

package scalability

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/otpbox/otpbox/cluster"
)

// recheck is how often a wait on the membership looks again without an
// event, in case an implementation does not report every load change.
const recheck = time.Second

// reportFunc tells the manager an operation's new phase and, when not nil,
// its nodes so far (added by a scale-out, removed by a scale-in).
type reportFunc func(phase string, nodes []string)

// launch runs op's work on a goroutine the manager owns: it gets a context
// cancelled when the manager stops or OperationTimeout passes, reports
// progress and its end as messages, and is waited for in stop. A panic in
// the work fails the operation.
func (m *manager) launch(op *Operation, work func(ctx context.Context, report reportFunc) ([]string, error)) {
	ctx, cancel := context.WithTimeout(m.opsCtx, m.cfg.OperationTimeout)
	root, self, id, wg := m.root, m.self, op.ID, &m.ops
	report := func(phase string, nodes []string) {
		root.Send(self, &opProgress{id: id, phase: phase, nodes: slices.Clone(nodes)})
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer cancel()
		nodes, err := func() (nodes []string, err error) {
			defer func() {
				if v := recover(); v != nil {
					err = fmt.Errorf("scalability: operation panicked: %v\n%s", v, debug.Stack())
				}
			}()
			return work(ctx, report)
		}()
		root.Send(self, &opFinished{id: id, nodes: nodes, err: err})
	}()
}

func (m *manager) find(id string) (int, *Operation) {
	for i, op := range m.pending {
		if op.ID == id {
			return i, op
		}
	}
	return -1, nil
}

func (m *manager) progress(p *opProgress) {
	_, op := m.find(p.id)
	if op == nil {
		return
	}
	op.Phase = p.phase
	if p.nodes != nil {
		op.setNodes(p.nodes)
	}
	m.publish(op)
}

func (op *Operation) setNodes(nodes []string) {
	if op.Kind == ScaleOut {
		op.Nodes = nodes
	} else {
		op.Removed = nodes
	}
}

func (m *manager) finished(f *opFinished) {
	i, op := m.find(f.id)
	if op == nil {
		return
	}
	m.pending = slices.Delete(m.pending, i, i+1)
	op.FinishedAt = m.deps.Clock()
	op.Phase = ""
	if f.nodes != nil {
		op.setNodes(f.nodes)
	}
	op.State = Succeeded
	log := m.log.Info
	if f.err != nil {
		op.State, op.Error, log = Failed, f.err.Error(), m.log.Warn
	}
	m.lastAction = op.FinishedAt
	m.history = append(m.history, op.clone())
	if n := len(m.history) - m.cfg.HistorySize; n > 0 {
		m.history = slices.Delete(m.history, 0, n)
	}
	kind := op.Kind.String()
	m.metrics.pending.WithLabelValues(kind).Dec()
	m.metrics.operations.WithLabelValues(kind, op.State.String()).Inc()
	m.metrics.duration.WithLabelValues(kind).Observe(op.Duration().Seconds())
	log("scalability: operation "+op.State.String(), slog.String("id", op.ID), slog.String("kind", kind),
		slog.Any("nodes", op.Nodes), slog.Any("removed", op.Removed), slog.Duration("took", op.Duration()),
		slog.String("err", op.Error))
	m.publish(op)
}

// publish puts a copy of op on the EventStream.
func (m *manager) publish(op *Operation) {
	c := op.clone()
	m.root.ActorSystem().EventStream.Publish(&c)
}

// runScaleOut is the design's execute_scale_out: add n nodes, then wait
// until they are alive in the membership (unless join ≤ 0 or the provider
// named none).
func runScaleOut(ctx context.Context, report reportFunc, p Provider, ms cluster.Membership, n int, join time.Duration) ([]string, error) {
	report(fmt.Sprintf("adding %d", n), nil)
	names, err := p.AddNodes(ctx, n)
	if err != nil {
		return names, fmt.Errorf("add %d nodes: %w", n, err)
	}
	if join <= 0 || len(names) == 0 {
		return names, nil
	}
	report("joining "+strings.Join(names, ", "), names)
	var missing []string
	err = await(ctx, ms, join, func(members []cluster.Member) bool {
		missing = missing[:0]
		for _, name := range names {
			if !slices.ContainsFunc(members, func(mb cluster.Member) bool { return mb.Name == name && mb.Alive() }) {
				missing = append(missing, name)
			}
		}
		return len(missing) == 0
	})
	if errors.Is(err, errWaitTimeout) {
		return names, fmt.Errorf("%w after %s: %s", ErrJoinTimeout, join, strings.Join(missing, ", "))
	}
	return names, err
}

// runScaleIn is the design's execute_scale_in: for each node in turn,
// drain it through the migrator, wait until the membership shows it with
// no sandboxes (or gone, or dead), and only then remove it.
func runScaleIn(ctx context.Context, report reportFunc, p Provider, mig cluster.Migrator, ms cluster.Membership,
	nodes []string, drain time.Duration) ([]string, error) {
	var removed []string
	for _, node := range nodes {
		report("draining "+node, nil)
		if err := mig.Drain(ctx, node); err != nil {
			return removed, fmt.Errorf("drain %s: %w", node, err)
		}
		report("waiting for "+node+" to empty", nil)
		left := 0
		err := await(ctx, ms, drain, func(members []cluster.Member) bool {
			i := slices.IndexFunc(members, func(mb cluster.Member) bool { return mb.Name == node })
			if i < 0 || !members[i].Alive() {
				return true // gone: its sandboxes reactivate elsewhere
			}
			left = members[i].Load.Sandboxes
			return left == 0
		})
		if errors.Is(err, errWaitTimeout) {
			return removed, fmt.Errorf("%w: %s still has %d sandboxes after %s", ErrDrainTimeout, node, left, drain)
		}
		if err != nil {
			return removed, err
		}
		report("removing "+node, nil)
		if err := p.RemoveNode(ctx, node); err != nil {
			return removed, fmt.Errorf("remove %s: %w", node, err)
		}
		removed = append(removed, node)
		report("removed "+node, removed)
	}
	return removed, nil
}

var errWaitTimeout = errors.New("scalability: wait timed out")

// await returns nil once cond holds for the membership's members, checking
// at once, on every membership event and every recheck; errWaitTimeout
// after timeout, or ctx's error.
func await(ctx context.Context, ms cluster.Membership, timeout time.Duration, cond func([]cluster.Member) bool) error {
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	changed := make(chan struct{}, 1)
	unsubscribe := ms.Subscribe(func(cluster.Event) {
		select {
		case changed <- struct{}{}:
		default:
		}
	})
	defer unsubscribe()
	tick := time.NewTicker(recheck)
	defer tick.Stop()
	for {
		if cond(ms.Members()) {
			return nil
		}
		select {
		case <-changed:
		case <-tick.C:
		case <-wctx.Done():
			if err := ctx.Err(); err != nil {
				return err
			}
			return errWaitTimeout
		}
	}
}

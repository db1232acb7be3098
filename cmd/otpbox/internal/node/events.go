package node

import (
	"context"
	"time"

	"github.com/otpbox/otpbox/actors/scalability"
	"github.com/otpbox/otpbox/cluster"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/server"
)

// The node's event stream (GET /v1/events): what this node sees, pushed
// where it happens (its sandboxes' lifecycle, placements, drains and
// rebalances asked of it) and, for what the performance actors and the
// membership only keep as state, the differences of that state each
// second (members joining, leaving or changing health, finished scaling
// operations, memory actions).

// publish puts e on the node's bus, with the time and this node's name
// where e has none.
func (n *Node) publish(e server.NodeEvent) {
	if n.events == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	if e.Node == "" {
		e.Node = n.cfg.Node
	}
	n.events.Publish(e)
}

// placing wraps the LoadBalancer's placer: each placement is an event.
type placing struct {
	cluster.Placer
	n *Node
}

func (p placing) Place(ctx context.Context, identity string, candidates []cluster.Member) (string, error) {
	node, err := p.Placer.Place(ctx, identity, candidates)
	if err == nil {
		p.n.publish(server.NodeEvent{Type: "placement", Sandbox: identity, Node: node})
	}
	return node, err
}

// startObserving starts the goroutine that turns the changes of the
// membership, the scaling history and the memory actions into events; it
// stops with the node (close).
func (n *Node) startObserving() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.observe(ctx)
	}()
	n.stopObserving = func() {
		cancel()
		<-done
	}
}

func (n *Node) observe(ctx context.Context) {
	members := map[string]cluster.Member{}
	ops := map[string]scalability.State{}
	var memAt time.Time
	first := true
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		n.observeMembers(members, first)
		n.observeScaling(ctx, ops, first)
		memAt = n.observeMemory(ctx, memAt, first)
		first = false
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (n *Node) observeMembers(seen map[string]cluster.Member, quiet bool) {
	now := map[string]bool{}
	for _, m := range n.members.Members() {
		now[m.Name] = true
		old, had := seen[m.Name]
		seen[m.Name] = m
		switch {
		case quiet:
		case !had:
			n.publish(server.NodeEvent{Type: "member", Change: "joined", Node: m.Name, Health: string(m.Health)})
		case old.Health != m.Health || old.Load.Draining != m.Load.Draining:
			e := server.NodeEvent{Type: "member", Change: "health", Node: m.Name, Health: string(m.Health)}
			if m.Load.Draining {
				e.Status, e.Reason = "draining", "the member is draining: it takes no new sandboxes"
			}
			n.publish(e)
		}
	}
	for name, m := range seen {
		if !now[name] {
			delete(seen, name)
			n.publish(server.NodeEvent{Type: "member", Change: "left", Node: name, Health: string(m.Health)})
		}
	}
}

func (n *Node) observeScaling(ctx context.Context, seen map[string]scalability.State, quiet bool) {
	pid, err := n.child(scalability.ChildID)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	hist, err := scalability.NewClient(n.system.Root, pid).History(ctx)
	if err != nil {
		return
	}
	for _, op := range hist {
		if st, ok := seen[op.ID]; ok && st == op.State {
			continue
		}
		seen[op.ID] = op.State
		if !quiet {
			n.publish(server.NodeEvent{Type: "scaling", Change: op.State.String(), Operation: op})
		}
	}
}

func (n *Node) observeMemory(ctx context.Context, after time.Time, quiet bool) time.Time {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	st, err := memoryAPI{n}.GetMemoryStats(ctx)
	if err != nil {
		return after
	}
	for _, a := range st.LastActions {
		if !a.At.After(after) {
			continue
		}
		after = a.At
		if !quiet {
			n.publish(server.NodeEvent{Type: "memory", Kind: a.Kind, Detail: a.Detail, Time: a.At.UTC()})
		}
	}
	return after
}

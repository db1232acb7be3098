package consul

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/otpbox/otpbox/cluster"
)

// watch follows the cluster's service with blocking queries until ctx is
// done, updating the view and publishing the differences as events. A
// failed query is retried with backoff and keeps the previous view.
func (p *Provider) watch(ctx context.Context) {
	bo := backoff{min: minBackoff, max: maxBackoff}
	timer := time.NewTimer(0)
	defer timer.Stop()
	var index uint64
	var failing error
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		began := time.Now()
		entries, meta, err := p.query(ctx, index)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			if failing == nil {
				p.log.Warn("consul: watch failing, keeping the last view and retrying with backoff", slog.Any("error", err))
			}
			failing = err
			// The agent may come back with a new, smaller index (a restart):
			// start over rather than block until the old index is reached.
			index = 0
			timer.Reset(bo.next())
			continue
		}
		if failing != nil {
			p.log.Info("consul: watch ok again")
		}
		failing = nil
		bo.reset()
		index = nextIndex(index, meta.LastIndex)
		p.apply(entries)
		// At most one query per minWatchInterval: a busy cluster's changes
		// are batched, and a query that keeps returning at once (Consul's
		// advice: rate-limit blocking queries) cannot spin.
		timer.Reset(minWatchInterval - time.Since(began))
	}
}

// query runs one blocking query. Consul answers within watchWait plus a
// sixteenth of it; a query that takes much longer is abandoned (a hung
// agent or a dead connection) and retried.
func (p *Provider) query(ctx context.Context, index uint64) ([]*api.ServiceEntry, *api.QueryMeta, error) {
	ctx, cancel := context.WithTimeout(ctx, watchWait+watchWait/16+watchGrace)
	defer cancel()
	q := (&api.QueryOptions{WaitIndex: index, WaitTime: watchWait}).WithContext(ctx)
	return p.health.Service(p.cfg.Cluster, "", false, q)
}

// nextIndex returns the WaitIndex for the query after one that returned
// last, following Consul's advice for blocking queries: start over (0) when
// the index went backwards, and never block on 0 (which returns at once).
func nextIndex(prev, last uint64) uint64 {
	switch {
	case last < prev:
		return 0
	case last == 0:
		return 1
	}
	return last
}

// apply replaces the view with entries and publishes the differences.
// Only the watch goroutine calls it, so events stay in order.
func (p *Provider) apply(entries []*api.ServiceEntry) {
	now := p.cfg.Now()
	next := make(map[string]cluster.Member, len(entries))
	for _, e := range entries {
		m, ok := toMember(e)
		if !ok {
			continue
		}
		if seen, dup := next[m.Name]; dup && rank(seen.Health) <= rank(m.Health) {
			continue // same id on two agents: keep the healthier entry
		}
		next[m.Name] = m
	}
	p.mu.Lock()
	prev := p.members
	for name, m := range next {
		if old, ok := prev[name]; ok && old.Health == m.Health {
			m.Since = old.Since
		} else {
			m.Since = now
		}
		next[name] = m
	}
	p.members = next
	p.mu.Unlock()
	p.events.publish(diff(prev, next, now))
}

// toMember converts a health entry to a Member (without Since).
func toMember(e *api.ServiceEntry) (cluster.Member, bool) {
	s := e.Service
	if s == nil || s.ID == "" {
		return cluster.Member{}, false
	}
	host := s.Address
	if host == "" && e.Node != nil {
		host = e.Node.Address
	}
	m := cluster.Member{
		Name:    s.ID,
		Address: fmtAddress(host, s.Port),
		API:     s.Meta[MetaAPI],
		Zone:    s.Meta[MetaZone],
		Health:  health(e.Checks),
		Capacity: cluster.Capacity{
			Slots:       atoi(s.Meta[MetaSlots]),
			MemoryBytes: atou64(s.Meta[MetaMemoryBytes]),
			CPUs:        atoi(s.Meta[MetaCPUs]),
		},
	}
	ttl := "otpbox:" + s.ID + ":ttl"
	for _, c := range e.Checks {
		if c.ServiceID == s.ID && (c.CheckID == ttl || strings.Contains(c.Output, loadPrefix)) {
			if l, ok := parseLoad(c.Output); ok {
				m.Load = l
				if c.CheckID == ttl {
					break
				}
			}
		}
	}
	return m, true
}

// health is the worst status of the service's own checks: node-level
// checks (serfHealth, node maintenance) are ignored, so a sick agent does
// not take every member on its node down with it. An unknown status (such
// as "maintenance") counts as critical; no service checks is passing.
func health(checks api.HealthChecks) cluster.Health {
	worst := cluster.Passing
	for _, c := range checks {
		if c.ServiceID == "" {
			continue
		}
		var h cluster.Health
		switch c.Status {
		case api.HealthPassing:
			h = cluster.Passing
		case api.HealthWarning:
			h = cluster.Warning
		default:
			h = cluster.Critical
		}
		if rank(h) > rank(worst) {
			worst = h
		}
	}
	return worst
}

// rank orders healths from best to worst.
func rank(h cluster.Health) int {
	switch h {
	case cluster.Passing:
		return 0
	case cluster.Warning:
		return 1
	}
	return 2
}

// diff returns the events that lead from prev to next, by member name:
// NodeUp when a member becomes alive or appears alive, NodeDown when an
// alive member turns critical or disappears, NodeUpdated when an alive
// member's health, load, capacity or addresses change.
func diff(prev, next map[string]cluster.Member, now time.Time) []cluster.Event {
	var evs []cluster.Event
	for _, name := range sortedNames(prev, next) {
		old, had := prev[name]
		m, has := next[name]
		wasAlive := had && old.Alive()
		switch {
		case !has:
			if wasAlive {
				old.Health, old.Since = cluster.Critical, now
				evs = append(evs, cluster.Event{Kind: cluster.NodeDown, Member: old})
			}
		case m.Alive() && !wasAlive:
			evs = append(evs, cluster.Event{Kind: cluster.NodeUp, Member: m})
		case !m.Alive() && wasAlive:
			evs = append(evs, cluster.Event{Kind: cluster.NodeDown, Member: m})
		case m.Alive() && changed(old, m):
			evs = append(evs, cluster.Event{Kind: cluster.NodeUpdated, Member: m})
		}
	}
	return evs
}

func changed(a, b cluster.Member) bool {
	return a.Health != b.Health || a.Load != b.Load || a.Capacity != b.Capacity ||
		a.Address != b.Address || a.API != b.API
}

func sortedNames(a, b map[string]cluster.Member) []string {
	names := make([]string, 0, len(a)+len(b))
	for n := range a {
		names = append(names, n)
	}
	for n := range b {
		if _, ok := a[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func atou64(s string) uint64 {
	n, _ := strconv.ParseUint(s, 10, 64)
	return n
}

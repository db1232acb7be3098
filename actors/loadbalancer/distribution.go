package loadbalancer

// Distribution returns the current load distribution (the design's
// get_load_distribution) and refreshes the gauges of Metrics.
func (b *Balancer) Distribution() *Distribution {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.distribution()
}

// Spread returns the current load spread among alive nodes; see
// Distribution.Spread.
func (b *Balancer) Spread() float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return spread(b.order)
}

func (b *Balancer) distribution() *Distribution {
	d := &Distribution{Strategy: b.cfg.Strategy, Threshold: b.cfg.RebalanceThreshold,
		Spread: spread(b.order), At: b.cfg.Clock(), Nodes: make([]NodeLoad, 0, len(b.order))}
	total := 0
	for _, n := range b.order {
		if n.counted() {
			total += n.sandboxes()
		}
	}
	for _, n := range b.order {
		nl := NodeLoad{Node: n.name, Health: n.health, Accepts: n.accepts(), Sandboxes: n.sandboxes(),
			Weight: n.weight(), Load: n.perWeight(), Placed: n.placed, Capacity: n.capacity, Metrics: n.load,
			ReportedAt: n.reportedAt}
		if n.counted() && total > 0 {
			nl.Share = float64(nl.Sandboxes) / float64(total)
			nl.Percentage = 100 * nl.Share
		}
		d.Nodes = append(d.Nodes, nl)
		b.metrics.load.WithLabelValues(n.name).Set(nl.Load)
		accepts := 0.0
		if nl.Accepts {
			accepts = 1
		}
		b.metrics.accepts.WithLabelValues(n.name).Set(accepts)
	}
	b.metrics.spread.Set(d.Spread)
	return d
}

// spread is (max − min) / max of sandboxes per weight over the nodes that
// count (alive, not draining); 0 with fewer than two or no sandboxes.
func spread(nodes []*node) float64 {
	lo, hi, k := 0.0, 0.0, 0
	for _, n := range nodes {
		if !n.counted() {
			continue
		}
		l := n.perWeight()
		if k == 0 || l < lo {
			lo = l
		}
		if k == 0 || l > hi {
			hi = l
		}
		k++
	}
	if k < 2 || hi == 0 {
		return 0
	}
	return (hi - lo) / hi
}

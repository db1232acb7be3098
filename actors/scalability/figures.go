package scalability

import (
	"cmp"
	"slices"

	"github.com/otpbox/otpbox/cluster"
)

// Placement weights, the design's calculate_node_suitability_score.
const (
	weightMemory   = 0.3
	weightCPU      = 0.3
	weightLoad     = 0.3
	weightLocality = 0.1
)

// serving returns the members that carry load: alive and not draining.
func serving(ms []cluster.Member) []cluster.Member {
	return slices.DeleteFunc(slices.Clone(ms), func(m cluster.Member) bool { return !m.Alive() || m.Load.Draining })
}

// leader returns the alive member with the smallest name, the design's
// determine_cluster_leader ("" when none is alive).
func leader(ms []cluster.Member) string {
	l := ""
	for _, m := range ms {
		if m.Alive() && (l == "" || m.Name < l) {
			l = m.Name
		}
	}
	return l
}

// utilization returns the utilization of ms (see Utilization) if the
// members named in without left and their load spread over the others.
func utilization(ms []cluster.Member, without map[string]bool) Utilization {
	if len(ms) == 0 {
		return Utilization{}
	}
	var boxes, slots, memUsed, memCap, memAll, memSum, cpuUsed, cpuCap, cpuAll, cpuSum float64
	left := 0
	for _, m := range ms {
		mem, cpu := clamp(m.Load.Memory), clamp(m.Load.CPU)
		memSum += mem
		cpuSum += cpu
		memUsed += mem * float64(m.Capacity.MemoryBytes)
		cpuUsed += cpu * float64(m.Capacity.CPUs)
		memAll += float64(m.Capacity.MemoryBytes)
		cpuAll += float64(m.Capacity.CPUs)
		if m.Capacity.Slots > 0 {
			boxes += float64(m.Load.Sandboxes)
		}
		if without[m.Name] {
			continue
		}
		left++
		memCap += float64(m.Capacity.MemoryBytes)
		cpuCap += float64(m.Capacity.CPUs)
		if m.Capacity.Slots > 0 {
			slots += float64(m.Capacity.Slots)
		}
	}
	return Utilization{
		Sandboxes: ratio(boxes, slots),
		Memory:    weighted(memUsed, memCap, memAll, memSum, left),
		CPU:       weighted(cpuUsed, cpuCap, cpuAll, cpuSum, left),
	}
}

// ratio is used/capacity in 0..1; 1 when something is used of nothing.
func ratio(used, capacity float64) float64 {
	if capacity > 0 {
		return clamp(used / capacity)
	}
	if used > 0 {
		return 1
	}
	return 0
}

// weighted is the capacity-weighted mean of a load fraction (used over the
// capacity left), or, when no member reports the capacity (all is 0), the
// plain mean of sum over the left members.
func weighted(used, capacity, all, sum float64, left int) float64 {
	if all > 0 {
		return ratio(used, capacity)
	}
	if left == 0 {
		return ratio(sum, 0)
	}
	return clamp(sum / float64(left))
}

func clamp(f float64) float64 {
	switch {
	case f > 1:
		return 1
	case f > 0:
		return f
	}
	return 0 // negative or NaN
}

// free is what a member has left, as amounts and as fractions of its
// capacity. Unknown capacity (0) is a fraction from the load alone and an
// amount of 0.
type free struct {
	memory, cpu             float64 // bytes, cores
	memFrac, cpuFrac, slots float64 // 0..1
	slotsLeft               int     // -1: unbounded
}

func freeOf(m cluster.Member) free {
	f := free{memFrac: 1 - clamp(m.Load.Memory), cpuFrac: 1 - clamp(m.Load.CPU), slots: 1, slotsLeft: -1}
	if c := m.Capacity.MemoryBytes; c > 0 {
		used := min(m.Load.MemoryBytes, c)
		f.memory = float64(c - used)
		f.memFrac = f.memory / float64(c)
	}
	if c := m.Capacity.CPUs; c > 0 {
		f.cpu = float64(c) * f.cpuFrac
	}
	if c := m.Capacity.Slots; c > 0 {
		f.slotsLeft = max(c-m.Load.Sandboxes, 0)
		f.slots = float64(f.slotsLeft) / float64(c)
	}
	return f
}

// fits reports whether m accepts sandboxes and has room for r: a free slot
// (or unbounded slots), r.MemoryBytes free and r.CPU cores idle. A member
// whose memory or CPU capacity is unknown fits only requirements of 0.
func fits(m cluster.Member, r Requirements) bool {
	if !m.Accepts() {
		return false
	}
	f := freeOf(m)
	return f.slotsLeft != 0 &&
		(r.MemoryBytes == 0 || f.memory >= float64(r.MemoryBytes)) &&
		(r.CPU <= 0 || f.cpu >= r.CPU)
}

// fitsEmpty reports whether m's capacity could take r at all.
func fitsEmpty(m cluster.Member, r Requirements) bool {
	return (r.MemoryBytes == 0 || m.Capacity.MemoryBytes >= r.MemoryBytes) &&
		(r.CPU <= 0 || float64(m.Capacity.CPUs) >= r.CPU)
}

// score is the design's suitability score, 0..1: free memory, idle CPU and
// free slots as fractions of capacity, weighted 0.3 each, and locality
// (1 when r.Locality is m's name or zone) weighted 0.1.
func score(m cluster.Member, r Requirements, zone func(cluster.Member) string) float64 {
	f := freeOf(m)
	loc := 0.0
	if r.Locality != "" && (m.Name == r.Locality || (zone != nil && zone(m) == r.Locality)) {
		loc = 1
	}
	return weightMemory*f.memFrac + weightCPU*f.cpuFrac + weightLoad*f.slots + weightLocality*loc
}

// optimal returns the member of ms that fits r with the highest score, the
// smallest name among equals; ok is false when none fits.
func optimal(ms []cluster.Member, r Requirements, zone func(cluster.Member) string) (name string, best float64, ok bool) {
	ms = slices.SortedFunc(slices.Values(ms), func(a, b cluster.Member) int { return cmp.Compare(a.Name, b.Name) })
	for _, m := range ms {
		if !fits(m, r) {
			continue
		}
		if s := score(m, r, zone); !ok || s > best {
			name, best, ok = m.Name, s, true
		}
	}
	return name, best, ok
}

package scalability

import (
	"testing"

	"github.com/otpbox/otpbox/cluster"
	"github.com/stretchr/testify/assert"
)

func TestUtilization(t *testing.T) {
	m := func(name string, slots, boxes int, memCap uint64, mem float64, cpus int, cpu float64) cluster.Member {
		return cluster.Member{Name: name, Health: cluster.Passing,
			Capacity: cluster.Capacity{Slots: slots, MemoryBytes: memCap, CPUs: cpus},
			Load:     cluster.Load{Sandboxes: boxes, Memory: mem, CPU: cpu}}
	}
	for _, tc := range []struct {
		name    string
		ms      []cluster.Member
		without map[string]bool
		want    Utilization
	}{
		{name: "empty"},
		{name: "weighted by capacity",
			ms:   []cluster.Member{m("a", 10, 5, 4, 0.5, 2, 1), m("b", 30, 5, 12, 0.1, 6, 0)},
			want: Utilization{Sandboxes: 10.0 / 40, Memory: (2 + 1.2) / 16, CPU: 2.0 / 8}},
		{name: "unknown capacity: plain mean",
			ms:   []cluster.Member{m("a", 0, 5, 0, 0.5, 0, 0.2), m("b", 0, 7, 0, 0.1, 0, 0.4)},
			want: Utilization{Sandboxes: 0, Memory: 0.3, CPU: 0.3}},
		{name: "projected without b",
			ms:      []cluster.Member{m("a", 10, 2, 8, 0.25, 4, 0.25), m("b", 10, 2, 8, 0.25, 4, 0.25)},
			without: map[string]bool{"b": true},
			want:    Utilization{Sandboxes: 0.4, Memory: 0.5, CPU: 0.5}},
		{name: "projected without all bounded",
			ms:      []cluster.Member{m("a", 10, 2, 8, 0.25, 4, 0.25)},
			without: map[string]bool{"a": true},
			want:    Utilization{Sandboxes: 1, Memory: 1, CPU: 1}},
		{name: "clamped",
			ms:   []cluster.Member{m("a", 10, 20, 8, 1.5, 4, -1)},
			want: Utilization{Sandboxes: 1, Memory: 1, CPU: 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := utilization(tc.ms, tc.without)
			assert.InDelta(t, tc.want.Sandboxes, got.Sandboxes, 1e-9, "sandboxes")
			assert.InDelta(t, tc.want.Memory, got.Memory, 1e-9, "memory")
			assert.InDelta(t, tc.want.CPU, got.CPU, 1e-9, "cpu")
		})
	}
}

func TestScore(t *testing.T) {
	mb := cluster.Member{Name: "a", Health: cluster.Passing,
		Capacity: cluster.Capacity{Slots: 10, MemoryBytes: 1000, CPUs: 4},
		Load:     cluster.Load{Sandboxes: 4, MemoryBytes: 250, Memory: 0.25, CPU: 0.5}}
	assert.InDelta(t, 0.3*0.75+0.3*0.5+0.3*0.6, score(mb, Requirements{}, nil), 1e-9)
	assert.InDelta(t, 0.3*0.75+0.3*0.5+0.3*0.6+0.1, score(mb, Requirements{Locality: "a"}, nil), 1e-9)
	assert.True(t, fits(mb, Requirements{MemoryBytes: 750, CPU: 2}))
	assert.False(t, fits(mb, Requirements{MemoryBytes: 751}))
	assert.False(t, fits(mb, Requirements{CPU: 2.01}))
	unknown := mb
	unknown.Capacity = cluster.Capacity{}
	assert.True(t, fits(unknown, Requirements{}), "unbounded, unknown capacity")
	assert.False(t, fits(unknown, Requirements{MemoryBytes: 1}), "cannot prove it fits")
	assert.InDelta(t, 0.3*0.75+0.3*0.5+0.3*1, score(unknown, Requirements{}, nil), 1e-9)
}

package consul

import (
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/stretchr/testify/assert"

	"github.com/otpbox/otpbox/cluster"
)

func TestHealthIgnoresNodeChecks(t *testing.T) {
	check := func(service, status string) *api.HealthCheck {
		return &api.HealthCheck{ServiceID: service, Status: status}
	}
	tests := []struct {
		name   string
		checks api.HealthChecks
		want   cluster.Health
	}{
		{"no checks", nil, cluster.Passing},
		{"all passing", api.HealthChecks{check("n1", "passing"), check("n1", "passing")}, cluster.Passing},
		{"warning wins over passing", api.HealthChecks{check("n1", "passing"), check("n1", "warning")}, cluster.Warning},
		{"critical wins", api.HealthChecks{check("n1", "critical"), check("n1", "warning")}, cluster.Critical},
		{"sick agent ignored", api.HealthChecks{check("", "critical"), check("n1", "passing")}, cluster.Passing},
		{"maintenance is critical", api.HealthChecks{check("n1", "maintenance")}, cluster.Critical},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { assert.Equal(t, tt.want, health(tt.checks)) })
	}
}

func TestNextIndex(t *testing.T) {
	tests := []struct {
		name             string
		prev, last, want uint64
	}{
		{"first", 0, 42, 42},
		{"forward", 42, 50, 50},
		{"same", 42, 42, 42},
		{"backwards resets", 50, 13, 0},
		{"zero never blocks on zero", 0, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { assert.Equal(t, tt.want, nextIndex(tt.prev, tt.last)) })
	}
}

func TestDiff(t *testing.T) {
	now := time.Unix(100, 0)
	m := func(name string, h cluster.Health, sandboxes int) cluster.Member {
		return cluster.Member{Name: name, Address: "127.0.0.1:1", Health: h, Load: cluster.Load{Sandboxes: sandboxes}}
	}
	view := func(ms ...cluster.Member) map[string]cluster.Member {
		v := make(map[string]cluster.Member)
		for _, m := range ms {
			v[m.Name] = m
		}
		return v
	}
	type ev struct {
		kind cluster.EventKind
		name string
		h    cluster.Health
	}
	tests := []struct {
		name       string
		prev, next map[string]cluster.Member
		want       []ev
	}{
		{"appear alive", view(), view(m("a", cluster.Passing, 0), m("b", cluster.Warning, 0)),
			[]ev{{cluster.NodeUp, "a", cluster.Passing}, {cluster.NodeUp, "b", cluster.Warning}}},
		{"appear critical is silent", view(), view(m("a", cluster.Critical, 0)), nil},
		{"turn critical", view(m("a", cluster.Passing, 0)), view(m("a", cluster.Critical, 0)),
			[]ev{{cluster.NodeDown, "a", cluster.Critical}}},
		{"disappear", view(m("a", cluster.Warning, 0)), view(),
			[]ev{{cluster.NodeDown, "a", cluster.Critical}}},
		{"disappear while critical is silent", view(m("a", cluster.Critical, 0)), view(), nil},
		{"recover", view(m("a", cluster.Critical, 0)), view(m("a", cluster.Passing, 0)),
			[]ev{{cluster.NodeUp, "a", cluster.Passing}}},
		{"overloaded", view(m("a", cluster.Passing, 0)), view(m("a", cluster.Warning, 0)),
			[]ev{{cluster.NodeUpdated, "a", cluster.Warning}}},
		{"load", view(m("a", cluster.Passing, 0)), view(m("a", cluster.Passing, 1)),
			[]ev{{cluster.NodeUpdated, "a", cluster.Passing}}},
		{"unchanged", view(m("a", cluster.Passing, 1)), view(m("a", cluster.Passing, 1)), nil},
		{"sorted by name", view(m("c", cluster.Passing, 0), m("a", cluster.Passing, 0)), view(m("b", cluster.Passing, 0), m("a", cluster.Critical, 0)),
			[]ev{{cluster.NodeDown, "a", cluster.Critical}, {cluster.NodeUp, "b", cluster.Passing}, {cluster.NodeDown, "c", cluster.Critical}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []ev
			for _, e := range diff(tt.prev, tt.next, now) {
				got = append(got, ev{e.Kind, e.Member.Name, e.Member.Health})
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestToMember(t *testing.T) {
	load := cluster.Load{Sandboxes: 5, CPU: 0.5}
	e := &api.ServiceEntry{
		Node: &api.Node{Address: "10.0.0.9"},
		Service: &api.AgentService{ID: "n1", Port: 7000, Meta: map[string]string{
			"api": "http://10.0.0.9:4000", "slots": "100", "memory_bytes": "1073741824", "cpus": "8", "version": "v1",
		}},
		Checks: api.HealthChecks{
			{CheckID: "serfHealth", Status: "critical"},
			{CheckID: "otpbox:n1:ttl", ServiceID: "n1", Status: "passing", Output: formatOutput(load, cluster.Capacity{})},
			{CheckID: "otpbox:n1:ready", ServiceID: "n1", Status: "warning"},
		},
	}
	got, ok := toMember(e)
	assert.True(t, ok)
	assert.Equal(t, cluster.Member{
		Name: "n1", Address: "10.0.0.9:7000", API: "http://10.0.0.9:4000", Health: cluster.Warning,
		Capacity: cluster.Capacity{Slots: 100, MemoryBytes: 1 << 30, CPUs: 8}, Load: load,
	}, got)
}

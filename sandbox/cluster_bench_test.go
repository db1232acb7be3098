package sandbox_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/test"

	"github.com/otpbox/otpbox/cluster"
	"github.com/otpbox/otpbox/sandbox"
	"github.com/otpbox/otpbox/sandbox/internal/wire"
)

// twoMembers is the membership of two in-process members, a and b, whose
// addresses are known once their remotes listen.
type twoMembers struct {
	self string
	list *memberList
}

type memberList struct {
	mu   sync.Mutex
	addr map[string]string
}

func (m twoMembers) Self() string { return m.self }

func (m twoMembers) Members() []cluster.Member {
	m.list.mu.Lock()
	defer m.list.mu.Unlock()
	var out []cluster.Member
	for _, name := range []string{"a", "b"} {
		if addr, ok := m.list.addr[name]; ok {
			out = append(out, cluster.Member{Name: name, Address: addr, Health: cluster.Passing})
		}
	}
	return out
}

func (m twoMembers) Subscribe(func(cluster.Event)) func() { return func() {} }

// BenchmarkRemoteCall is a read (Describe) of a sandbox hosted on member b,
// called from member a in the same process: the cluster directory's
// resolved pid and protoactor remote. BenchmarkBaselineRemoteRequest is
// the same round trip with plain protoactor.
func BenchmarkRemoteCall(b *testing.B) {
	store := openBenchStore(b)
	b.Cleanup(func() { _ = store.Close() })
	list := &memberList{addr: make(map[string]string)}
	reg := cluster.NewMemRegistry()
	onB := cluster.PlacerFunc(func(context.Context, string, []cluster.Member) (string, error) { return "b", nil })
	start := func(name string) *sandbox.Local {
		l, err := sandbox.StartMember(quietSystem(), sandbox.Config{Store: store, IdleTimeout: -1},
			sandbox.MemberConfig{Name: "bench", Provider: test.NewTestProvider(test.NewInMemAgent()),
				Membership: twoMembers{self: name, list: list}, Registry: reg, Placer: onB})
		if err != nil {
			b.Fatal(err)
		}
		list.mu.Lock()
		list.addr[name] = l.Cluster.ActorSystem.Address()
		list.mu.Unlock()
		b.Cleanup(l.Shutdown)
		return l
	}
	a, _ := start("a"), start("b")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	info, err := a.Create(ctx, "r", sandbox.Requirements{})
	if err != nil || info.Node != "b" {
		b.Fatalf("create: %+v, %v", info, err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Info(ctx, "r"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBaselineRemoteRequest(b *testing.B) {
	list := &memberList{addr: make(map[string]string)}
	reg := cluster.NewMemRegistry()
	store := openBenchStore(b)
	b.Cleanup(func() { _ = store.Close() })
	var systems []*actor.ActorSystem
	for _, name := range []string{"a", "b"} {
		l, err := sandbox.StartMember(quietSystem(), sandbox.Config{Store: store}, sandbox.MemberConfig{Name: "bench",
			Provider: test.NewTestProvider(test.NewInMemAgent()), Membership: twoMembers{self: name, list: list}, Registry: reg})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(l.Shutdown)
		systems = append(systems, l.Cluster.ActorSystem)
	}
	echo, err := systems[1].Root.SpawnNamed(actor.PropsFromFunc(func(ctx actor.Context) {
		if m, ok := ctx.Message().(*wire.Describe); ok {
			ctx.Respond(m)
		}
	}), "echo")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := systems[0].Root.RequestFuture(echo, &wire.Describe{}, 5*time.Second).Result(); err != nil {
			b.Fatal(err)
		}
	}
}

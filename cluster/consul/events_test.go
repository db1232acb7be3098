package consul

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"

	"github.com/otpbox/otpbox/cluster"
	"github.com/otpbox/otpbox/testkit"
)

func TestDispatcherOrderAndCancel(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { testkit.VerifyNoLeaks(t, ignore) })

	d := newDispatcher()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	var mu sync.Mutex
	got := map[string][]string{}
	record := func(who string) func(cluster.Event) {
		return func(e cluster.Event) {
			mu.Lock()
			defer mu.Unlock()
			got[who] = append(got[who], e.Member.Name)
		}
	}
	ev := func(names ...string) []cluster.Event {
		evs := make([]cluster.Event, len(names))
		for i, n := range names {
			evs[i] = cluster.Event{Kind: cluster.NodeUp, Member: cluster.Member{Name: n}}
		}
		return evs
	}
	stopA := d.subscribe(record("a"))
	d.publish(ev("1", "2"))
	d.subscribe(record("b")) // gets only later events
	d.publish(ev("3"))
	testkit.AwaitAssert(t, time.Second, func(c *assert.CollectT) {
		mu.Lock()
		defer mu.Unlock()
		assert.Equal(c, []string{"1", "2", "3"}, got["a"])
		assert.Equal(c, []string{"3"}, got["b"])
	})
	stopA()
	d.publish(ev("4", "5"))
	testkit.AwaitAssert(t, time.Second, func(c *assert.CollectT) {
		mu.Lock()
		defer mu.Unlock()
		assert.Equal(c, []string{"3", "4", "5"}, got["b"])
	})
	mu.Lock()
	assert.Equal(t, []string{"1", "2", "3"}, got["a"], "nothing after cancel")
	mu.Unlock()
}

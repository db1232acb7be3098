package testkit_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/otpbox/otpbox/testkit"
	"github.com/stretchr/testify/assert"
)

// counterProps counts the messages it receives into n.
func counterProps(n *atomic.Int64) *actor.Props {
	return actor.PropsFromFunc(func(c actor.Context) {
		if _, ok := c.Message().(*ping); ok {
			n.Add(1)
		}
	})
}

func TestAwaitAssert(t *testing.T) {
	kit := testkit.New(t)
	var n atomic.Int64
	pid := kit.Spawn(counterProps(&n))
	for range 100 {
		kit.Root().Send(pid, &ping{})
	}
	testkit.AwaitAssert(t, time.Second, func(c *assert.CollectT) {
		assert.EqualValues(c, 100, n.Load())
	})
}

func TestEventually(t *testing.T) {
	kit := testkit.New(t)
	var n atomic.Int64
	pid := kit.Spawn(counterProps(&n))
	for range 100 {
		kit.Root().Send(pid, &ping{})
	}
	testkit.Eventually(t, time.Second, func() error {
		if got := n.Load(); got != 100 {
			return fmt.Errorf("counted %d", got)
		}
		return nil
	})
}

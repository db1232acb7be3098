package supervision

import (
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
)

// throughput is the number of messages a mailbox handles before yielding,
// protoactor's default.
const throughput = 300

// inlineFirst runs a child's first mailbox run (its *actor.Started, that is
// its init) on the goroutine that spawns it: the supervisor, which waits for
// init anyway. Later runs get their own goroutine, as with protoactor's
// default dispatcher. It saves a goroutine start and a hand-off per start.
type inlineFirst struct{ used atomic.Bool }

var _ actor.Dispatcher = (*inlineFirst)(nil)

func (d *inlineFirst) Schedule(fn func()) {
	if d.used.CompareAndSwap(false, true) {
		fn()
		return
	}
	go fn()
}

func (d *inlineFirst) Throughput() int { return throughput }

// pinned runs a supervisor's mailbox on one long-lived goroutine, so its
// deep call paths (starting and stopping children) do not grow a fresh
// stack for every message burst. The supervisor owns the goroutine: stop
// ends it once the supervisor has stopped; a run scheduled after that (a
// message to the dead supervisor) gets a goroutine of its own.
type pinned struct {
	work chan func() // capacity 1: a mailbox schedules one run at a time
	quit chan struct{}
	once sync.Once
}

var _ actor.Dispatcher = (*pinned)(nil)

func newPinned() *pinned {
	d := &pinned{work: make(chan func(), 1), quit: make(chan struct{})}
	go d.loop()
	return d
}

func (d *pinned) loop() {
	for {
		select {
		case fn := <-d.work:
			fn()
		case <-d.quit:
			return
		}
	}
}

func (d *pinned) Schedule(fn func()) {
	select {
	case <-d.quit:
		go fn()
	case d.work <- fn:
	}
}

func (d *pinned) Throughput() int { return throughput }

// stop ends the goroutine after the current run.
func (d *pinned) stop() { d.once.Do(func() { close(d.quit) }) }

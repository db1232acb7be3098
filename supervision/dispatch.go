package supervision

import (
	"sync"
	"sync/atomic"
	"time"

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

// pinned runs a supervisor's mailbox on one goroutine that outlives a
// burst of messages, so its deep call paths (starting and stopping
// children) do not grow a fresh stack for every run. The goroutine ends
// when the supervisor stops, or after idle without work: a supervisor whose
// actor system was shut down without stopping it (protoactor stops no
// actor on Shutdown) leaves nothing running. The next run starts it again.
type pinned struct {
	work    chan func() // capacity 1: a mailbox schedules one run at a time
	quit    chan struct{}
	once    sync.Once
	running atomic.Bool
}

// idle is how long the goroutine waits for work before it ends.
const idle = 50 * time.Millisecond

var _ actor.Dispatcher = (*pinned)(nil)

func newPinned() *pinned {
	return &pinned{work: make(chan func(), 1), quit: make(chan struct{})}
}

func (d *pinned) loop() {
	t := time.NewTimer(idle)
	defer t.Stop()
	for {
		select {
		case fn := <-d.work:
			fn()
			t.Reset(idle)
		case <-d.quit:
			d.running.Store(false)
			return
		case <-t.C:
			d.running.Store(false)
			// A run scheduled while this goroutine was deciding to end
			// is taken by it, unless Schedule started another.
			if len(d.work) == 0 || !d.running.CompareAndSwap(false, true) {
				return
			}
			t.Reset(idle)
		}
	}
}

func (d *pinned) Schedule(fn func()) {
	select {
	case <-d.quit:
		go fn()
		return
	default:
	}
	d.work <- fn // never blocks: one run at a time, and the last was taken
	if d.running.CompareAndSwap(false, true) {
		go d.loop()
	}
}

func (d *pinned) Throughput() int { return throughput }

// stop ends the goroutine after the current run.
func (d *pinned) stop() { d.once.Do(func() { close(d.quit) }) }

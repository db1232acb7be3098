package consul

import (
	"context"
	"slices"
	"sync"

	"github.com/otpbox/otpbox/cluster"
)

// dispatcher delivers membership events to subscribers in order on one
// goroutine (run). Its queue is unbounded, so the watch never waits for a
// subscriber.
type dispatcher struct {
	mu     sync.Mutex // protects every field below
	queue  []cluster.Event
	head   uint64 // sequence number of queue[0]
	subs   map[int]subscriber
	nextID int
	wake   chan struct{} // capacity 1: something was queued
}

type subscriber struct {
	fn   func(cluster.Event)
	from uint64 // first event sequence number the subscriber gets
}

func newDispatcher() *dispatcher {
	return &dispatcher{subs: make(map[int]subscriber), wake: make(chan struct{}, 1)}
}

// subscribe adds fn for every event queued from now on.
func (d *dispatcher) subscribe(fn func(cluster.Event)) (cancel func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	id := d.nextID
	d.nextID++
	d.subs[id] = subscriber{fn: fn, from: d.head + uint64(len(d.queue))}
	return func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		delete(d.subs, id)
	}
}

// publish queues evs, in order.
func (d *dispatcher) publish(evs []cluster.Event) {
	if len(evs) == 0 {
		return
	}
	d.mu.Lock()
	d.queue = append(d.queue, evs...)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// run delivers queued events until ctx is done; events still queued then
// are dropped.
func (d *dispatcher) run(ctx context.Context) {
	for {
		for {
			ev, seq, ok := d.pop()
			if !ok {
				break
			}
			for _, id := range d.ids(seq) {
				if ctx.Err() != nil {
					return
				}
				if fn := d.lookup(id); fn != nil {
					fn(ev)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		}
	}
}

func (d *dispatcher) pop() (cluster.Event, uint64, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.queue) == 0 {
		return cluster.Event{}, 0, false
	}
	ev, seq := d.queue[0], d.head
	d.queue[0] = cluster.Event{}
	d.queue = d.queue[1:]
	d.head++
	return ev, seq, true
}

// ids returns the subscribers that get event seq, in subscription order.
func (d *dispatcher) ids(seq uint64) []int {
	d.mu.Lock()
	defer d.mu.Unlock()
	ids := make([]int, 0, len(d.subs))
	for id, s := range d.subs {
		if s.from <= seq {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// lookup returns id's function, or nil once it was cancelled.
func (d *dispatcher) lookup(id int) func(cluster.Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.subs[id].fn
}

package events

import (
	"strconv"
	"strings"
	"sync"
	"time"
)

// Bus is a stream of events with ids ("<epoch>-<n>": the bus's start and
// the event's number), published by the node's parts and read by any
// number of subscribers, each through its own Queue. It keeps the latest
// events so that a subscriber can resume after the id it saw last. It is
// safe for concurrent use.
type Bus[T any] struct {
	keep   int
	buffer int
	gap    func(missed int64) Item[T]
	epoch  string

	mu   sync.Mutex
	seq  uint64
	ring []Item[T]
	subs map[*Queue[Item[T]]]struct{}
}

// Item is an event with its id; an item without one is about the stream
// (a gap), not an event of it.
type Item[T any] struct {
	ID    string
	Event T
	// Missed is set on a gap: the events the subscriber will not see.
	Missed int64
}

// NewBus returns a bus that keeps the latest keep events and gives each
// subscriber a buffer of buffer events.
func NewBus[T any](keep, buffer int) *Bus[T] {
	return &Bus[T]{keep: keep, buffer: buffer, epoch: strconv.FormatInt(time.Now().UnixNano(), 36),
		subs: map[*Queue[Item[T]]]struct{}{}, gap: func(n int64) Item[T] { return Item[T]{Missed: n} }}
}

// Publish gives e the next id and hands it to every subscriber.
func (b *Bus[T]) Publish(e T) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	it := Item[T]{ID: b.epoch + "-" + strconv.FormatUint(b.seq, 10), Event: e}
	b.ring = append(b.ring, it)
	if len(b.ring) > b.keep {
		b.ring[0] = Item[T]{}
		b.ring = b.ring[1:]
	}
	for q := range b.subs {
		q.Push(it)
	}
}

// Subscribe returns a queue of the events from now on, and after
// lastID's event first when lastID is given: those still kept, or a gap
// saying how many are lost (-1: an id of another run of the bus). Close
// the queue with the returned func.
func (b *Bus[T]) Subscribe(lastID string) (*Queue[Item[T]], func()) {
	q := NewQueue(b.buffer, b.gap)
	b.mu.Lock()
	defer b.mu.Unlock()
	if lastID != "" {
		epoch, n, ok := strings.Cut(lastID, "-")
		seq, err := strconv.ParseUint(n, 10, 64)
		switch {
		case !ok || err != nil || epoch != b.epoch:
			q.Push(Item[T]{Missed: -1})
		case len(b.ring) > 0:
			first := b.seq - uint64(len(b.ring)) + 1
			if seq+1 < first {
				q.Push(Item[T]{Missed: int64(first - seq - 1)})
			}
			for _, it := range b.ring {
				if i, _ := strconv.ParseUint(it.ID[len(b.epoch)+1:], 10, 64); i > seq {
					q.Push(it)
				}
			}
		}
	}
	b.subs[q] = struct{}{}
	return q, func() {
		b.mu.Lock()
		delete(b.subs, q)
		b.mu.Unlock()
		q.Close()
	}
}

package events

import (
	"context"
	"errors"
	"sync"
)

// ErrClosed is Next's error once the queue is closed and empty.
var ErrClosed = errors.New("events: closed")

// Queue is one consumer's events, at most a fixed number of them: a
// producer never waits for it. Events pushed while it is full are
// dropped and counted, and the consumer gets, in their place, the event
// gap makes of their number. It is safe for concurrent use.
type Queue[T any] struct {
	max    int
	gap    func(missed int64) T
	notify chan struct{}

	mu     sync.Mutex
	items  []T
	missed int64
	closed bool
}

// NewQueue returns a queue of at most max events; gap makes the event
// that says how many were missed.
func NewQueue[T any](max int, gap func(missed int64) T) *Queue[T] {
	return &Queue[T]{max: max, gap: gap, notify: make(chan struct{}, 1)}
}

// Push queues v, or counts it as missed when the queue is full.
func (q *Queue[T]) Push(v T) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	switch {
	case len(q.items) >= q.max:
		q.missed++
	case q.missed > 0:
		// The gap goes first, in a slot of its own beyond max.
		q.items = append(q.items, q.gap(q.missed), v)
		q.missed = 0
	default:
		q.items = append(q.items, v)
	}
	q.mu.Unlock()
	q.wake()
}

// Close ends the queue: Next returns what is queued, then ErrClosed.
func (q *Queue[T]) Close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.wake()
}

func (q *Queue[T]) wake() {
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

// Next returns the next event, waiting until there is one, the queue is
// closed (ErrClosed) or ctx ends.
func (q *Queue[T]) Next(ctx context.Context) (T, error) {
	for {
		q.mu.Lock()
		switch {
		case len(q.items) > 0:
			v := q.items[0]
			var zero T
			q.items[0] = zero
			q.items = q.items[1:]
			q.mu.Unlock()
			return v, nil
		case q.missed > 0:
			v := q.gap(q.missed)
			q.missed = 0
			q.mu.Unlock()
			return v, nil
		case q.closed:
			q.mu.Unlock()
			var zero T
			return zero, ErrClosed
		}
		q.mu.Unlock()
		select {
		case <-q.notify:
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		}
	}
}

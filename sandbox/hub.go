package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/otpbox/otpbox/events"
	"github.com/otpbox/otpbox/sandbox/internal/wire"
)

// Hub relays sandboxes' events to the watchers on this member, wherever
// the sandboxes run: one long poll of each watched sandbox's grain,
// shared by all of its watchers here, fanned out through a bounded
// buffer per watcher. A watcher that does not keep up is told how many
// events it missed (a gap event) and never slows the sandbox or the
// other watchers.
type Hub struct {
	m      *Manager
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu    sync.Mutex
	feeds map[string]*feed
}

// Bounds of a Hub.
const (
	// SubscriptionBuffer is the events a watcher may fall behind by
	// before it misses some.
	SubscriptionBuffer = 256
	hubRing            = 256 // events a feed keeps for watchers that resume
)

// NewHub returns a hub relaying m's sandboxes. Close stops it.
func NewHub(m *Manager) *Hub {
	ctx, cancel := context.WithCancel(context.Background())
	return &Hub{m: m, ctx: ctx, cancel: cancel, feeds: map[string]*feed{}}
}

// Close ends every subscription and waits for the hub's goroutines.
func (h *Hub) Close() {
	h.cancel()
	h.wg.Wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, f := range h.feeds {
		for s := range f.subs {
			s.end()
		}
	}
	clear(h.feeds)
}

// WatchOptions configure a subscription.
type WatchOptions struct {
	// LastID resumes after that event (SSE's Last-Event-ID): the events
	// after it that are still kept come first, or a gap event.
	LastID string
	// Viewer names the watcher for the others (presence); "" watches
	// unseen.
	Viewer string
}

// Subscription is one watcher's events, read with Next. Its first event
// is the sandbox's hello.
type Subscription struct {
	f      *feed
	h      *Hub
	viewer *Viewer
	after  string                // deliver only events newer than this (hub's lock)
	q      *events.Queue[*Event] // shared with the other watchers: never changed
	closed bool                  // (hub's lock)
}

// ErrEnded is Next's error once the subscription ended: closed, the
// sandbox terminated (after its terminated event) or the hub closed.
var ErrEnded = events.ErrClosed

// Next returns the next event, waiting for one until ctx ends. A watcher
// that fell SubscriptionBuffer events behind gets a gap event saying how
// many it missed, in their place.
func (s *Subscription) Next(ctx context.Context) (Event, error) {
	e, err := s.q.Next(ctx)
	if err != nil {
		return Event{}, err
	}
	return *e, nil
}

// feed is the poll of one sandbox for this member's watchers.
type feed struct {
	id      string
	subs    map[*Subscription]struct{}
	ring    []*Event // the latest events relayed (never changed: watchers' queues share them)
	last    string   // the newest event's id
	repoll  context.CancelFunc
	changed bool // the viewers changed since the poll in flight was sent
}

// Watch subscribes to sandbox id's events. The sandbox is activated if
// it is not (its hello needs its state). Errors: ErrNotFound,
// ErrInvalidID, and those of a sandbox that does not answer.
func (h *Hub) Watch(ctx context.Context, id string, opts WatchOptions) (*Subscription, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	if h.ctx.Err() != nil {
		return nil, ErrClosed
	}
	s := &Subscription{h: h, q: events.NewQueue(SubscriptionBuffer, func(n int64) *Event {
		return &Event{Type: EventGap, Sandbox: id, Time: time.Now().UTC(), Missed: n}
	})}
	if opts.Viewer != "" {
		s.viewer = &Viewer{Name: opts.Viewer, Node: h.m.host.node, Since: time.Now().UTC()}
	}
	h.mu.Lock()
	viewers := h.viewersLocked(id, s.viewer)
	h.mu.Unlock()
	ans, err := h.m.poll(ctx, id, &wire.Watch{Hello: true, Node: h.m.host.node, Viewers: viewers, HoldNs: -1})
	if err != nil {
		return nil, err
	}
	if ans.Hello == nil {
		return nil, errors.New("sandbox: no hello from " + id)
	}
	hello := *ans.Hello
	last := ""
	if hello.LastID != nil {
		last = *hello.LastID
	}
	s.q.Push(&hello)
	var backlog []Event
	if opts.LastID != "" && opts.LastID != last {
		ans, err := h.m.poll(ctx, id, &wire.Watch{After: opts.LastID, Node: h.m.host.node, Viewers: viewers, HoldNs: -1})
		if err != nil {
			return nil, err
		}
		backlog = ans.Events
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	f := h.feeds[id]
	if f == nil {
		f = &feed{id: id, subs: map[*Subscription]struct{}{}, last: last}
		h.feeds[id] = f
		h.wg.Add(1)
		go h.run(f)
	}
	s.f = f
	f.subs[s] = struct{}{}
	for i := range backlog {
		s.deliver(&backlog[i])
	}
	s.after = last
	if len(backlog) > 0 {
		s.after = backlog[len(backlog)-1].ID
	}
	// What the feed relayed past the hello comes next; the rest is on
	// its way.
	for _, e := range f.ring {
		s.deliver(e)
	}
	if s.viewer != nil {
		h.repollLocked(f)
	}
	return s, nil
}

// Close ends the subscription.
func (s *Subscription) Close() {
	h := s.h
	h.mu.Lock()
	defer h.mu.Unlock()
	if s.closed {
		return
	}
	s.end()
	if f := s.f; f != nil {
		delete(f.subs, s)
		if len(f.subs) == 0 {
			delete(h.feeds, f.id)
			if f.repoll != nil {
				f.repoll()
			}
			if s.viewer != nil {
				h.leave(f.id)
			}
		} else if s.viewer != nil {
			h.repollLocked(f)
		}
	}
}

func (s *Subscription) end() {
	s.closed = true
	s.q.Close()
}

// deliver queues e for the watcher unless it saw it: the same event for
// every watcher, not a copy each. Called with the hub's lock held.
func (s *Subscription) deliver(e *Event) {
	if e.ID != "" && !newer(e.ID, s.after) {
		return
	}
	if e.ID != "" {
		s.after = e.ID
	}
	s.q.Push(e)
}

// newer reports whether event id a comes after b ("" is before all).
func newer(a, b string) bool {
	x, ok := parseEventID(a)
	if !ok {
		return true
	}
	y, ok := parseEventID(b)
	if !ok {
		return true
	}
	if x.epoch != y.epoch {
		ex, _ := strconv.ParseInt(x.epoch, 36, 64)
		ey, _ := strconv.ParseInt(y.epoch, 36, 64)
		return ex > ey
	}
	return x.seq > y.seq
}

// viewersLocked is the JSON of the viewers watching id here, with extra.
func (h *Hub) viewersLocked(id string, extra *Viewer) []byte {
	var list []Viewer
	if f := h.feeds[id]; f != nil {
		for s := range f.subs {
			if s.viewer != nil {
				list = append(list, *s.viewer)
			}
		}
	}
	if extra != nil {
		list = append(list, *extra)
	}
	raw, _ := json.Marshal(list)
	return raw
}

// leave tells an active sandbox that nobody watches it through this
// member any more, so the others see them go at once.
func (h *Hub) leave(id string) {
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		ctx, cancel := context.WithTimeout(h.ctx, 2*time.Second)
		defer cancel()
		if h.m.active(ctx, id) {
			_, _ = h.m.poll(ctx, id, &wire.Watch{Node: h.m.host.node, Viewers: []byte("[]"), HoldNs: -1})
		}
	}()
}

// repollLocked makes the feed send its poll again now, with the viewers
// as they are.
func (h *Hub) repollLocked(f *feed) {
	f.changed = true
	if f.repoll != nil {
		f.repoll()
	}
}

// run polls the sandbox for f until nobody watches it: each answer is
// relayed to the watchers; a sandbox that passivated is polled again
// only once it is active (a poll would wake it); one that terminated
// ends the subscriptions.
func (h *Hub) run(f *feed) {
	defer h.wg.Done()
	sleeping := false
	told := false // the last event relayed said the activation stopped
	for h.ctx.Err() == nil {
		h.mu.Lock()
		if h.feeds[f.id] != f {
			h.mu.Unlock()
			return
		}
		ctx, cancel := context.WithCancel(h.ctx)
		f.repoll, f.changed = cancel, false
		after, viewers := f.last, h.viewersLocked(f.id, nil)
		h.mu.Unlock()
		if sleeping {
			if h.gone(ctx, f) {
				cancel()
				return
			}
			if !h.m.active(ctx, f.id) {
				wait(ctx, time.Second)
				cancel()
				continue
			}
			sleeping = false
		}
		ans, err := h.m.poll(ctx, f.id, &wire.Watch{After: after, Node: h.m.host.node, Viewers: viewers, HoldNs: int64(h.hold())})
		cancel()
		switch {
		case errors.Is(err, ErrNotFound):
			h.relay(f, []Event{{Type: EventTerminated, Sandbox: f.id, Time: time.Now().UTC()}})
			return
		case errors.Is(err, errGone):
			// Passivated (or deleted) before the poll reached it: the
			// ring that said so is gone with it, unless an answer relayed
			// its passivated event already (the activation was still
			// retiring when this poll was sent).
			if h.gone(h.ctx, f) {
				return
			}
			if !told {
				h.relay(f, []Event{{Type: EventPassivated, Sandbox: f.id, Time: time.Now().UTC()}})
			}
			sleeping, told = true, true
			continue
		case err != nil:
			if ctx.Err() == nil || h.ctx.Err() != nil {
				wait(h.ctx, time.Second) // the sandbox did not answer: try again
			}
			continue
		}
		if h.relay(f, ans.Events) {
			return
		}
		if n := len(ans.Events); n > 0 {
			switch ans.Events[n-1].Type {
			case EventPassivated, EventMigrated:
				sleeping, told = true, true
			default:
				told = false
			}
		}
	}
}

// gone reports whether f's sandbox no longer exists, and then ends the
// feed with a terminated event.
func (h *Hub) gone(ctx context.Context, f *feed) bool {
	if _, err := h.m.passivated(ctx, f.id); !errors.Is(err, ErrNotFound) {
		return false
	}
	h.relay(f, []Event{{Type: EventTerminated, Sandbox: f.id, Time: time.Now().UTC()}})
	return true
}

// relay hands events to f's watchers; it reports whether the feed ended
// (the sandbox terminated).
func (h *Hub) relay(f *feed, events []Event) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range events {
		e := &events[i]
		if e.ID != "" {
			if !newer(e.ID, f.last) {
				continue
			}
			f.last = e.ID
			f.ring = append(f.ring, e)
			if len(f.ring) > hubRing {
				f.ring[0] = nil
				f.ring = f.ring[1:]
			}
		}
		for s := range f.subs {
			s.deliver(e)
		}
		if e.Type == EventTerminated {
			for s := range f.subs {
				s.end()
			}
			if h.feeds[f.id] == f {
				delete(h.feeds, f.id)
			}
			return true
		}
	}
	return false
}

// hold is how long a poll waits for an event: shorter than the
// sandbox's request timeout.
func (h *Hub) hold() time.Duration { return min(watchHold, h.m.host.reqTimeout/2) }

func wait(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// errGone: the activation polled stopped before it answered.
var errGone = errors.New("sandbox: activation gone")

type noRetryKey struct{}

// poll sends a Watch and decodes its answer. Only a hello wakes the
// sandbox: other polls neither activate it nor look it up again when its
// activation stops under them (errGone).
func (m *Manager) poll(ctx context.Context, id string, w *wire.Watch) (*watchAnswer, error) {
	if !w.Hello {
		ctx = context.WithValue(ctx, noRetryKey{}, true)
	}
	if w.HoldNs > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(w.HoldNs)+m.host.reqTimeout/2)
		defer cancel()
	}
	var ans watchAnswer
	if err := m.reply(ctx, id, w, &ans); err != nil {
		return nil, err
	}
	return &ans, nil
}

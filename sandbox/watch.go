package sandbox

import (
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/otpbox/otpbox/sandbox/internal/wire"
	"github.com/otpbox/otpbox/sandbox/otp"
)

// Bounds of an activation's events.
const (
	watchRing      = 256             // events kept for pollers that fall behind
	watchRingBytes = 1 << 20         // and at most this much of them
	watchTraces    = 256             // trace events of one execution; the rest are counted
	watchTick      = time.Second     // how often held polls and viewers are checked
	watchLinger    = 1 * time.Minute // a ring nobody polled for this long is dropped
)

// watching is an activation's events, for the members that relay them
// to watchers (see Hub): a bounded ring of the latest, the polls held
// until the next one, and who watches through which member. It exists
// from the first Watch until nobody polled for watchLinger, so a sandbox
// nobody watches pays nothing for events.
type watching struct {
	epoch    string
	seq      uint64
	ring     []Event
	bytes    int
	held     []heldPoll
	viewers  map[string]nodeViewers // by member
	lastPoll time.Time
	touched  time.Time // the last message that was not a poll: idleness while watched
	timer    *time.Timer

	changes []otp.Change // of the running execution
	dropped int          // its trace changes past watchTraces
}

type heldPoll struct {
	to    *actor.PID
	after string
	until time.Time
}

type nodeViewers struct {
	list []Viewer
	seen time.Time
}

// tick is the grain's own timer message while it is watched. It does not
// count as activity (idle passivation).
type tick struct{}

func (tick) NotInfluenceReceiveTimeout() {}

// watchAnswer is the reply to a Watch.
type watchAnswer struct {
	Events []Event `json:"events,omitempty"`
	Hello  *Event  `json:"hello,omitempty"`
}

// startWatching makes the ring, beginning with the activation: its
// start, a gap for the executions nobody saw, and the tree as it is now.
func (g *grain) startWatching(ctx actor.Context) {
	now := g.host.now()
	w := &watching{epoch: strconv.FormatInt(now.UnixNano(), 36), viewers: map[string]nodeViewers{}, touched: now}
	g.w = w
	g.emit(Event{Type: EventActivated, Node: g.host.node, Time: g.activated})
	if n := g.execsUnseen; n > 0 {
		g.emit(Event{Type: EventGap, Missed: int64(n)})
	}
	g.emit(Event{Type: EventSnapshot, Tree: g.otp.Tree()})
	g.arm(ctx)
}

// arm schedules the next tick.
func (g *grain) arm(ctx actor.Context) {
	self, system := ctx.Self(), ctx.ActorSystem()
	g.w.timer = time.AfterFunc(watchTick, func() { system.Root.Send(self, tick{}) })
}

// stopWatching drops the ring (the activation ends, or nobody watches).
func (g *grain) stopWatching() {
	if g.w != nil {
		g.w.timer.Stop()
		g.w = nil
	}
}

// emit adds e to the ring with the next id; held polls learn of it at
// the next flush.
func (g *grain) emit(e Event) {
	w := g.w
	if w == nil {
		return
	}
	w.seq++
	e.ID = eventID{epoch: w.epoch, seq: w.seq}.String()
	e.Sandbox = g.id
	if e.Time.IsZero() {
		e.Time = g.host.now()
	}
	size := eventSize(&e)
	w.ring = append(w.ring, e)
	w.bytes += size
	for len(w.ring) > watchRing || w.bytes > watchRingBytes && len(w.ring) > 1 {
		w.bytes -= eventSize(&w.ring[0])
		w.ring[0] = Event{}
		w.ring = w.ring[1:]
	}
}

// eventSize approximates what an event holds.
func eventSize(e *Event) int {
	n := 256 + len(e.Code) + len(e.Value) + len(e.Output) + len(e.Path) + len(e.Reason)
	if e.Error != nil {
		n += len(e.Error.Detail) + len(e.Error.Backtrace)
	}
	if e.Tree != nil {
		n += treeSize(e.Tree.Root)
	}
	return n
}

func treeSize(n *otp.Node) int {
	if n == nil {
		return 0
	}
	size := 128 + len(n.State)
	for _, c := range n.Children {
		size += treeSize(c)
	}
	return size
}

// since returns the events after id after: all of the ring when after
// is of another activation or older than the ring (the gap then says how
// many were lost, -1 when it cannot tell).
func (w *watching) since(after string) []Event {
	id, ok := parseEventID(after)
	if after == "" {
		return nil // a new poller starts from now (its hello is the state)
	}
	if !ok || id.epoch != w.epoch {
		return slices.Clone(w.ring)
	}
	if len(w.ring) == 0 {
		return nil
	}
	first, _ := parseEventID(w.ring[0].ID)
	if id.seq+1 >= first.seq {
		i := int(id.seq + 1 - first.seq)
		if i >= len(w.ring) {
			return nil
		}
		return slices.Clone(w.ring[i:])
	}
	gap := Event{Type: EventGap, Sandbox: w.ring[0].Sandbox, Time: w.ring[0].Time, Missed: int64(first.seq - id.seq - 1)}
	return append([]Event{gap}, w.ring...)
}

// watch answers a poll: at once with the events it has not seen (or the
// sandbox's state when it says hello), or later (see flush).
func (g *grain) watch(ctx actor.Context, m *wire.Watch) {
	if g.w == nil {
		g.startWatching(ctx)
	}
	w := g.w
	now := g.host.now()
	w.lastPoll = now
	g.see(m.Node, m.Viewers, now)
	if m.Hello {
		last := ""
		if n := len(w.ring); n > 0 {
			last = w.ring[n-1].ID
		}
		hello := &Event{Type: EventHello, Time: now, Sandbox: g.id, Node: g.host.node, Tree: g.otp.Tree(),
			Restarts: g.otp.Records(), Viewers: w.viewerList(), LastID: &last}
		g.answer(ctx, ctx.Sender(), watchAnswer{Hello: hello})
		g.flush(ctx)
		return
	}
	if evs := w.since(m.After); len(evs) > 0 {
		g.answer(ctx, ctx.Sender(), watchAnswer{Events: evs})
		g.flush(ctx)
		return
	}
	hold := time.Duration(m.HoldNs)
	if hold <= 0 {
		g.answer(ctx, ctx.Sender(), watchAnswer{})
		g.flush(ctx)
		return
	}
	w.held = append(w.held, heldPoll{to: ctx.Sender(), after: m.After, until: now.Add(hold)})
	g.flush(ctx)
}

// see records who watches through member node; a change is an event.
func (g *grain) see(node string, raw []byte, now time.Time) {
	var list []Viewer
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &list) // a member's own encoding; bad input is no viewers
	}
	if len(list) > 64 {
		list = list[:64]
	}
	for i := range list {
		list[i].Node = node
	}
	w := g.w
	prev, had := w.viewers[node]
	w.viewers[node] = nodeViewers{list: list, seen: now}
	if !had && len(list) == 0 || had && slices.Equal(prev.list, list) {
		return
	}
	g.emit(Event{Type: EventPresence, Viewers: w.viewerList()})
}

func (w *watching) viewerList() []Viewer {
	out := []Viewer{}
	for _, nv := range w.viewers {
		out = append(out, nv.list...)
	}
	slices.SortFunc(out, func(a, b Viewer) int {
		if c := a.Since.Compare(b.Since); c != 0 {
			return c
		}
		return strings.Compare(a.Name+"\x00"+a.Node, b.Name+"\x00"+b.Node)
	})
	return out
}

// flush answers the held polls that have events now.
func (g *grain) flush(ctx actor.Context) {
	w := g.w
	if w == nil || len(w.held) == 0 {
		return
	}
	kept := w.held[:0]
	for _, p := range w.held {
		if evs := w.since(p.after); len(evs) > 0 {
			g.answer(ctx, p.to, watchAnswer{Events: evs})
			continue
		}
		kept = append(kept, p)
	}
	clear(w.held[len(kept):])
	w.held = kept
}

// release answers every held poll with what it has not seen (an
// activation that ends).
func (g *grain) release(ctx actor.Context) {
	w := g.w
	if w == nil {
		return
	}
	for _, p := range w.held {
		g.answer(ctx, p.to, watchAnswer{Events: w.since(p.after)})
	}
	w.held = nil
}

func (g *grain) answer(ctx actor.Context, to *actor.PID, a watchAnswer) {
	if to == nil {
		return
	}
	raw, err := json.Marshal(&a)
	if err != nil {
		ctx.Send(to, failure(err))
		return
	}
	ctx.Send(to, &wire.Reply{Json: raw})
}

// onTick answers expired polls, forgets members that stopped polling,
// passivates the sandbox when only polls reached it for the idle time,
// and drops the ring when nobody polls.
func (g *grain) onTick(ctx actor.Context) {
	w := g.w
	if w == nil {
		return
	}
	now := g.host.now()
	kept := w.held[:0]
	for _, p := range w.held {
		if now.Before(p.until) {
			kept = append(kept, p)
			continue
		}
		g.answer(ctx, p.to, watchAnswer{})
	}
	clear(w.held[len(kept):])
	w.held = kept
	changed := false
	for node, nv := range w.viewers {
		if now.Sub(nv.seen) > 3*watchHold {
			delete(w.viewers, node)
			changed = changed || len(nv.list) > 0
		}
	}
	if changed {
		g.emit(Event{Type: EventPresence, Viewers: w.viewerList()})
		g.flush(ctx)
	}
	if g.host.idle > 0 && now.Sub(w.touched) >= g.host.idle && g.meta != nil {
		g.passivate(ctx, "idle")
		return
	}
	if len(w.held) == 0 && now.Sub(w.lastPoll) > watchLinger {
		g.stopWatching()
		return
	}
	g.arm(ctx)
}

// watchHold is how long a member's poll waits for an event (see Hub).
const watchHold = 10 * time.Second

// collect is the runtime's observer while an execution runs and the
// sandbox is watched.
func (w *watching) collect(c otp.Change) {
	if c.Kind == otp.ChangeTrace {
		n := 0
		for _, x := range w.changes {
			if x.Kind == otp.ChangeTrace {
				n++
			}
		}
		if n >= watchTraces {
			w.dropped++
			return
		}
	}
	w.changes = append(w.changes, c)
}

// executed emits an execution's events: the exec, then (when it
// succeeded) what it did to the processes and the tree after it.
func (g *grain) executed(code, by string, res *Result, err error) {
	w := g.w
	if w == nil {
		return
	}
	changes, dropped := w.changes, w.dropped
	w.changes, w.dropped = nil, 0
	e := Event{Type: EventExec, By: by}
	e.Code = cut(code, &e.Truncated)
	if err != nil {
		e.Error = eventError(err)
		g.emit(e)
		return
	}
	e.Value = cut(res.Value, &e.Truncated)
	e.Output = cut(res.Output, &e.Truncated)
	e.Steps, e.DurationUS = res.Steps, res.Duration.Microseconds()
	g.emit(e)
	for _, c := range changes {
		ev := Event{Type: EventTree, Change: c.Kind, PID: c.PID, ChildID: c.ChildID, Path: c.Path,
			Supervisor: c.Supervisor, ProcessType: c.Type, Reason: c.Reason}
		if c.Kind == otp.ChangeTrace {
			ev.Type, ev.Change, ev.Kind, ev.Value = EventTrace, "", c.Message, c.Value
		}
		g.emit(ev)
	}
	if dropped > 0 {
		g.emit(Event{Type: EventTrace, Dropped: dropped})
	}
	if len(changes) > 0 {
		g.emit(Event{Type: EventSnapshot, Tree: g.otp.Tree()})
	}
}

// framePos finds the positions in the sandbox's code of a backtrace.
var framePos = regexp.MustCompile(`<sandbox>:(\d+):(\d+)`)

// eventError is err as the API shows it.
func eventError(err error) *EventError {
	f := toFailure(err)
	e := &EventError{Kind: f.Kind, Detail: f.Message, Line: int(f.Line), Col: int(f.Col), Backtrace: f.Backtrace, Limit: f.Limit}
	switch f.Kind {
	case kindSyntax:
		e.Kind = "syntax_error"
	case kindRuntime:
		e.Kind = "runtime_error"
		if m := framePos.FindAllStringSubmatch(f.Backtrace, -1); len(m) > 0 {
			last := m[len(m)-1] // the innermost frame of the code
			e.Line, _ = strconv.Atoi(last[1])
			e.Col, _ = strconv.Atoi(last[2])
		}
	case kindLimit:
		e.Kind = "limit_exceeded"
		e.Detail = err.Error()
	case kindThrottled:
		e.Kind = "throttled"
	case kindStore:
		e.Kind = "store_unavailable"
	}
	return e
}

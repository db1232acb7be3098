package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/otpbox/otpbox/events"
	"github.com/otpbox/otpbox/sandbox"
)

// Event streams (Server-Sent Events): a sandbox's and the node's.

type (
	// Event is one event of a sandbox's stream.
	Event = sandbox.Event
	// WatchOptions configure a sandbox's stream: where it resumes, who
	// watches.
	WatchOptions = sandbox.WatchOptions
)

// Watcher is the optional side of Sandboxes that streams a sandbox's
// events; without it GET /v1/sandboxes/{id}/events is 501.
type Watcher interface {
	Watch(ctx context.Context, id string, opts WatchOptions) (EventStream, error)
}

// EventStream is one watcher's events (a *sandbox.Subscription).
type EventStream interface {
	Next(ctx context.Context) (Event, error)
	Close()
}

// NodeEvent is one event of the node's stream (GET /v1/events). Which
// fields are set depends on Type.
type NodeEvent struct {
	Type    string    `json:"type"` // member, placement, sandbox, drain, rebalance, scaling, memory
	Time    time.Time `json:"time"`
	Node    string    `json:"node,omitempty"`
	Change  string    `json:"change,omitempty"` // member: joined, left, health; sandbox: created, activated, ...
	Health  string    `json:"health,omitempty"`
	Status  string    `json:"status,omitempty"`
	Reason  string    `json:"reason,omitempty"`
	Sandbox string    `json:"sandbox,omitempty"`
	Moved   int       `json:"moved,omitempty"`
	Moves   any       `json:"moves,omitempty"`
	// Operation is a scaling operation, as GET /v1/cluster/scaling shows it.
	Operation any    `json:"operation,omitempty"`
	Kind      string `json:"kind,omitempty"` // memory: the action's kind
	Detail    string `json:"detail,omitempty"`
}

// NodeEvents is the node's event bus; the node's parts publish on it.
type NodeEvents = events.Bus[NodeEvent]

// NewNodeEvents returns a bus that keeps the latest 1,024 events, with a
// buffer of 256 per subscriber.
func NewNodeEvents() *NodeEvents { return events.NewBus[NodeEvent](1024, 256) }

// ping is how often a stream sends a comment when it has nothing to say,
// so proxies and clients know it is alive.
const ping = 15 * time.Second

// lastEventID is where a stream resumes: SSE's Last-Event-ID header, or
// ?last_event_id= for a client that cannot set headers.
func lastEventID(r *http.Request) string {
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		return id
	}
	return r.URL.Query().Get("last_event_id")
}

// sse writes Server-Sent Events on w until next fails, ctx ends or the
// node drains.
type sse struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (s *Server) startSSE(w http.ResponseWriter) *sse {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	out := &sse{w: w, rc: http.NewResponseController(w)}
	// The server's read timeout would end the stream (and cancel its
	// context) once it passed; a stream reads nothing more.
	_ = out.rc.SetReadDeadline(time.Time{})
	out.flush()
	return out
}

// send writes one event; the connection's write deadline moves with each.
func (o *sse) send(id, typ string, data any) error {
	raw, err := json.Marshal(data)
	if err != nil {
		return err
	}
	_ = o.rc.SetWriteDeadline(time.Now().Add(ping + 10*time.Second))
	var b strings.Builder
	if id != "" {
		b.WriteString("id: " + id + "\n")
	}
	b.WriteString("event: " + typ + "\ndata: ")
	b.Write(raw)
	b.WriteString("\n\n")
	if _, err := o.w.Write([]byte(b.String())); err != nil {
		return err
	}
	return o.flush()
}

func (o *sse) comment(text string) error {
	_ = o.rc.SetWriteDeadline(time.Now().Add(ping + 10*time.Second))
	if _, err := o.w.Write([]byte(": " + text + "\n\n")); err != nil {
		return err
	}
	return o.flush()
}

func (o *sse) flush() error {
	if err := o.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}

// pump sends what next gives until it fails, the client goes, or the node
// drains; it pings while there is nothing to send.
func (s *Server) pump(r *http.Request, out *sse, next func(ctx context.Context) (id, typ string, data any, err error)) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(s.drained, cancel)
	defer stop()
	for {
		wait, done := context.WithTimeout(ctx, ping)
		id, typ, data, err := next(wait)
		done()
		switch {
		case err == nil:
			if out.send(id, typ, data) != nil {
				return
			}
		case ctx.Err() != nil:
			return // the client went, or the node drains
		case errors.Is(err, context.DeadlineExceeded):
			if out.comment("ping") != nil {
				return
			}
		default:
			return // the stream ended
		}
	}
}

// sandboxEvents serves GET /v1/sandboxes/{id}/events.
func (s *Server) sandboxEvents(w http.ResponseWriter, r *http.Request) {
	wt, ok := s.cfg.Sandboxes.(Watcher)
	if !ok {
		writeProblem(w, problem(http.StatusNotImplemented, "not_implemented", "Not implemented", "this node does not stream sandbox events"))
		return
	}
	viewer, p := viewerOf(r, "name")
	if p != nil {
		writeProblem(w, p)
		return
	}
	hello, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
	defer cancel()
	sub, err := wt.Watch(hello, r.PathValue("id"), WatchOptions{LastID: lastEventID(r), Viewer: viewer})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer sub.Close()
	out := s.startSSE(w)
	s.pump(r, out, func(ctx context.Context) (string, string, any, error) {
		e, err := sub.Next(ctx)
		return e.ID, e.Type, e, err
	})
}

// nodeEvents serves GET /v1/events.
func (s *Server) nodeEvents(w http.ResponseWriter, r *http.Request) {
	bus := s.cfg.Events
	if bus == nil {
		writeProblem(w, problem(http.StatusNotImplemented, "not_implemented", "Not implemented", "this node does not stream its events"))
		return
	}
	q, unsubscribe := bus.Subscribe(lastEventID(r))
	defer unsubscribe()
	out := s.startSSE(w)
	if out.send("", "hello", NodeEvent{Type: "hello", Time: time.Now().UTC(), Node: s.cfg.Node}) != nil {
		return
	}
	s.pump(r, out, func(ctx context.Context) (string, string, any, error) {
		it, err := q.Next(ctx)
		if err != nil {
			return "", "", nil, err
		}
		if it.ID == "" {
			return "", "gap", map[string]any{"type": "gap", "time": time.Now().UTC(), "missed": it.Missed}, nil
		}
		e := it.Event
		return it.ID, e.Type, struct {
			ID string `json:"id"`
			NodeEvent
		}{it.ID, e}, nil
	})
}

// viewerOf reads who watches or acts: the query parameter param, or the
// X-Otpbox-Viewer header; at most 64 printable characters.
func viewerOf(r *http.Request, param string) (string, *Problem) {
	v := r.Header.Get("X-Otpbox-Viewer")
	if param != "" {
		if q := r.URL.Query().Get(param); q != "" {
			v = q
		}
	}
	if len(v) > 64 || strings.ContainsFunc(v, func(c rune) bool { return c < ' ' || c == 0x7f }) {
		return "", problem(http.StatusBadRequest, "invalid_viewer", "Invalid viewer name",
			fmt.Sprintf("a viewer name is at most 64 printable characters; got %d bytes", len(v)))
	}
	return v, nil
}

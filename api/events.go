package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"time"
)

// Event is one event of a sandbox's stream (GET
// /v1/sandboxes/{id}/events). Which fields are set depends on Type:
//
//   - hello (first, no ID): Node, Tree, Restarts, Viewers, LastID;
//   - exec: Code, Value, Output, Steps, DurationUS, By, Error, Truncated;
//   - tree: Change (started, exited, terminated, restarted, gave_up,
//     auto_shutdown), PID, ChildID, Path, Supervisor, ProcessType, Reason;
//   - snapshot: Tree, after an execution that changed the processes;
//   - trace: PID, Path, Kind (call, cast), Value; or Dropped;
//   - activated (Node), passivated, restarted, terminated (the last);
//   - presence: Viewers; gap: Missed (-1: unknown).
type Event struct {
	ID          string          `json:"id,omitempty"`
	Type        string          `json:"type"`
	Time        time.Time       `json:"time"`
	Sandbox     string          `json:"sandbox,omitempty"`
	Node        string          `json:"node,omitempty"`
	Code        string          `json:"code,omitempty"`
	Value       string          `json:"value,omitempty"`
	Output      string          `json:"output,omitempty"`
	Steps       uint64          `json:"steps,omitempty"`
	DurationUS  int64           `json:"duration_us,omitempty"`
	By          string          `json:"by,omitempty"`
	Error       *EventError     `json:"error,omitempty"`
	Truncated   bool            `json:"truncated,omitempty"`
	Change      string          `json:"change,omitempty"`
	PID         string          `json:"pid,omitempty"`
	ChildID     string          `json:"child_id,omitempty"`
	Path        string          `json:"path,omitempty"`
	Supervisor  string          `json:"supervisor,omitempty"`
	ProcessType string          `json:"process_type,omitempty"`
	Reason      string          `json:"reason,omitempty"`
	Kind        string          `json:"kind,omitempty"`
	Dropped     int             `json:"dropped,omitempty"`
	Tree        *Tree           `json:"tree,omitempty"`
	Restarts    []RestartRecord `json:"restarts,omitempty"`
	LastID      *string         `json:"last_id,omitempty"`
	Viewers     []Viewer        `json:"viewers,omitempty"`
	Missed      int64           `json:"missed,omitempty"`
}

// EventError is a failed execution's problem, in an exec event.
type EventError struct {
	Kind      string `json:"kind"`
	Detail    string `json:"detail"`
	Line      int    `json:"line,omitempty"`
	Col       int    `json:"col,omitempty"`
	Backtrace string `json:"backtrace,omitempty"`
	Limit     string `json:"limit,omitempty"`
}

// Viewer is someone watching a sandbox, through a member.
type Viewer struct {
	Name  string    `json:"name"`
	Node  string    `json:"node"`
	Since time.Time `json:"since"`
}

// NodeEvent is one event of a node's stream (GET /v1/events): hello,
// member (Change joined, left, health), placement, sandbox (Change
// created, activated, passivated, restarted, terminated), drain,
// rebalance, scaling, memory, gap.
type NodeEvent struct {
	ID        string          `json:"id,omitempty"`
	Type      string          `json:"type"`
	Time      time.Time       `json:"time"`
	Node      string          `json:"node,omitempty"`
	Change    string          `json:"change,omitempty"`
	Health    string          `json:"health,omitempty"`
	Status    string          `json:"status,omitempty"`
	Reason    string          `json:"reason,omitempty"`
	Sandbox   string          `json:"sandbox,omitempty"`
	Moved     int             `json:"moved,omitempty"`
	Moves     json.RawMessage `json:"moves,omitempty"`
	Operation json.RawMessage `json:"operation,omitempty"`
	Kind      string          `json:"kind,omitempty"`
	Detail    string          `json:"detail,omitempty"`
	Missed    int64           `json:"missed,omitempty"`
}

// WatchOptions configure a stream.
type WatchOptions struct {
	// LastEventID resumes after that event.
	LastEventID string
	// Viewer is the name the other watchers see (sandbox streams).
	Viewer string
}

// Events streams sandbox id's events. The iterator reconnects when the
// connection drops, resuming after the last event it yielded (the node
// sends a gap event when some are lost), and ends after a terminated
// event, when ctx ends (without an error) or when the node refuses the
// stream (with that error: ErrNotFound, ...).
func (s *Sandboxes) Events(ctx context.Context, id string, opts *WatchOptions) iter.Seq2[Event, error] {
	var o WatchOptions
	if opts != nil {
		o = *opts
	}
	q := url.Values{}
	if o.Viewer != "" {
		q.Set("name", o.Viewer)
	}
	return func(yield func(Event, error) bool) {
		stream(ctx, s.c, sandboxPath(id, "events"), q, o.LastEventID, func(raw []byte) (string, bool, error) {
			var e Event
			if err := json.Unmarshal(raw, &e); err != nil {
				return "", false, err
			}
			return e.ID, yield(e, nil) && e.Type != "terminated", nil
		}, func(err error) { yield(Event{}, err) })
	}
}

// NodeEvents streams the node's events, as Events streams a sandbox's.
func (c *Client) NodeEvents(ctx context.Context, opts *WatchOptions) iter.Seq2[NodeEvent, error] {
	var o WatchOptions
	if opts != nil {
		o = *opts
	}
	return func(yield func(NodeEvent, error) bool) {
		stream(ctx, c, "/v1/events", nil, o.LastEventID, func(raw []byte) (string, bool, error) {
			var e NodeEvent
			if err := json.Unmarshal(raw, &e); err != nil {
				return "", false, err
			}
			return e.ID, yield(e, nil), nil
		}, func(err error) { yield(NodeEvent{}, err) })
	}
}

// stream reads an event stream at path, reconnecting after a dropped
// connection (1 s, then up to 10 s apart) with the last id seen, until
// each returns false, ctx ends, or the node refuses (fail is called).
func stream(ctx context.Context, c *Client, path string, q url.Values, last string, each func(data []byte) (id string, more bool, err error), fail func(error)) {
	backoff := time.Second
	for ctx.Err() == nil {
		got, err := streamOnce(ctx, c, path, q, last, func(data []byte) (bool, error) {
			id, more, err := each(data)
			if id != "" {
				last = id
			}
			return more, err
		})
		var apiErr *Error
		switch {
		case err == nil || ctx.Err() != nil:
			return
		case errors.As(err, &apiErr) && apiErr.StatusCode != http.StatusServiceUnavailable && apiErr.StatusCode != http.StatusTooManyRequests:
			fail(err)
			return
		}
		if got {
			backoff = time.Second
		}
		if sleepCtx(ctx, backoff) != nil {
			return
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

// errStop ends a stream the consumer is done with.
var errStop = errors.New("api: stream stopped")

// streamOnce reads one connection of a stream; it returns nil when the
// consumer stopped, and whether it got any event.
func streamOnce(ctx context.Context, c *Client, path string, q url.Values, last string, each func([]byte) (bool, error)) (bool, error) {
	u := c.base.JoinPath(path)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Accept", "text/event-stream, application/problem+json")
	req.Header.Set("User-Agent", c.agent)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if last != "" {
		req.Header.Set("Last-Event-ID", last)
	}
	resp, err := c.http.Do(req) // an HTTPClient with a Timeout ends each connection of a stream then; it reconnects
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, DecodeError(resp, http.MethodGet, path)
	}
	got := false
	err = ReadSSE(resp.Body, func(_, _ string, data []byte) error {
		got = true
		more, err := each(data)
		if err != nil {
			return err
		}
		if !more {
			return errStop
		}
		return nil
	})
	switch {
	case errors.Is(err, errStop):
		return got, nil
	case err == nil:
		err = io.ErrUnexpectedEOF // the node closed the stream: reconnect
	}
	return got, err
}

// ReadSSE reads Server-Sent Events from r and calls fn with each event's
// id, type and data (data lines joined with newlines), until r ends (nil)
// or fn fails (its error). Comments and unknown fields are skipped.
func ReadSSE(r io.Reader, fn func(id, typ string, data []byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var id, typ string
	var data bytes.Buffer
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			if data.Len() > 0 || typ != "" {
				if err := fn(id, typ, bytes.TrimSuffix(data.Bytes(), []byte("\n"))); err != nil {
					return err
				}
			}
			id, typ = "", ""
			data.Reset()
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "id":
			id = string(value)
		case "event":
			typ = string(value)
		case "data":
			data.Write(value)
			data.WriteByte('\n')
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("api: read event stream: %w", err)
	}
	return nil
}

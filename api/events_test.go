package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestReadSSE(t *testing.T) {
	in := ": ping\n\nid: a-1\nevent: exec\ndata: {\"a\":\ndata: 1}\n\nevent: gap\ndata: {}\nretry: 10\n\n"
	var got []string
	err := ReadSSE(strings.NewReader(in), func(id, typ string, data []byte) error {
		got = append(got, fmt.Sprintf("%s|%s|%s", id, typ, data))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a-1|exec|{\"a\":\n1}", "|gap|{}"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// TestEventsReconnectWithLastEventID: a dropped stream is resumed after
// the last event seen, and a terminated event ends the iteration.
func TestEventsReconnectWithLastEventID(t *testing.T) {
	first := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "event: hello\ndata: {\"type\":\"hello\"}\n\n")
		fmt.Fprint(w, "id: e-1\nevent: exec\ndata: {\"id\":\"e-1\",\"type\":\"exec\",\"code\":\"x = 1\"}\n\n")
	} // then the connection ends
	var resumed string
	second := func(w http.ResponseWriter, r *http.Request) {
		resumed = r.Header.Get("Last-Event-ID")
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "id: e-2\nevent: terminated\ndata: {\"id\":\"e-2\",\"type\":\"terminated\"}\n\n")
	}
	f, c := newFake(t, first, second, refuse(404, "not_found", ""))
	waits(c)
	var types []string
	for e, err := range c.Sandboxes().Events(context.Background(), "s1", &WatchOptions{Viewer: "ann"}) {
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, e.Type)
	}
	if fmt.Sprint(types) != "[hello exec terminated]" {
		t.Fatalf("events %v", types)
	}
	if resumed != "e-1" {
		t.Errorf("resumed after %q, want e-1", resumed)
	}
	reqs := f.requests()
	if len(reqs) != 2 || reqs[0].path != "/v1/sandboxes/s1/events" || reqs[0].query != "name=ann" {
		t.Errorf("requests %+v", reqs)
	}
}

func TestEventsRefusedIsAnError(t *testing.T) {
	_, c := newFake(t, refuse(404, "not_found", ""))
	n := 0
	for _, err := range c.NodeEvents(context.Background(), nil) {
		n++
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("err = %v, want not_found", err)
		}
	}
	if n != 1 {
		t.Fatalf("%d yields, want 1", n)
	}
}

func TestProcessEndpoints(t *testing.T) {
	f, c := newFake(t, answer(200, `{"pid":"<0.3.0>","id":"w","path":"tree1/w","type":"worker","status":"running","mailbox":0}`),
		answer(200, `{"code":"kill(pid(\"<0.3.0>\"))","value":"","output":"","steps":4,"duration_us":12}`))
	ctx := context.Background()
	info, err := c.Sandboxes().Process(ctx, "s1", ProcessRef{Path: "tree1/w"})
	if err != nil || info.ID != "w" {
		t.Fatalf("process %+v, %v", info, err)
	}
	res, err := c.Sandboxes().Act(ctx, "s1", ProcessAction{Action: ActionKill, ProcessRef: ProcessRef{PID: "<0.3.0>"}})
	if err != nil || res.Code != `kill(pid("<0.3.0>"))` || res.Steps != 4 || res.Duration.Microseconds() != 12 {
		t.Fatalf("act %+v, %v", res, err)
	}
	reqs := f.requests()
	if reqs[0].query != "path=tree1%2Fw" || reqs[1].body != `{"action":"kill","pid":"\u003c0.3.0\u003e"}` {
		t.Errorf("requests %+v", reqs)
	}
}

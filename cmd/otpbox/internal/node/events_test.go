package node_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sseEvent is one Server-Sent Event as read off the wire.
type sseEvent struct {
	ID, Type string
	Data     map[string]any
}

// stream is an open event stream.
type stream struct {
	t    *testing.T
	resp *http.Response
	r    *bufio.Reader
}

// openStream GETs an event stream with the token and extra headers
// (name, value pairs), and checks it is one.
func openStream(t *testing.T, addr, path, token string, headers ...string) *stream {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", "http://"+addr+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	s := &stream{t: t, resp: resp, r: bufio.NewReader(resp.Body)}
	t.Cleanup(s.close)
	return s
}

func (s *stream) close() { s.resp.Body.Close() }

// next reads the next event (comments skipped), within a deadline.
func (s *stream) next() sseEvent {
	s.t.Helper()
	type read struct {
		e   sseEvent
		err error
	}
	ch := make(chan read, 1)
	go func() {
		var e sseEvent
		for {
			line, err := s.r.ReadString('\n')
			if err != nil {
				ch <- read{err: err}
				return
			}
			line = strings.TrimRight(line, "\n")
			switch {
			case line == "" && e.Type != "":
				ch <- read{e: e}
				return
			case strings.HasPrefix(line, "id: "):
				e.ID = line[4:]
			case strings.HasPrefix(line, "event: "):
				e.Type = line[7:]
			case strings.HasPrefix(line, "data: "):
				if err := json.Unmarshal([]byte(line[6:]), &e.Data); err != nil {
					ch <- read{err: err}
					return
				}
			}
		}
	}()
	select {
	case r := <-ch:
		require.NoError(s.t, r.err)
		return r.e
	case <-time.After(10 * time.Second):
		s.close() // ends the reader
		s.t.Fatal("no event within the deadline")
	}
	return sseEvent{}
}

// until reads events until one of type typ.
func (s *stream) until(typ string) []sseEvent {
	s.t.Helper()
	var out []sseEvent
	for {
		e := s.next()
		out = append(out, e)
		if e.Type == typ {
			return out
		}
	}
}

// send makes a request with the token, a JSON body and extra headers.
func send(t *testing.T, addr, method, path, token, body string, headers ...string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, "http://"+addr+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := noKeepAlive.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var v map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&v)
	return resp.StatusCode, v
}

func TestEventStreamsAndProcessActions(t *testing.T) {
	cfg := testConfig(t)
	cfg.Token = "secret"
	n, _ := startReal(t, cfg)
	addr := n.HTTPAddr()
	nodeEvents := openStream(t, addr, "/v1/events", "secret")
	assert.Equal(t, "hello", nodeEvents.next().Type)

	code, _ := send(t, addr, "POST", "/v1/sandboxes", "secret", `{"id":"ev"}`)
	require.Equal(t, http.StatusCreated, code)
	created := nodeEvents.until("sandbox")
	assert.Equal(t, "created", created[len(created)-1].Data["change"])
	assert.Equal(t, "ev", created[len(created)-1].Data["sandbox"])

	// Without the token: 401, as every endpoint.
	req, _ := http.NewRequest("GET", "http://"+addr+"/v1/sandboxes/ev/events", nil)
	resp, err := noKeepAlive.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	code, p := send(t, addr, "GET", "/v1/sandboxes/nope/events", "secret", "")
	assert.Equal(t, http.StatusNotFound, code)
	assert.Equal(t, "urn:otpbox:problem:not_found", p["type"])

	s := openStream(t, addr, "/v1/sandboxes/ev/events?name=alice", "secret")
	hello := s.next()
	require.Equal(t, "hello", hello.Type)
	assert.Empty(t, hello.ID, "a hello has no id: it is not resumed")

	code, _ = send(t, addr, "POST", "/v1/sandboxes/ev/exec", "secret",
		`{"code":"sup = start_supervisor(supervisor(children=[{\"id\": \"w\", \"start\": worker(handle_cast=lambda m, s: m)}]))"}`,
		"X-Otpbox-Viewer", "bob")
	require.Equal(t, http.StatusOK, code)
	evs := s.until("snapshot")
	exec := evs[0]
	for _, e := range evs {
		if e.Type == "exec" {
			exec = e
		}
	}
	assert.Equal(t, "bob", exec.Data["by"])
	assert.NotEmpty(t, exec.ID)

	// Details and actions by path.
	code, proc := send(t, addr, "GET", "/v1/sandboxes/ev/process?path=tree1/w", "secret", "")
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "w", proc["id"])
	code, act := send(t, addr, "POST", "/v1/sandboxes/ev/process", "secret", `{"action":"crash","path":"tree1/w"}`)
	require.Equal(t, http.StatusOK, code, "%v", act)
	assert.Equal(t, `exit(pid("`+proc["pid"].(string)+`"), "crashed")`, act["code"])
	evs = s.until("snapshot")
	var changes []string
	for _, e := range evs {
		if e.Type == "tree" {
			changes = append(changes, e.Data["change"].(string))
		}
	}
	assert.Equal(t, []string{"exited", "started", "restarted"}, changes)
	last := evs[len(evs)-1].ID

	for _, c := range []struct {
		body string
		code int
		kind string
	}{
		{`{}`, 400, "missing_field"},
		{`{"action":"kill"}`, 400, "invalid_process"},
		{`{"action":"kill","path":"tree1/nope"}`, 404, "process_not_found"},
		{`{"action":"kill","pid":"<0.99.0>"}`, 404, "process_not_found"},
		{`{"action":"restart","path":"tree1/w"}`, 422, "runtime_error"},
		{`{"action":"dance","path":"tree1/w"}`, 400, "invalid_process"},
		{`{"action":"kill","path":"tree1/w","extra":1}`, 400, "unknown_field"},
	} {
		code, p := send(t, addr, "POST", "/v1/sandboxes/ev/process", "secret", c.body)
		assert.Equal(t, c.code, code, c.body)
		assert.Equal(t, "urn:otpbox:problem:"+c.kind, p["type"], c.body)
	}
	code, p = send(t, addr, "GET", "/v1/sandboxes/ev/process?pid=<0.99.0>", "secret", "")
	assert.Equal(t, http.StatusNotFound, code)
	assert.Equal(t, "urn:otpbox:problem:process_not_found", p["type"])
	code, _ = send(t, addr, "POST", "/v1/sandboxes/ev/exec", "secret", `{"code":"1"}`, "X-Otpbox-Viewer", strings.Repeat("x", 65))
	assert.Equal(t, http.StatusBadRequest, code)
	s.close()

	// Resumed with Last-Event-ID: the executions missed meanwhile.
	code, _ = send(t, addr, "POST", "/v1/sandboxes/ev/exec", "secret", `{"code":"x = 1"}`)
	require.Equal(t, http.StatusOK, code)
	again := openStream(t, addr, "/v1/sandboxes/ev/events", "secret", "Last-Event-ID", last)
	assert.Equal(t, "hello", again.next().Type)
	var codes []any
	for e := again.next(); ; e = again.next() {
		if e.Type == "exec" {
			codes = append(codes, e.Data["code"])
			if e.Data["code"] == "x = 1" {
				break
			}
		}
	}
	// The failed actions since, then the execution.
	assert.Equal(t, "x = 1", codes[len(codes)-1])
	assert.Contains(t, codes, `restart_child(pid("<0.2.0>"), "w")`)

	// Deleting it ends the stream after its terminated event.
	code, _ = send(t, addr, "DELETE", "/v1/sandboxes/ev", "secret", "")
	require.Equal(t, http.StatusNoContent, code)
	again.until("terminated")
	gone := nodeEvents.until("sandbox")
	assert.Equal(t, "terminated", gone[len(gone)-1].Data["change"])
}

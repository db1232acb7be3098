package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorded is one request the test server saw.
type recorded struct {
	method, path, query, key, auth, body string
}

// fakeNode answers with the scripted handlers in turn (the last one
// repeats) and records every request.
type fakeNode struct {
	mu       sync.Mutex // protects seen and next
	seen     []recorded
	next     int
	handlers []http.HandlerFunc
}

func newFake(t *testing.T, handlers ...http.HandlerFunc) (*fakeNode, *Client) {
	t.Helper()
	f := &fakeNode{handlers: handlers}
	ts := httptest.NewServer(f)
	t.Cleanup(ts.Close)
	c, err := NewClient(&Config{Address: ts.URL, Token: "secret", HTTPClient: ts.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

func (f *fakeNode) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.seen = append(f.seen, recorded{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get(IdempotencyKeyHeader), r.Header.Get("Authorization"), string(b)})
	h := f.handlers[min(f.next, len(f.handlers)-1)]
	f.next++
	f.mu.Unlock()
	h(w, r)
}

func (f *fakeNode) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.seen...)
}

func answer(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

func refuse(status int, kind, retryAfter string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"type": ProblemTypePrefix + kind, "title": kind, "status": status, "detail": "try later"})
	}
}

// waits replaces c's sleep with one that records the waits and returns
// at once.
func waits(c *Client) *[]time.Duration {
	var got []time.Duration
	c.sleep = func(ctx context.Context, d time.Duration) error {
		got = append(got, d)
		return ctx.Err()
	}
	return &got
}

func TestRetryAfterIsHonouredAndTheKeyReused(t *testing.T) {
	f, c := newFake(t, refuse(429, "overloaded", "2"), refuse(503, "shutting_down", "1"),
		answer(200, `{"value":"2","output":"","steps":3,"duration_us":12}`))
	slept := waits(c)
	res, err := c.Sandboxes().Exec(context.Background(), "s1", "1 + 1")
	if err != nil {
		t.Fatal(err)
	}
	if res.Value != "2" || res.Steps != 3 || res.Duration != 12*time.Microsecond {
		t.Errorf("result = %+v", res)
	}
	if want := []time.Duration{2 * time.Second, time.Second}; !equal(*slept, want) {
		t.Errorf("waits = %v, want %v", *slept, want)
	}
	reqs := f.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	key := reqs[0].key
	if key == "" {
		t.Fatal("no Idempotency-Key on a POST")
	}
	for _, r := range reqs {
		if r.key != key {
			t.Errorf("attempt sent key %q, the first %q: a retry must reuse the call's key", r.key, key)
		}
		if r.auth != "Bearer secret" || r.path != "/v1/sandboxes/s1/exec" || r.body != `{"code":"1 + 1"}` {
			t.Errorf("request = %+v", r)
		}
	}
}

func TestRetriesAreBounded(t *testing.T) {
	f, c := newFake(t, refuse(503, "unavailable", ""))
	slept := waits(c)
	_, err := c.Sandboxes().Info(context.Background(), "s1")
	var e *Error
	if !errors.As(err, &e) || e.StatusCode != 503 || e.Kind != ErrUnavailable || !e.Temporary() {
		t.Fatalf("err = %#v, want the last 503", err)
	}
	if n := len(f.requests()); n != DefaultMaxAttempts {
		t.Errorf("%d attempts, want %d", n, DefaultMaxAttempts)
	}
	// No Retry-After: the backoff doubles.
	if want := []time.Duration{DefaultBackoff, 2 * DefaultBackoff}; !equal(*slept, want) {
		t.Errorf("waits = %v, want %v", *slept, want)
	}
	if f.requests()[0].key != "" {
		t.Error("a GET carries an Idempotency-Key")
	}
}

func TestNoRetryWhenTheWaitIsTooLong(t *testing.T) {
	for _, tc := range []struct {
		name  string
		after string
		ctx   func() (context.Context, context.CancelFunc)
	}{
		{"over MaxWait", "60", func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }},
		{"past the deadline", "2", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), time.Second)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, c := newFake(t, refuse(429, "overloaded", tc.after), answer(201, `{"id":"s1"}`))
			slept := waits(c)
			ctx, cancel := tc.ctx()
			defer cancel()
			_, err := c.Sandboxes().Create(ctx, "s1", Requirements{})
			if !errors.Is(err, ErrOverloaded) {
				t.Fatalf("err = %v, want the 429", err)
			}
			if len(f.requests()) != 1 || len(*slept) != 0 {
				t.Errorf("%d requests, waits %v: want one attempt and no wait", len(f.requests()), *slept)
			}
		})
	}
}

func TestOnlyRefusalsAreRetried(t *testing.T) {
	for _, status := range []int{400, 401, 404, 409, 422, 500, 501} {
		f, c := newFake(t, refuse(status, "whatever", "1"))
		waits(c)
		if err := c.Sandboxes().Terminate(context.Background(), "s1"); err == nil {
			t.Fatalf("%d: no error", status)
		}
		if n := len(f.requests()); n != 1 {
			t.Errorf("%d was sent %d times", status, n)
		}
	}
	f, c := newFake(t, refuse(503, "not_ready", "1"))
	c.retry = NoRetry.withDefaults()
	waits(c)
	_, _ = c.Cluster().Status(context.Background())
	if n := len(f.requests()); n != 1 {
		t.Errorf("NoRetry sent %d attempts", n)
	}
}

func TestCancelledWaitReturnsTheRefusal(t *testing.T) {
	_, c := newFake(t, refuse(429, "overloaded", "1"))
	ctx, cancel := context.WithCancel(context.Background())
	c.sleep = func(context.Context, time.Duration) error { cancel(); return context.Canceled }
	_, err := c.Sandboxes().Create(ctx, "s1", Requirements{})
	if !errors.Is(err, ErrOverloaded) {
		t.Errorf("err = %v", err)
	}
}

func TestProblemsAreTypedErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		body  string
		check func(t *testing.T, e *Error)
	}{
		{"limit", `{"type":"urn:otpbox:problem:limit_exceeded","title":"Execution limit exceeded","status":422,"detail":"steps","limit":"steps"}`,
			func(t *testing.T, e *Error) {
				if e.Kind != ErrLimitExceeded || e.Limit != "steps" || !strings.Contains(e.Error(), "[limit steps]") {
					t.Errorf("%#v: %s", e, e)
				}
			}},
		{"syntax", `{"type":"urn:otpbox:problem:syntax_error","title":"Syntax error","status":422,"detail":"got newline","line":2,"col":5}`,
			func(t *testing.T, e *Error) {
				if e.Kind != ErrSyntax || e.Line != 2 || e.Col != 5 || e.Error() != "Syntax error (422): got newline [line 2, col 5]" {
					t.Errorf("%#v: %s", e, e)
				}
			}},
		{"runtime with extras", `{"type":"urn:otpbox:problem:runtime_error","title":"Runtime error","status":422,"detail":"boom","backtrace":"Traceback…","instance":"/x"}`,
			func(t *testing.T, e *Error) {
				if e.Kind != ErrRuntime || e.Backtrace != "Traceback…" || string(e.Extra["instance"]) != `"/x"` {
					t.Errorf("%#v", e)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, c := newFake(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/problem+json")
				w.WriteHeader(422)
				_, _ = io.WriteString(w, tc.body)
			})
			_, err := c.Sandboxes().Exec(context.Background(), "s1", "x")
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, not an *Error", err)
			}
			if e.StatusCode != 422 || e.Method != "POST" || e.Path != "/v1/sandboxes/s1/exec" {
				t.Errorf("%#v", e)
			}
			if !errors.Is(err, e.Kind) || errors.Is(err, ErrNotFound) {
				t.Errorf("errors.Is by kind is wrong for %v", e.Kind)
			}
			tc.check(t, e)
		})
	}
	// An answer that is not a problem keeps its status and short text.
	_, c := newFake(t, func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "bad gateway", 502) })
	_, err := c.Cache().Stats(context.Background())
	var e *Error
	if !errors.As(err, &e) || e.StatusCode != 502 || e.Detail != "bad gateway" || e.Kind != "" {
		t.Errorf("plain 502: %#v", err)
	}
	if e.Error() != "Bad Gateway (502): bad gateway" {
		t.Errorf("message %q", e.Error())
	}
}

func TestEachCallHasItsOwnKey(t *testing.T) {
	f, c := newFake(t, answer(201, `{"id":"x"}`))
	ctx := context.Background()
	_, _ = c.Sandboxes().Create(ctx, "a", Requirements{})
	_, _ = c.Sandboxes().Create(ctx, "b", Requirements{})
	_, _ = c.Sandboxes().Create(WithIdempotencyKey(ctx, "mine"), "c", Requirements{})
	r := f.requests()
	if r[0].key == r[1].key || len(r[0].key) < 20 || r[2].key != "mine" {
		t.Errorf("keys %q %q %q", r[0].key, r[1].key, r[2].key)
	}
}

func TestEndpointsSendTheirRequests(t *testing.T) {
	f, c := newFake(t, answer(200, `{}`))
	ctx := context.Background()
	s, cl := c.Sandboxes(), c.Cluster()
	_, _ = s.List(ctx, &ListOptions{Node: "n1"})
	_, _ = s.Restart(ctx, "a b")
	_, _ = s.Migrate(ctx, "s1", "n2")
	_, _ = s.Tree(ctx, "s1")
	_, _ = s.Restarts(ctx, "s1")
	_, _ = s.Trace(ctx, "s1")
	_, _ = s.Create(ctx, "s1", Requirements{MemoryLimit: 1 << 30, Limits: Limits{MaxDuration: 2 * time.Second}})
	_, _ = cl.Nodes(ctx)
	_, _ = cl.Load(ctx)
	_, _ = cl.Scaling(ctx)
	_, _ = cl.Drain(ctx, "n/2")
	_, _ = cl.Rebalance(ctx)
	_, _ = cl.OptimalNode(ctx, NodeRequirements{Locality: "east"})
	_ = c.Cache().Clear(ctx, TierL1)
	_ = c.Cache().Clear(ctx, "")
	_, _ = c.Memory().Stats(ctx)
	_, _ = c.Memory().Optimize(ctx)
	_ = c.Health().Live(ctx)
	want := []recorded{
		{method: "GET", path: "/v1/sandboxes", query: "node=n1"},
		{method: "POST", path: "/v1/sandboxes/a b/restart", body: "{}"},
		{method: "POST", path: "/v1/sandboxes/s1/migrate", body: `{"node":"n2"}`},
		{method: "GET", path: "/v1/sandboxes/s1/tree"},
		{method: "GET", path: "/v1/sandboxes/s1/restarts"},
		{method: "GET", path: "/v1/sandboxes/s1/trace"},
		{method: "POST", path: "/v1/sandboxes", body: `{"id":"s1","requirements":{"memory_limit":1073741824,"limits":{"max_duration":2000000000}}}`},
		{method: "GET", path: "/v1/cluster/nodes"},
		{method: "GET", path: "/v1/cluster/load"},
		{method: "GET", path: "/v1/cluster/scaling"},
		{method: "POST", path: "/v1/cluster/nodes/n/2/drain"},
		{method: "POST", path: "/v1/cluster/rebalance"},
		{method: "POST", path: "/v1/cluster/optimal-node", body: `{"memory_bytes":0,"cpu":0,"locality":"east"}`},
		{method: "DELETE", path: "/v1/cache", query: "tier=l1"},
		{method: "DELETE", path: "/v1/cache"},
		{method: "GET", path: "/v1/memory"},
		{method: "POST", path: "/v1/memory/optimize"},
		{method: "GET", path: "/v1/health/live"},
	}
	got := f.requests()
	if len(got) != len(want) {
		t.Fatalf("%d requests, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.method != w.method || g.path != w.path || g.query != w.query || g.body != w.body {
			t.Errorf("request %d = %s %s?%s %s, want %s %s?%s %s", i, g.method, g.path, g.query, g.body, w.method, w.path, w.query, w.body)
		}
	}
}

func TestReadinessIsAnAnswer(t *testing.T) {
	for _, tc := range []struct {
		h    http.HandlerFunc
		want Readiness
	}{
		{answer(200, `{"status":"ready"}`), Readiness{Status: Ready, StatusCode: 200}},
		{refuse(429, "degraded", "1"), Readiness{Status: Degraded, Reason: "try later", StatusCode: 429}},
		{refuse(503, "not_ready", "1"), Readiness{Status: NotReady, Reason: "try later", StatusCode: 503}},
	} {
		f, c := newFake(t, tc.h)
		waits(c)
		got, err := c.Health().Ready(context.Background())
		if err != nil || *got != tc.want {
			t.Errorf("ready = %+v, %v; want %+v", got, err, tc.want)
		}
		if n := len(f.requests()); n != 1 {
			t.Errorf("readiness asked %d times: health is never retried", n)
		}
	}
}

func TestParseAddress(t *testing.T) {
	for in, want := range map[string]string{
		"":                      DefaultAddress,
		"127.0.0.1:4100":        "http://127.0.0.1:4100",
		"https://node.example/": "https://node.example",
	} {
		u, err := ParseAddress(in)
		if err != nil || u.String() != want {
			t.Errorf("ParseAddress(%q) = %v, %v; want %s", in, u, err, want)
		}
	}
	for _, bad := range []string{"ftp://x", "http://", "://"} {
		if _, err := NewClient(&Config{Address: bad}); err == nil {
			t.Errorf("NewClient(%q) accepted", bad)
		}
	}
}

func TestRetryAfterDate(t *testing.T) {
	at := time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat)
	if d := retryAfter(at); d <= time.Second || d > 3*time.Second {
		t.Errorf("retryAfter(%q) = %v", at, d)
	}
	for _, v := range []string{"", "-1", "soon"} {
		if d := retryAfter(v); d != 0 {
			t.Errorf("retryAfter(%q) = %v", v, d)
		}
	}
}

func equal(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// FuzzDecodeError: any answer body, content type and Retry-After gives an
// *Error with the answer's status, never a panic.
func FuzzDecodeError(f *testing.F) {
	f.Add(422, "application/problem+json", `{"type":"urn:otpbox:problem:limit_exceeded","status":422,"limit":"steps"}`, "1")
	f.Add(503, "application/json", `{"type":7,"line":"x"}`, "Wed, 21 Oct 2015 07:28:00 GMT")
	f.Add(500, "text/plain", "oops", "-3")
	f.Add(429, "application/problem+json; charset=utf-8", `[1,2]`, "")
	f.Fuzz(func(t *testing.T, status int, ctype, body, after string) {
		if status < 100 || status > 999 {
			return
		}
		resp := &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {ctype}, "Retry-After": {after}},
			Body: io.NopCloser(strings.NewReader(body))}
		e := DecodeError(resp, "GET", "/v1/x")
		if e.StatusCode != status || e.RetryAfter < 0 {
			t.Fatalf("DecodeError = %#v", e)
		}
		_ = e.Error()
	})
}

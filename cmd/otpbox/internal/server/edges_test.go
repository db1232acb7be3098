package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otpbox/otpbox/breaker"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/hosttest"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/server"
	"github.com/otpbox/otpbox/sandbox"
)

// counting counts the calls that would wake a sandbox.
type counting struct {
	*hosttest.Host
	tree atomic.Int64
}

func (c *counting) Tree(ctx context.Context, id string) (*server.Tree, error) {
	c.tree.Add(1)
	return c.Host.Tree(ctx, id)
}

// TestReadsNeedTheToken: the issue's "anonymous GET /tree wakes an idle
// sandbox": with a token, every route but liveness and readiness needs it,
// and the host is not called without it.
func TestReadsNeedTheToken(t *testing.T) {
	h := &counting{Host: hosttest.New()}
	a := newAPI(t, server.Config{Sandboxes: h, Token: "w"})
	if _, err := h.Create(context.Background(), "s1", server.Requirements{}); err != nil {
		t.Fatal(err)
	}
	for _, route := range []string{
		"/v1/sandboxes", "/v1/sandboxes/s1", "/v1/sandboxes/s1/tree", "/v1/sandboxes/s1/trace",
		"/v1/sandboxes/s1/restarts", "/v1/cluster/status", "/v1/cluster/nodes", "/v1/cluster/load",
		"/v1/cluster/scaling", "/v1/cache/stats", "/v1/memory", "/v1/nowhere",
	} {
		a.do("GET", route, "").wantProblem(t, http.StatusUnauthorized, "unauthorized")
	}
	if n := h.tree.Load(); n != 0 {
		t.Fatalf("an anonymous GET /tree reached the host %d times", n)
	}
	a.do("GET", "/v1/sandboxes/s1/tree", "", "Authorization", "Bearer w").wantJSON(t, 200, nil)
	if n := h.tree.Load(); n != 1 {
		t.Fatalf("tree calls = %d, want 1", n)
	}
}

// TestReadAndWriteTokens: the read token allows GET and HEAD, and is
// refused with 403 on anything that changes state.
func TestReadAndWriteTokens(t *testing.T) {
	a := newAPI(t, server.Config{Token: "w", ReadToken: "r"})
	a.create("s1", server.Requirements{})
	a.do("GET", "/v1/sandboxes/s1", "", "Authorization", "Bearer r").wantJSON(t, 200, nil)
	a.do("GET", "/v1/sandboxes/s1/trace", "", "Authorization", "Bearer r").wantJSON(t, 200, nil)
	a.do("POST", "/v1/sandboxes/s1/exec", `{"code":"1"}`, "Authorization", "Bearer r").wantProblem(t, http.StatusForbidden, "forbidden")
	a.do("DELETE", "/v1/sandboxes/s1", "", "Authorization", "Bearer r").wantProblem(t, http.StatusForbidden, "forbidden")
	a.do("POST", "/v1/sandboxes/s1/exec", `{"code":"1"}`, "Authorization", "Bearer w").wantJSON(t, 200, nil)
	a.do("GET", "/v1/sandboxes/s1", "", "Authorization", "Bearer w").wantJSON(t, 200, nil)
	a.do("GET", "/v1/sandboxes/s1", "", "Authorization", "Bearer rw").wantProblem(t, 401, "unauthorized")
	a.do("GET", "/v1/sandboxes/s1", "", "Authorization", "Bearer ").wantProblem(t, 401, "unauthorized")
}

func TestMetricsToken(t *testing.T) {
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "m 1\n") })
	a := newAPI(t, server.Config{Token: "w", ReadToken: "r", Metrics: metrics})
	a.do("GET", "/metrics", "").wantProblem(t, 401, "unauthorized")
	if r := a.do("GET", "/metrics", "", "Authorization", "Bearer r"); r.status != 200 {
		t.Fatalf("metrics with the read token: %d %s", r.status, r.body)
	}
	open := newAPI(t, server.Config{Token: "w", Metrics: metrics, MetricsPublic: true})
	if r := open.do("GET", "/metrics", ""); r.status != 200 {
		t.Fatalf("public metrics: %d %s", r.status, r.body)
	}
	open.do("GET", "/v1/sandboxes", "").wantProblem(t, 401, "unauthorized")
}

// TestJSONContentType: the "accepts JSON sent as text/plain".
func TestJSONContentType(t *testing.T) {
	a := newAPI(t, server.Config{})
	r := a.do("POST", "/v1/sandboxes", `{"id":"s1"}`, "Content-Type", "text/plain")
	r.wantProblem(t, http.StatusUnsupportedMediaType, "unsupported_media_type")
	if r.header.Get("Accept-Post") != "application/json" {
		t.Errorf("415 without Accept-Post: %v", r.header)
	}
	a.do("POST", "/v1/sandboxes", `{"id":"s1"}`, "Content-Type", "application/x-www-form-urlencoded").
		wantProblem(t, http.StatusUnsupportedMediaType, "unsupported_media_type")
	a.do("POST", "/v1/sandboxes", `{"id":"s1"}`, "Content-Type", "").
		wantProblem(t, http.StatusUnsupportedMediaType, "unsupported_media_type")
	a.do("POST", "/v1/sandboxes", `{"id":"s1"}`, "Content-Type", "application/json; charset=utf-8").wantJSON(t, 201, nil)
	// No body, no type needed.
	a.do("POST", "/v1/sandboxes/s1/restart", "").wantJSON(t, 200, nil)
}

// hostRequest sends a request with the given Host and Origin headers.
func (a *api) hostRequest(method, path, host string, hdr ...string) response {
	a.t.Helper()
	body := `{"id":"x1"}`
	if strings.HasSuffix(path, "/exec") {
		body = `{"code":"1"}`
	}
	req, _ := http.NewRequest(method, a.ts.URL+path, strings.NewReader(body))
	if method == "GET" || method == "DELETE" {
		req.Body, req.ContentLength = nil, 0
	}
	req.Host = host
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := a.ts.Client().Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// TestHostCheck: DNS rebinding. A page on the attacker's name, rebound
// to 127.0.0.1, sends Host: attacker's name.
func TestHostCheck(t *testing.T) {
	a := newAPI(t, server.Config{Addr: "127.0.0.1:4000", AllowedHosts: []string{"otpbox.internal"}})
	a.hostRequest("GET", "/v1/sandboxes", "rebind.attacker.example").wantProblem(t, http.StatusMisdirectedRequest, "misdirected_request")
	a.hostRequest("GET", "/v1/sandboxes", "rebind.attacker.example:4000").wantProblem(t, http.StatusMisdirectedRequest, "misdirected_request")
	a.hostRequest("POST", "/v1/sandboxes", "attacker.example").wantProblem(t, http.StatusMisdirectedRequest, "misdirected_request")
	for _, host := range []string{"localhost:4000", "127.0.0.1:4000", "127.0.0.2", "[::1]:4000", "app.localhost", "OTPBOX.internal:4000"} {
		if r := a.hostRequest("GET", "/v1/sandboxes", host); r.status != 200 {
			t.Errorf("Host %s: %d %s", host, r.status, r.body)
		}
	}
	// Health answers whatever the name: load balancers probe by address.
	a.hostRequest("GET", "/v1/health/live", "lb.example").wantJSON(t, 200, nil)

	any := newAPI(t, server.Config{AllowedHosts: []string{"*"}})
	any.hostRequest("GET", "/v1/sandboxes", "whatever.example").wantJSON(t, 200, nil)

	// A node on every interface answers its own addresses.
	wild := newAPI(t, server.Config{Addr: "0.0.0.0:4000"})
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, ad := range addrs {
		ip := ad.(*net.IPNet).IP
		wild.hostRequest("GET", "/v1/sandboxes", net.JoinHostPort(ip.String(), "4000")).wantJSON(t, 200, nil)
	}
	wild.hostRequest("GET", "/v1/sandboxes", "rebind.attacker.example").wantProblem(t, http.StatusMisdirectedRequest, "misdirected_request")
}

// TestCrossOrigin: the issue's "any web page the user visits can create
// sandboxes and execute code".
func TestCrossOrigin(t *testing.T) {
	a := newAPI(t, server.Config{AllowedOrigins: []string{"https://console.example"}})
	host := strings.TrimPrefix(a.ts.URL, "http://")
	// A form or fetch() from another site.
	a.hostRequest("POST", "/v1/sandboxes", host, "Origin", "https://evil.example").wantProblem(t, http.StatusForbidden, "cross_origin")
	a.hostRequest("POST", "/v1/sandboxes", host, "Sec-Fetch-Site", "cross-site").wantProblem(t, http.StatusForbidden, "cross_origin")
	a.hostRequest("DELETE", "/v1/sandboxes/x1", host, "Origin", "null").wantProblem(t, http.StatusForbidden, "cross_origin")
	// A preflight from another site is refused; from the configured one granted.
	a.hostRequest("OPTIONS", "/v1/sandboxes", host, "Origin", "https://evil.example", "Access-Control-Request-Method", "POST").
		wantProblem(t, http.StatusForbidden, "cross_origin")
	pre := a.hostRequest("OPTIONS", "/v1/sandboxes", host, "Origin", "https://console.example", "Access-Control-Request-Method", "POST")
	if pre.status != http.StatusNoContent || pre.header.Get("Access-Control-Allow-Origin") != "https://console.example" ||
		!strings.Contains(pre.header.Get("Access-Control-Allow-Headers"), "Idempotency-Key") {
		t.Fatalf("preflight of the allowed origin: %d %v", pre.status, pre.header)
	}
	ok := a.hostRequest("POST", "/v1/sandboxes", host, "Origin", "https://console.example", "Sec-Fetch-Site", "cross-site")
	ok.wantJSON(t, 201, nil)
	if ok.header.Get("Access-Control-Allow-Origin") != "https://console.example" {
		t.Errorf("no CORS header for the allowed origin: %v", ok.header)
	}
	// The node's own console (/ui/) is same-origin.
	a.hostRequest("POST", "/v1/sandboxes/x1/exec", host, "Origin", "http://"+host, "Sec-Fetch-Site", "same-origin").wantJSON(t, 200, nil)
	a.hostRequest("POST", "/v1/sandboxes/x1/exec", host, "Origin", "http://"+host).wantJSON(t, 200, nil)
	// Reads from anywhere are not state-changing (the token guards them).
	a.hostRequest("GET", "/v1/sandboxes", host, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site").wantJSON(t, 200, nil)
	// Clients that are not browsers send no Origin.
	a.hostRequest("DELETE", "/v1/sandboxes/x1", host).wantNoContent(t)
}

func (r response) wantNoContent(t *testing.T) {
	t.Helper()
	if r.status != http.StatusNoContent {
		t.Fatalf("status = %d, want 204; body %s", r.status, r.body)
	}
}

func TestValidOrigin(t *testing.T) {
	for _, o := range []string{"https://console.example", "http://127.0.0.1:8080"} {
		if err := server.ValidOrigin(o); err != nil {
			t.Errorf("ValidOrigin(%q) = %v", o, err)
		}
	}
	for _, o := range []string{"console.example", "https://console.example/ui", "*"} {
		if server.ValidOrigin(o) == nil {
			t.Errorf("ValidOrigin(%q) accepted", o)
		}
	}
}

// TestNoRedirects: the POST /v1//sandboxes, which Go's mux
// answers 307.
func TestNoRedirects(t *testing.T) {
	a := newAPI(t, server.Config{})
	for _, p := range []string{"/v1//sandboxes", "/v1/sandboxes/", "/v1/./sandboxes", "/v1/sandboxes/s1/../s2", "//v1/sandboxes"} {
		r := a.do("POST", p, `{"id":"s1"}`)
		if r.status/100 == 3 || r.header.Get("Location") != "" {
			t.Fatalf("POST %s redirected: %d %v", p, r.status, r.header)
		}
		if p == "/v1/sandboxes/" {
			r.wantProblem(t, http.StatusNotFound, "not_found")
			continue
		}
		r.wantProblem(t, http.StatusBadRequest, "invalid_path")
	}
}

// rawServer is the API behind the node's listener and limits, for raw
// TCP requests.
func rawServer(t *testing.T, bodyTimeout time.Duration) string {
	t.Helper()
	srv := server.New(server.Config{Sandboxes: hosttest.New(), BodyTimeout: bodyTimeout})
	ts := httptest.NewUnstartedServer(srv)
	ts.Listener = server.Listener(ts.Listener)
	ts.Config.MaxHeaderBytes = 4 << 10
	ts.Start()
	t.Cleanup(ts.Close)
	return ts.Listener.Addr().String()
}

// raw sends req on a new connection and reads one answer.
func raw(t *testing.T, addr, req string) (*http.Response, server.Problem) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var p server.Problem
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("%q: %d Content-Type %q: %s", strings.SplitN(req, "\r\n", 2)[0], resp.StatusCode, ct, b)
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if p.Status != resp.StatusCode || p.Type == "" || p.Title == "" {
		t.Fatalf("problem %+v for status %d", p, resp.StatusCode)
	}
	return resp, p
}

// TestGoOwnErrorsAreProblems: the issue's "Go's own 400 and 431 answers
// are text/plain".
func TestGoOwnErrorsAreProblems(t *testing.T) {
	addr := rawServer(t, 0)
	cases := []struct {
		name, req string
		status    int
		kind      string
	}{
		{"headers too large", "GET /v1/sandboxes HTTP/1.1\r\nHost: localhost\r\nX-Big: " + strings.Repeat("a", 8<<10) + "\r\n\r\n", 431, "headers_too_large"},
		{"malformed request line", "GARBAGE\r\n\r\n", 400, "bad_request"},
		{"missing Host", "GET /v1/sandboxes HTTP/1.1\r\n\r\n", 400, "bad_request"},
		{"malformed Host", "GET /v1/sandboxes HTTP/1.1\r\nHost: a b\r\n\r\n", 400, "bad_request"},
		{"bad escape in path", "GET /v1/sandboxes/%zz HTTP/1.1\r\nHost: localhost\r\n\r\n", 400, "bad_request"},
		{"bad header name", "GET /v1/sandboxes HTTP/1.1\r\nHost: localhost\r\nBad Header: x\r\n\r\n", 400, "bad_request"},
		{"unknown transfer encoding", "POST /v1/sandboxes HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "not_implemented"},
		{"double slash", "POST /v1//sandboxes HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"id\":\"s\"}\n", 400, "invalid_path"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, p := raw(t, addr, c.req)
			if resp.StatusCode != c.status || p.Kind() != c.kind {
				t.Fatalf("got %d %s (%s), want %d %s", resp.StatusCode, p.Kind(), p.Detail, c.status, c.kind)
			}
		})
	}
}

// TestSlowBody: the issue's "a slowly sent body holds a connection ~30 s
// and the 400 detail then shows socket addresses".
func TestSlowBody(t *testing.T) {
	addr := rawServer(t, 200*time.Millisecond)
	// Half a body, then nothing: the node answers at its body deadline.
	resp, p := raw(t, addr, "POST /v1/sandboxes HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{\"id\":")
	if resp.StatusCode != http.StatusRequestTimeout || p.Kind() != "request_timeout" {
		t.Fatalf("got %d %s", resp.StatusCode, p.Kind())
	}
	if strings.Contains(p.Detail, "127.0.0.1") || strings.Contains(p.Detail, "tcp") {
		t.Fatalf("detail shows the sockets: %q", p.Detail)
	}
}

// TestCircuitOpenProblem: an open breaker is a 503 circuit_open with
// its retry time, and its state shows with the node.
func TestCircuitOpenProblem(t *testing.T) {
	set := breaker.NewSet(breaker.Config{Failures: 1, OpenFor: 30 * time.Second})
	b := set.Get("store")
	_ = b.Do(func() error { return errors.New("redis down") })
	a := newAPI(t, server.Config{Sandboxes: failing{Host: hosttest.New(), err: &sandbox.StoreError{Op: "append", Err: b.Check()}},
		Breakers: func(string) []breaker.Status { return set.Status("") }})
	r := a.do("POST", "/v1/sandboxes/s1/exec", `{"code":"1"}`)
	p := r.wantProblem(t, http.StatusServiceUnavailable, "circuit_open")
	if ra := r.header.Get("Retry-After"); ra != "30" && ra != "29" {
		t.Errorf("Retry-After = %q", ra)
	}
	if !strings.Contains(p.Detail, "the sandbox store") {
		t.Errorf("detail = %q", p.Detail)
	}
	var nodes server.NodeList
	a.do("GET", "/v1/cluster/nodes", "").wantJSON(t, 200, &nodes)
	if bs := nodes.Nodes[0].Breakers; len(bs) != 1 || bs[0].Name != "store" || bs[0].State != breaker.Open {
		t.Fatalf("breakers = %+v", bs)
	}
}

// TestShed: while Config.Shed refuses, new work gets 429 overloaded with
// Retry-After before its token or body is looked at; reads, deletes and
// health are never refused.
func TestShed(t *testing.T) {
	var shed atomic.Bool
	a := newAPI(t, server.Config{Token: "w", Shed: shed.Load})
	a.do("POST", "/v1/sandboxes", `{"id":"s1"}`, "Authorization", "Bearer w").wantJSON(t, 201, nil)
	shed.Store(true)
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/v1/sandboxes", `{"id":"s2"}`},
		{"POST", "/v1/sandboxes/s1/exec", `{"code":"1"}`},
		{"POST", "/v1/sandboxes/s1/restart", ``},
		{"POST", "/v1/sandboxes/s1/exec", `not json`}, // the body is not read
	} {
		r := a.do(c.method, c.path, c.body) // no token either
		r.wantProblem(t, http.StatusTooManyRequests, "overloaded")
		if r.header.Get("Retry-After") != "1" {
			t.Errorf("%s %s: Retry-After %q", c.method, c.path, r.header.Get("Retry-After"))
		}
	}
	a.do("GET", "/v1/sandboxes/s1", "", "Authorization", "Bearer w").wantJSON(t, 200, nil)
	a.do("GET", "/v1/sandboxes/s1", "").wantProblem(t, 401, "unauthorized")
	a.do("GET", "/v1/health/live", "").wantJSON(t, 200, nil)
	if r := a.do("DELETE", "/v1/sandboxes/s1", "", "Authorization", "Bearer w"); r.status != http.StatusNoContent {
		t.Errorf("DELETE while shedding: %d %s", r.status, r.body)
	}
	shed.Store(false)
	a.do("POST", "/v1/sandboxes", `{"id":"s2"}`, "Authorization", "Bearer w").wantJSON(t, 201, nil)
}

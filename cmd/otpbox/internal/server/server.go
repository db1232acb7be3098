package server

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/otpbox/otpbox/breaker"
	"github.com/otpbox/otpbox/sandbox"
)

// Defaults of Config.
const (
	// DefaultMaxBody is the largest request body accepted: 1 MiB.
	DefaultMaxBody = 1 << 20
	// DefaultRequestTimeout bounds the handling of one request.
	DefaultRequestTimeout = 30 * time.Second
	// DefaultRetryAfter is the Retry-After of 429 and 503 answers.
	DefaultRetryAfter = time.Second
	// DefaultBodyTimeout bounds the reading of a request's body.
	DefaultBodyTimeout = 10 * time.Second
)

// Config configures a Server. Only Sandboxes is required; every other zero
// field means the documented default.
type Config struct {
	// Sandboxes is the sandbox host the API drives. Required.
	Sandboxes Sandboxes
	// Shed, when set, is asked before each request of new work (a
	// create, an execution, a process action, a restart): true refuses
	// it at once with 429 overloaded and Retry-After, before the token
	// is checked or the body read, so that a refusal costs the node
	// little (see package overload).
	Shed func() bool
	// ClaimKey, when set, records an Idempotency-Key's request
	// fingerprint where every node sees it in one round trip (Redis'
	// SET NX GET): it returns the fingerprint the key had (want when it
	// had none); ok false leaves it to Cache.
	ClaimKey func(ctx context.Context, key string, want []byte, ttl time.Duration) (got []byte, ok bool)
	// Counts returns the sandboxes of this node by state, for the cluster
	// endpoints. Default: counted from Sandboxes.List.
	Counts func() (active, passivated int)
	// Node names this node in the cluster endpoints. Default "local".
	Node string
	// Addr is the HTTP address the cluster endpoints advertise.
	Addr string
	// Cluster, when set, answers the cluster endpoints for a cluster
	// member; without it they answer for this node alone.
	Cluster *ClusterView
	// Token, when set, must be sent as "Authorization: Bearer <token>" on
	// every request but liveness, readiness and (with MetricsPublic)
	// /metrics: 401 otherwise. It allows everything.
	Token string
	// ReadToken, when set (with Token), is a second token that allows GET
	// and HEAD requests only (reads and event streams); 403 on anything
	// else. As Consul's ACL policies separate read from write.
	ReadToken string
	// MetricsPublic serves /metrics without a token (default: a node with
	// a token requires it on /metrics too).
	MetricsPublic bool
	// AllowedHosts are the Host names the node answers besides its own
	// address (Addr) and the loopback names; "*" allows any. 421
	// otherwise. See browser.go.
	AllowedHosts []string
	// AllowedOrigins are the browser origins (scheme://host[:port]) that
	// may send state-changing requests and get CORS answers; 403 for
	// other cross-origin requests. Same-origin requests always pass.
	AllowedOrigins []string
	// BodyTimeout bounds the reading of a request's body (default 10 s):
	// a body that arrives slower gets 408.
	BodyTimeout time.Duration
	// MaxBody is the largest request body, in bytes (default 1 MiB); a
	// larger one gets 413.
	MaxBody int64
	// RequestTimeout bounds each request's context (default 30 s).
	RequestTimeout time.Duration
	// RetryAfter is sent with 429 and 503 answers (default 1 s).
	RetryAfter time.Duration
	// Ready reports the node's readiness for /v1/health/ready. Default:
	// always ready. It is not consulted once draining began.
	Ready func(context.Context) Readiness
	// Metrics, when set, is served at GET /metrics.
	Metrics http.Handler
	// Cache, when set, answers the cache endpoints; without it they are
	// 501.
	Cache Cache
	// Memory, when set, answers the memory endpoints; without it they
	// are 501.
	Memory Memory
	// Breakers, when set, returns the circuit breakers shown with a node
	// in GET /v1/cluster/nodes (this node's own ones with its own name).
	Breakers func(node string) []breaker.Status
	// Console, when set, serves the browser console under /ui/ (its
	// static files need no token: the console asks for one and sends it
	// with every API call it makes).
	Console http.Handler
	// Events, when set, is the node's event bus, streamed at GET
	// /v1/events (501 without it).
	Events *NodeEvents
	// Recorder receives request and sandbox outcomes. Default: none.
	Recorder Recorder
	// Logger logs internal errors. Default: slog.Default().
	Logger *slog.Logger
}

// Recorder receives what the API observes; the node's metrics implement
// it. Methods are called concurrently from request goroutines and must
// not block. Every string argument comes from a small fixed set.
type Recorder interface {
	// Request records one HTTP request by method, route pattern ("other"
	// when no route matched) and status.
	Request(method, route string, status int, d time.Duration)
	// Lifecycle records a sandbox create, terminate, restart or migrate;
	// result is "ok" or the problem kind.
	Lifecycle(op, result string)
	// Executed records one execution; result is "ok" or the problem kind,
	// limit the exceeded limit of a limit_exceeded result, d the
	// execution's own duration (zero unless ok).
	Executed(result, limit string, d time.Duration)
}

type nopRecorder struct{}

func (nopRecorder) Request(string, string, int, time.Duration) {}
func (nopRecorder) Lifecycle(string, string)                   {}
func (nopRecorder) Executed(string, string, time.Duration)     {}

// Server is the HTTP API of one node, an http.Handler. It is safe for
// concurrent use.
type Server struct {
	cfg      Config
	mux      *http.ServeMux
	routes   map[string]bool // registered patterns: the bounded route label set
	draining atomic.Bool
	drained  context.Context // done once draining began: event streams end
	drain    context.CancelFunc
	tokens   tokens
	hosts    hosts
	origins  origins
}

var _ http.Handler = (*Server)(nil)

// New returns the API over cfg.Sandboxes. It panics if Sandboxes is nil
// or an AllowedOrigins entry is not an origin (check them with
// ValidOrigin).
func New(cfg Config) *Server {
	if cfg.Sandboxes == nil {
		panic("server: nil Sandboxes")
	}
	if cfg.Node == "" {
		cfg.Node = "local"
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = DefaultRetryAfter
	}
	if cfg.Ready == nil {
		cfg.Ready = func(context.Context) Readiness { return Readiness{Status: Ready} }
	}
	if cfg.Recorder == nil {
		cfg.Recorder = nopRecorder{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.BodyTimeout <= 0 {
		cfg.BodyTimeout = DefaultBodyTimeout
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), routes: make(map[string]bool),
		tokens: newTokens(cfg.Token, cfg.ReadToken), hosts: newHosts(cfg.Addr, cfg.Node, cfg.AllowedHosts)}
	o, err := newOrigins(cfg.AllowedOrigins)
	if err != nil {
		panic("server: " + err.Error())
	}
	s.origins = o
	s.drained, s.drain = context.WithCancel(context.Background())
	if s.cfg.Counts == nil {
		s.cfg.Counts = s.countFromList
	}
	s.register()
	return s
}

// Routes returns the route patterns the server serves ("POST
// /v1/sandboxes", …), sorted: the values of the route label of the
// request metrics besides "other".
func (s *Server) Routes() []string {
	return slices.Sorted(maps.Keys(s.routes))
}

// BeginDrain makes the node refuse new work: readiness answers 503 and
// every POST gets 503 with Retry-After. Reads, deletes, health and metrics
// keep working. It cannot be undone.
func (s *Server) BeginDrain() {
	s.draining.Store(true)
	s.drain() // event streams end, so the HTTP server's shutdown is not held by them
}

// Draining reports whether BeginDrain was called.
func (s *Server) Draining() bool { return s.draining.Load() }

func (s *Server) register() {
	// Sandboxes.
	s.handle("POST /v1/sandboxes", s.create)
	s.handle("GET /v1/sandboxes", s.list)
	s.handle("GET /v1/sandboxes/{id}", s.info)
	s.handle("DELETE /v1/sandboxes/{id}", s.terminate)
	s.handle("POST /v1/sandboxes/{id}/exec", s.execute)
	s.handle("POST /v1/sandboxes/{id}/restart", s.restart)
	s.handle("POST /v1/sandboxes/{id}/migrate", s.migrate)
	s.handle("GET /v1/sandboxes/{id}/tree", s.tree)
	s.handle("GET /v1/sandboxes/{id}/restarts", s.restarts)
	s.handle("GET /v1/sandboxes/{id}/trace", s.trace)
	s.handle("GET /v1/sandboxes/{id}/process", s.process)
	s.handle("POST /v1/sandboxes/{id}/process", s.act)
	s.stream("GET /v1/sandboxes/{id}/events", s.sandboxEvents)
	s.stream("GET /v1/events", s.nodeEvents)
	// Cluster, cache, memory.
	s.handle("GET /v1/cluster/status", s.clusterStatus)
	s.handle("GET /v1/cluster/nodes", s.clusterNodes)
	s.handle("GET /v1/cluster/load", s.clusterLoad)
	s.handle("POST /v1/cluster/nodes/{node}/drain", s.clusterDrain)
	s.handle("GET /v1/cluster/scaling", s.clusterScaling)
	s.handle("POST /v1/cluster/rebalance", s.clusterRebalance)
	s.handle("POST /v1/cluster/optimal-node", s.clusterOptimalNode)
	s.handle("GET /v1/cache/stats", s.cacheStats)
	s.handle("DELETE /v1/cache", s.cacheClear)
	s.handle("GET /v1/memory", s.memory)
	s.handle("POST /v1/memory/optimize", s.optimizeMemory)
	// Health and metrics.
	s.handle("GET /v1/health/live", s.live)
	s.handle("GET /v1/health/ready", s.ready)
	if s.cfg.Console != nil {
		s.mux.Handle("GET /ui/", s.cfg.Console)
		s.routes["GET /ui/"] = true
		s.mux.Handle("GET /ui", http.RedirectHandler("/ui/", http.StatusMovedPermanently))
		s.routes["GET /ui"] = true
	}
	if s.cfg.Metrics != nil {
		s.mux.Handle("GET /metrics", s.cfg.Metrics)
		s.routes["GET /metrics"] = true
	}
}

// handle registers h under pattern behind the checks every API route
// shares: refusal of new work while draining, the body's deadline and
// the request timeout. (The token, Host, Origin and Content-Type checks
// run in ServeHTTP, for every path.)
func (s *Server) handle(pattern string, h http.HandlerFunc) {
	s.routes[pattern] = true
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		mutating := r.Method == http.MethodPost || r.Method == http.MethodDelete
		if r.ContentLength != 0 {
			// A body sent slowly holds a connection: it must arrive within
			// BodyTimeout (decode answers 408 otherwise). Not every
			// ResponseWriter has a connection (tests' recorders).
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.cfg.BodyTimeout))
		}
		if r.Method == http.MethodPost && s.draining.Load() {
			writeProblem(w, problem(http.StatusServiceUnavailable, "shutting_down", "Shutting down",
				"the node is draining and accepts no new work").retry(s.cfg.RetryAfter))
			return
		}
		r, ok := s.idempotent(w, r)
		if !ok {
			return
		}
		viewer, p := viewerOf(r, "")
		if p != nil {
			writeProblem(w, p)
			return
		}
		ctx, cancel := context.WithTimeout(sandbox.WithViewer(r.Context(), viewer), s.cfg.RequestTimeout)
		defer cancel()
		h(w, r.WithContext(ctx))
		if mutating {
			s.forgetCounts() // the sandboxes changed: count afresh
		}
	})
}

// stream registers an event stream's handler: no request timeout (a
// stream lasts as long as its client), and it ends when the node drains.
func (s *Server) stream(pattern string, h http.HandlerFunc) {
	s.routes[pattern] = true
	s.mux.HandleFunc(pattern, h)
}

// ServeHTTP routes the request, answers unmatched paths and methods with
// problem details, and records the request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	route := s.serve(sw, r)
	if !s.routes[route] {
		route = "other" // unmatched, or a path that is not canonical
	}
	s.cfg.Recorder.Request(r.Method, route, sw.code(), time.Since(start))
}

// serve runs the checks every request passes, in order (the path, the
// Host and Origin, the token, the body's type), then the route's handler;
// it returns the route pattern ("" when none matched).
func (s *Server) serve(w http.ResponseWriter, r *http.Request) string {
	if !canonical(w, r) {
		return ""
	}
	h, route := s.mux.Handler(r)
	if shedRoutes[route] && s.cfg.Shed != nil && s.cfg.Shed() {
		writeProblem(w, problemFor(errShed, s.cfg.RetryAfter))
		return route
	}
	if !s.browserChecks(w, r, route) || !s.authorize(w, r, route) {
		return route
	}
	if route == "" {
		unmatched(w, r, h)
		return route
	}
	if !jsonBody(w, r) {
		return route
	}
	s.mux.ServeHTTP(w, r)
	return route
}

// errShed is the refusal of new work that Config.Shed decided.
var errShed = fmt.Errorf("%w: the node's CPU is saturated: part of the new work is refused so that the rest stays fast; retry after the Retry-After", ErrOverloaded)

// shedRoutes are the routes of new work that Config.Shed may refuse.
var shedRoutes = map[string]bool{
	"POST /v1/sandboxes":              true,
	"POST /v1/sandboxes/{id}/exec":    true,
	"POST /v1/sandboxes/{id}/process": true,
	"POST /v1/sandboxes/{id}/restart": true,
}

// canonical answers a path the mux would redirect (double slashes, dot
// segments) with 400 invalid_path and returns false: an API client must
// not be sent elsewhere, least of all a POST.
func canonical(w http.ResponseWriter, r *http.Request) bool {
	p := r.URL.Path
	if p == "" || p[0] != '/' {
		writeProblem(w, problem(http.StatusBadRequest, "invalid_path", "Invalid path", "the path must start with /"))
		return false
	}
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	if c != p {
		writeProblem(w, problem(http.StatusBadRequest, "invalid_path", "Invalid path",
			fmt.Sprintf("the path %q is not canonical (empty or dot segments); did you mean %q?", p, c)))
		return false
	}
	return true
}

// unmatched turns the mux's own 404 and 405 answers (h) into problems,
// keeping the Allow header of a 405.
func unmatched(w http.ResponseWriter, r *http.Request, h http.Handler) {
	c := &capture{header: make(http.Header)}
	h.ServeHTTP(c, r)
	if c.status == http.StatusMethodNotAllowed {
		allow := c.header.Get("Allow")
		w.Header().Set("Allow", allow)
		writeProblem(w, problem(http.StatusMethodNotAllowed, "method_not_allowed", "Method not allowed",
			r.Method+" is not allowed on "+r.URL.Path+"; allowed: "+allow))
		return
	}
	// Anything else the mux answers (404, or a redirect to a cleaned
	// path that canonical did not catch) is a missing route.
	writeProblem(w, problem(http.StatusNotFound, "not_found", "Not found", "no route for "+r.Method+" "+r.URL.Path))
}

// fail answers err as a problem and returns its kind. Internal errors are
// logged, since their detail is not sent.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) string {
	p := problemFor(err, s.cfg.RetryAfter)
	switch p.Kind() {
	case "internal":
		s.cfg.Logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	case "store_unavailable":
		// The store's own words (file names, bolt's) stay in the log.
		s.cfg.Logger.Warn("sandbox store failed", "method", r.Method, "path", r.URL.Path, "err", err)
		p.Detail = "the sandbox store failed or is closed; the request had no effect, retry later"
	case "not_found":
		if id := r.PathValue("id"); id != "" {
			p.Detail = fmt.Sprintf("no sandbox %q on this node or cluster", id)
		}
	}
	writeProblem(w, p)
	return p.Kind()
}

// statusWriter remembers the status written through it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// capture records a handler's status and headers and drops its body.
type capture struct {
	header http.Header
	status int
}

func (c *capture) Header() http.Header         { return c.header }
func (c *capture) Write(b []byte) (int, error) { return len(b), nil }
func (c *capture) WriteHeader(code int)        { c.status = code }

package metrics

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every metric of the node.
const Namespace = "otpbox"

// Label values outside these sets are reported as "other".
var (
	methods = set("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
	limits  = set("steps", "duration", "code_size", "output_size", "globals", "heap", "actors", "mailbox", "journal", "replay")
	trees   = set("node", "sandbox")
	ops     = []string{"create", "terminate", "restart", "migrate"}
)

// BuildInfo identifies the running binary in otpbox_build_info.
type BuildInfo struct {
	Version, Revision, GoVersion string
}

// Metrics holds the registry and the node's instruments. Its methods are
// safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	lifecycle    *prometheus.CounterVec
	executions   *prometheus.CounterVec
	execDuration prometheus.Histogram
	limitHits    *prometheus.CounterVec
	restarts     *prometheus.CounterVec
	shutdowns    *prometheus.CounterVec
	deadLetters  prometheus.Counter
}

// New returns the node's metrics on a fresh registry, with the build
// info, Go runtime and process collectors registered.
func New(build BuildInfo) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "http_requests_total",
			Help: "HTTP requests by method, route pattern and status code.",
		}, []string{"method", "route", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16), // 0.5 ms … 16 s
		}, []string{"route"}),
		lifecycle: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "sandbox_lifecycle_total",
			Help: "Sandbox creates, terminates, restarts and migrations by result (ok or the problem kind).",
		}, []string{"op", "result"}),
		executions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "sandbox_executions_total",
			Help: "Code executions by result (ok or the problem kind).",
		}, []string{"result"}),
		execDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "sandbox_execution_duration_seconds",
			Help:    "Duration of successful executions, as measured by the sandbox.",
			Buckets: prometheus.ExponentialBuckets(0.00001, 4, 11), // 10 µs … 10.5 s
		}),
		limitHits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "sandbox_limit_hits_total",
			Help: "Executions stopped by a limit, by limit name.",
		}, []string{"limit"}),
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "supervisor_restarts_total",
			Help: "Children restarted by their supervisor, by tree (node or sandbox).",
		}, []string{"tree"}),
		shutdowns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "supervisor_intensity_shutdowns_total",
			Help: "Supervisors that exceeded their restart intensity and shut down, by tree.",
		}, []string{"tree"}),
	}
	m.deadLetters = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: Namespace, Name: "deadletters_total",
		Help: "Messages protoactor could not deliver: sent to a stopped or unknown actor.",
	})
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "build_info",
		Help:        "Build of the running binary; the value is 1.",
		ConstLabels: prometheus.Labels{"version": build.Version, "revision": build.Revision, "goversion": build.GoVersion},
	})
	info.Set(1)
	reg.MustRegister(
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(collectors.MetricsGC, collectors.MetricsMemory, collectors.MetricsScheduler)),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		info, m.httpRequests, m.httpDuration, m.lifecycle, m.executions, m.execDuration,
		m.limitHits, m.restarts, m.shutdowns, m.deadLetters,
	)
	// Start every known series at zero so that rates work from the first
	// scrape and dashboards show the series before the first event.
	for _, op := range ops {
		m.lifecycle.WithLabelValues(op, "ok")
	}
	m.executions.WithLabelValues("ok")
	for l := range limits {
		m.limitHits.WithLabelValues(l)
	}
	for t := range trees {
		m.restarts.WithLabelValues(t)
		m.shutdowns.WithLabelValues(t)
	}
	return m
}

// InitRoutes starts the request series of every route (each with the
// status its success answers: 201 for a create, 204 for a delete, 200
// otherwise) at zero, so that request rates and latencies exist from the
// first scrape.
func (m *Metrics) InitRoutes(routes []string) {
	for _, r := range routes {
		method, path, _ := strings.Cut(r, " ")
		code := "200"
		switch {
		case method == "POST" && path == "/v1/sandboxes":
			code = "201"
		case method == "DELETE":
			code = "204"
		}
		m.httpRequests.WithLabelValues(bounded(methods, method), r, code)
		m.httpDuration.WithLabelValues(r)
	}
}

// Registry returns the registry, for collectors added by other parts of
// the node.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Request records one HTTP request (server.Recorder).
func (m *Metrics) Request(method, route string, status int, d time.Duration) {
	m.httpRequests.WithLabelValues(bounded(methods, method), route, strconv.Itoa(status)).Inc()
	m.httpDuration.WithLabelValues(route).Observe(d.Seconds())
}

// Lifecycle records a sandbox lifecycle operation (server.Recorder).
func (m *Metrics) Lifecycle(op, result string) {
	m.lifecycle.WithLabelValues(op, result).Inc()
}

// Executed records one execution (server.Recorder).
func (m *Metrics) Executed(result, limit string, d time.Duration) {
	m.executions.WithLabelValues(result).Inc()
	if result == "ok" {
		m.execDuration.Observe(d.Seconds())
	}
	if limit != "" {
		m.limitHits.WithLabelValues(bounded(limits, limit)).Inc()
	}
}

func set(vs ...string) map[string]bool {
	s := make(map[string]bool, len(vs))
	for _, v := range vs {
		s[v] = true
	}
	return s
}

func bounded(known map[string]bool, v string) string {
	if known[v] {
		return v
	}
	return "other"
}

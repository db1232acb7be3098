package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/otpbox/otpbox/cmd/otpbox/internal/node"
	"github.com/otpbox/otpbox/sandbox/store/redis/redistest"
)

// exposition is a parsed scrape: each family and the label names of its
// series.
type exposition map[string]*dto.MetricFamily

func scrape(t *testing.T, n *node.Node) (exposition, string) {
	t.Helper()
	code, _, body := call(t, n, "GET", "/metrics", "")
	if code != 200 {
		t.Fatalf("GET /metrics = %d", code)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse the exposition: %v", err)
	}
	return fams, body
}

// family returns the family of a series name as PromQL writes it
// (x_bucket, x_sum and x_count belong to histogram or summary x).
func (e exposition) family(name string) (*dto.MetricFamily, bool) {
	if f, ok := e[name]; ok {
		return f, false
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			if f, ok := e[base]; ok && (f.GetType() == dto.MetricType_HISTOGRAM || f.GetType() == dto.MetricType_SUMMARY) {
				return f, suffix == "_bucket"
			}
		}
	}
	return nil, false
}

// hasLabel reports whether some series of f has label name.
func hasLabel(f *dto.MetricFamily, name string) bool {
	for _, m := range f.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == name {
				return true
			}
		}
	}
	return false
}

// values returns the values of label name over f's series.
func values(f *dto.MetricFamily, name string) []string {
	var out []string
	for _, m := range f.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == name && !slices.Contains(out, l.GetValue()) {
				out = append(out, l.GetValue())
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestFirstScrape starts a real node and checks its very first scrape:
// every metric the README documents exists (at zero when nothing
// happened yet), with its documented labels; every expression of the
// Grafana dashboard names metrics and labels the exposition has; and
// promtool accepts the exposition.
//
// The node runs on Redis, as a production node does: the shared store's
// circuit breaker exists from the start (an embedded journal has none).
func TestFirstScrape(t *testing.T) {
	cfg := testConfig(t)
	cfg.Redis = "redis://" + redistest.Start(t).Addr
	n := start(t, cfg, nil)
	exp, body := scrape(t, n)
	t.Logf("first scrape: %d families", len(exp))

	t.Run("documented", func(t *testing.T) {
		for _, name := range documentedMetrics(t) {
			if f, _ := exp.family(name); f == nil {
				t.Errorf("README documents %s; the first scrape lacks it", name)
			}
		}
		for name, want := range map[string]map[string][]string{
			"otpbox_memory_actions_total":               {"kind": {"gc", "passivate", "report", "shrink", "soft_limit"}},
			"otpbox_sandbox_snapshots_total":            {"result": {"skipped", "taken"}},
			"otpbox_scaling_operation_duration_seconds": {"kind": {"scale_in", "scale_out"}},
			"otpbox_scaling_operations_total":           {"kind": {"scale_in", "scale_out"}},
			"otpbox_cache_requests_total":               {"tier": {"l1", "l3"}},
			"otpbox_cache_hits_total":                   {"tier": {"l1", "l3"}},
			"otpbox_sandboxes":                          {"state": {"active", "passivated"}},
			"otpbox_cluster_members":                    {"health": {"critical", "passing", "warning"}},
			"otpbox_supervisor_restarts_total":          {"tree": {"node", "sandbox"}},
			"otpbox_loadbalancer_node_load":             {"node": {nodeName(t, n)}},
		} {
			f, ok := exp[name]
			if !ok {
				t.Errorf("%s missing", name)
				continue
			}
			for label, vals := range want {
				if got := values(f, label); !slices.Equal(got, vals) {
					t.Errorf("%s{%s} = %v, want %v", name, label, got, vals)
				}
			}
		}
	})

	t.Run("dashboard", func(t *testing.T) {
		for _, e := range dashboardExprs(t) {
			for _, sel := range selectors(e) {
				f, bucket := exp.family(sel.metric)
				if f == nil {
					t.Errorf("%s: the exposition has no %s", e, sel.metric)
					continue
				}
				for _, l := range sel.labels {
					if l == "instance" || l == "job" || (l == "le" && bucket) {
						continue // added by Prometheus, or a bucket's bound
					}
					if !hasLabel(f, l) {
						t.Errorf("%s: %s has no label %q", e, sel.metric, l)
					}
				}
			}
		}
	})

	t.Run("promtool", func(t *testing.T) {
		bin := promtool(t)
		cmd := exec.Command(bin, "check", "metrics")
		cmd.Stdin = strings.NewReader(body)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	})
}

func nodeName(t *testing.T, n *node.Node) string {
	t.Helper()
	_, _, body := call(t, n, "GET", "/v1/cluster/nodes", "")
	var l struct{ Nodes []struct{ Name string } }
	if err := json.Unmarshal([]byte(body), &l); err != nil || len(l.Nodes) != 1 {
		t.Fatalf("nodes: %s", body)
	}
	return l.Nodes[0].Name
}

// documentedMetrics returns the metric names of the README's metrics
// table: `otpbox_cache_{hits,misses}_total` names two; the protoactor row
// names its examples under otpbox_protoactor_.
func documentedMetrics(t *testing.T) []string {
	t.Helper()
	doc, err := os.ReadFile("../../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(doc), "| Metric | Type | Labels |")
	if !ok {
		t.Fatal("README has no metrics table")
	}
	table, _, _ = strings.Cut(table, "\n\n")
	var names []string
	name := regexp.MustCompile("`(otpbox_[a-z_{},0-9]*[a-z0-9}])`")
	for _, row := range strings.Split(table, "\n") {
		cells := strings.Split(row, "|")
		if len(cells) < 4 {
			continue
		}
		for _, m := range name.FindAllStringSubmatch(cells[1], -1) {
			names = append(names, expand(m[1])...)
		}
		if strings.Contains(cells[1], "otpbox_protoactor_*") {
			for _, m := range regexp.MustCompile("`([a-z_]+_total|[a-z_]+_seconds)`").FindAllStringSubmatch(cells[4], -1) {
				names = append(names, "otpbox_protoactor_"+m[1])
			}
		}
	}
	if len(names) < 30 {
		t.Fatalf("found only %d metric names in the README: %v", len(names), names)
	}
	return names
}

// expand expands one brace group: a_{b,c}_d is a_b_d and a_c_d.
func expand(s string) []string {
	open, close := strings.Index(s, "{"), strings.Index(s, "}")
	if open < 0 || close < open {
		return []string{s}
	}
	var out []string
	for _, alt := range strings.Split(s[open+1:close], ",") {
		out = append(out, s[:open]+alt+s[close+1:])
	}
	return out
}

func dashboardExprs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "docs", "grafana", "otpbox.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	var exprs []string
	titles := map[string]bool{}
	for _, p := range d.Panels {
		titles[p.Title] = true
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	for _, want := range []string{"Cache lookups by tier", "Cache hit rate by tier", "Memory used and limit",
		"Memory utilization and optimizer actions", "Placements and load by node"} {
		if !titles[want] {
			t.Errorf("the dashboard lacks the panel %q", want)
		}
	}
	return exprs
}

// selector is a metric a PromQL expression reads, with the labels it
// matches on or groups by.
type selector struct {
	metric string
	labels []string
}

var (
	promqlWords = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true,
		"group_right": true, "bool": true, "and": true, "or": true, "unless": true, "offset": true}
	identRe    = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	matcherRe  = regexp.MustCompile(`\{([^}]*)\}`)
	groupingRe = regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
	stringRe   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	rangeRe    = regexp.MustCompile(`\[[^\]]*\]`)
	numberRe   = regexp.MustCompile(`(^|[^a-zA-Z0-9_:])([0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?)`)
)

// selectors returns the metrics of a PromQL expression, each with the
// labels of its matchers and of every grouping of the expression. It
// knows the dashboard's PromQL, not all of PromQL: functions are the
// identifiers followed by "(", labels live in {…} and by/without (…).
func selectors(expr string) []selector {
	var grouping []string
	for _, m := range groupingRe.FindAllStringSubmatch(expr, -1) {
		for _, l := range strings.Split(m[1], ",") {
			if l = strings.TrimSpace(l); l != "" {
				grouping = append(grouping, l)
			}
		}
	}
	// Blank out what is not a metric name: strings, ranges, groupings.
	clean := stringRe.ReplaceAllStringFunc(expr, func(s string) string { return strings.Repeat(" ", len(s)) })
	clean = rangeRe.ReplaceAllStringFunc(clean, func(s string) string { return strings.Repeat(" ", len(s)) })
	clean = numberRe.ReplaceAllStringFunc(clean, func(s string) string {
		return s[:1] + strings.Repeat(" ", len(s)-1) // keep the character before the number
	})
	clean = groupingRe.ReplaceAllStringFunc(clean, func(s string) string { return strings.Repeat(" ", len(s)) })
	var out []selector
	for _, loc := range identRe.FindAllStringIndex(clean, -1) {
		word := clean[loc[0]:loc[1]]
		rest := strings.TrimLeft(clean[loc[1]:], " ")
		if promqlWords[word] || strings.HasPrefix(rest, "(") || insideBraces(clean, loc[0]) || isNumber(word) {
			continue
		}
		sel := selector{metric: word, labels: slices.Clone(grouping)}
		if strings.HasPrefix(rest, "{") {
			if m := matcherRe.FindStringSubmatch(expr[len(expr)-len(rest):]); m != nil {
				for _, matcher := range strings.Split(stringRe.ReplaceAllString(m[1], `""`), ",") {
					if name := identRe.FindString(matcher); name != "" {
						sel.labels = append(sel.labels, name)
					}
				}
			}
		}
		out = append(out, sel)
	}
	return out
}

func insideBraces(s string, i int) bool {
	return strings.LastIndex(s[:i], "{") > strings.LastIndex(s[:i], "}")
}

func isNumber(s string) bool {
	var f float64
	_, err := fmt.Sscan(s, &f)
	return err == nil
}

func TestSelectors(t *testing.T) {
	got := selectors(`histogram_quantile(0.99, sum by (le, route) (rate(otpbox_http_request_duration_seconds_bucket{instance=~"$instance", code=~"4..|5.."}[$__rate_interval]))) / clamp_min(max(go_goroutines), 1e-9)`)
	want := []selector{
		{"otpbox_http_request_duration_seconds_bucket", []string{"le", "route", "instance", "code"}},
		{"go_goroutines", []string{"le", "route"}},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("selectors = %v, want %v", got, want)
	}
}

// promtool returns the promtool binary: $OTPBOX_PROMTOOL, <module>/bin/
// promtool (`make promtool` builds it) or promtool on PATH. Without one
// the test is skipped under -short and fails otherwise.
func promtool(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("OTPBOX_PROMTOOL"); p != "" {
		return p
	}
	p, err := filepath.Abs(filepath.Join("..", "..", "..", "..", "bin", "promtool"))
	if err == nil {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("promtool"); err == nil {
		return p
	}
	if testing.Short() {
		t.Skip("promtool not found: run make promtool")
	}
	t.Fatal("promtool not found: run make promtool (make test does)")
	return ""
}

// TestProtoactorLogsAtWarn: protoactor's INFO lines (its start-up steps,
// dead letters with Go pointers) stay out of the node's log at the default
// level, and come back with --log-level debug.
func TestProtoactorLogsAtWarn(t *testing.T) {
	for _, level := range []string{"info", "debug"} {
		t.Run(level, func(t *testing.T) {
			var buf syncBuffer
			cfg := testConfig(t)
			cfg.LogLevel = level
			log, err := node.NewLogger(&buf, cfg.LogLevel, "text")
			if err != nil {
				t.Fatal(err)
			}
			n, err := node.Start(cfg, node.WithLogger(log))
			if err != nil {
				t.Fatal(err)
			}
			// A dead letter: a message to an actor that does not exist.
			n.System().Root.Send(n.System().NewLocalPID("nobody"), "hello")
			if err := n.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			infos := regexp.MustCompile(`(?m)^.*level=INFO .*lib=protoactor.*$`).FindAllString(buf.String(), -1)
			switch {
			case level == "info" && len(infos) > 0:
				t.Errorf("protoactor logged at INFO with --log-level info:\n%s", strings.Join(infos, "\n"))
			case level == "debug" && len(infos) == 0:
				t.Errorf("no protoactor INFO line with --log-level debug:\n%s", buf.String())
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for the node's goroutines.
type syncBuffer struct {
	mu sync.Mutex // protects b
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestJournalMetrics: a node on the wal journal counts its records,
// writes and syncs; every record of an answered execution is synced. With
// --journal-snapshot-every 2 its sandbox's journal is snapshotted once
// in three executions, which the sandbox and the metrics show.
func TestJournalMetrics(t *testing.T) {
	cfg := testConfig(t)
	cfg.JournalSnapshotEvery = 2
	n, _ := startReal(t, cfg)
	want(t, n, "POST", "/v1/sandboxes", `{"id":"jm"}`, http.StatusCreated, nil)
	for range 3 {
		want(t, n, "POST", "/v1/sandboxes/jm/exec", `{"code":"1 + 1"}`, http.StatusOK, nil)
	}
	var info struct {
		Journal struct {
			Entries     int `json:"entries"`
			SnapshotSeq int `json:"snapshot_seq"`
		} `json:"journal"`
	}
	want(t, n, "GET", "/v1/sandboxes/jm", "", http.StatusOK, &info)
	if info.Journal.SnapshotSeq != 2 || info.Journal.Entries != 2 {
		t.Errorf("journal %+v, want a snapshot at 2 and one execution after it", info.Journal)
	}
	exp, _ := scrape(t, n)
	if f, _ := exp.family("otpbox_sandbox_snapshots_total"); f == nil || len(f.GetMetric()) != 2 {
		t.Errorf("otpbox_sandbox_snapshots_total: want taken and skipped, got %v", f)
	} else {
		for _, m := range f.GetMetric() {
			if l := m.GetLabel()[0].GetValue(); l == "taken" && m.GetCounter().GetValue() != 1 || l == "skipped" && m.GetCounter().GetValue() != 0 {
				t.Errorf("otpbox_sandbox_snapshots_total{result=%q} = %v", l, m.GetCounter().GetValue())
			}
		}
	}
	if f, _ := exp.family("otpbox_sandbox_snapshot_bytes_total"); f == nil || len(f.GetMetric()) != 1 || f.GetMetric()[0].GetCounter().GetValue() < 10 {
		t.Errorf("otpbox_sandbox_snapshot_bytes_total: want the bytes of one snapshot, got %v", f)
	}
	value := func(name string) float64 {
		f, _ := exp.family(name)
		if f == nil || len(f.GetMetric()) != 1 {
			t.Fatalf("%s: want one series", name)
		}
		m := f.GetMetric()[0]
		if m.GetCounter() != nil {
			return m.GetCounter().GetValue()
		}
		return m.GetGauge().GetValue()
	}
	records, writes, syncs := value("otpbox_journal_records_total"), value("otpbox_journal_writes_total"), value("otpbox_journal_syncs_total")
	if records < 4 { // the metadata and three executions
		t.Errorf("records = %v, want at least 4", records)
	}
	if writes < 1 || writes > records || syncs < 1 || syncs > writes {
		t.Errorf("writes = %v, syncs = %v for %v records: each sync covers a write, each write a record or more", writes, syncs, records)
	}
	if value("otpbox_journal_segments") < 1 || value("otpbox_journal_live_bytes") <= 0 {
		t.Errorf("no segment or live bytes")
	}
}

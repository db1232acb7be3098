package metrics_test

import (
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/eventstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/otpbox/otpbox/cmd/otpbox/internal/metrics"
	"github.com/otpbox/otpbox/supervision"
)

func TestSupervisionEvents(t *testing.T) {
	m := metrics.New(metrics.BuildInfo{Version: "test"})
	es := &eventstream.EventStream{}
	stop := m.WatchSupervision(es, func(name string) string {
		if strings.HasPrefix(name, "otpbox") {
			return "node"
		}
		return "sandbox"
	})
	es.Publish(&supervision.Event{Kind: supervision.ChildStarted, Name: "otpbox", Restart: true})
	es.Publish(&supervision.Event{Kind: supervision.ChildStarted, Name: "otpbox"}) // a first start
	es.Publish(&supervision.Event{Kind: supervision.ChildStarted, Name: "sbx-1/tree", Restart: true})
	es.Publish(&supervision.Event{Kind: supervision.ChildStarted, Name: "sbx-2/tree", Restart: true})
	es.Publish(&supervision.Event{Kind: supervision.IntensityExceeded, Name: "sbx-2/tree"})
	es.Publish("not an event")
	stop()
	es.Publish(&supervision.Event{Kind: supervision.IntensityExceeded, Name: "otpbox"}) // after stop

	expect(t, m.Registry(), map[string]float64{
		`otpbox_supervisor_restarts_total{tree="node"}`:               1,
		`otpbox_supervisor_restarts_total{tree="sandbox"}`:            2,
		`otpbox_supervisor_intensity_shutdowns_total{tree="node"}`:    0,
		`otpbox_supervisor_intensity_shutdowns_total{tree="sandbox"}`: 1,
	})
}

func TestLabelsAreBounded(t *testing.T) {
	m := metrics.New(metrics.BuildInfo{})
	m.Request("BREW", "other", 405, time.Millisecond)
	m.Executed("limit_exceeded", "gpu_hours", 0)
	expect(t, m.Registry(), map[string]float64{
		`otpbox_sandbox_limit_hits_total{limit="other"}`:                      1,
		`otpbox_sandbox_limit_hits_total{limit="steps"}`:                      0,
		`otpbox_http_requests_total{code="405",method="other",route="other"}`: 1,
	})
}

type counts struct{ active, passivated int }

func (c counts) SandboxCounts() (int, int) { return c.active, c.passivated }

func TestGauges(t *testing.T) {
	m := metrics.New(metrics.BuildInfo{})
	m.ObserveSandboxes(counts{3, 5})
	boxes := metrics.NewMailboxes("node")
	mb := boxes.Producer("http")()
	mb.RegisterHandlers(nil, idle{}) // never runs: the messages stay queued
	mb.PostUserMessage("a")
	mb.PostUserMessage("b")
	boxes.Producer("admin")()
	m.ObserveMailboxes(boxes, metrics.MailboxSamplerFunc(func() []metrics.MailboxLength {
		return []metrics.MailboxLength{{Tree: "sandbox", Total: 7, Max: 4}}
	}))
	expect(t, m.Registry(), map[string]float64{
		`otpbox_mailbox_messages{tree="node"}`:        2,
		`otpbox_mailbox_messages{tree="sandbox"}`:     7,
		`otpbox_mailbox_messages_max{tree="node"}`:    2,
		`otpbox_mailbox_messages_max{tree="sandbox"}`: 4,
		`otpbox_sandboxes{state="active"}`:            3,
		`otpbox_sandboxes{state="passivated"}`:        5,
	})
}

// idle is a dispatcher that never runs the mailbox.
type idle struct{}

func (idle) Schedule(func()) {}
func (idle) Throughput() int { return 1 }

var _ actor.Dispatcher = idle{}

func TestOpenTelemetryBridge(t *testing.T) {
	m := metrics.New(metrics.BuildInfo{})
	mp, err := m.MeterProvider()
	if err != nil {
		t.Fatal(err)
	}
	defer mp.Shutdown(t.Context())
	c, err := mp.Meter("protoactor").Int64Counter("protoactor_actor_spawn_count")
	if err != nil {
		t.Fatal(err)
	}
	c.Add(t.Context(), 2)
	expect(t, m.Registry(), map[string]float64{`otpbox_protoactor_actor_spawn_count_total{}`: 2})
}

// expect gathers reg and checks the value of each series, written as
// name{label="value",…} with labels sorted by name.
func expect(t *testing.T, reg *prometheus.Registry, want map[string]float64) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := make(map[string]float64)
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
			}
			key := f.GetName() + "{" + strings.Join(labels, ",") + "}"
			switch {
			case m.GetCounter() != nil:
				got[key] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				got[key] = m.GetGauge().GetValue()
			}
		}
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
}

func TestDeadLetters(t *testing.T) {
	m := metrics.New(metrics.BuildInfo{Version: "test"})
	es := &eventstream.EventStream{}
	stop := m.WatchDeadLetters(es)
	expect(t, m.Registry(), map[string]float64{`otpbox_deadletters_total{}`: 0}) // from the first scrape
	es.Publish(&actor.DeadLetterEvent{PID: actor.NewPID("nonhost", "gone"), Message: "hello"})
	es.Publish(&actor.DeadLetterEvent{PID: actor.NewPID("nonhost", "gone"), Message: "again"})
	es.Publish("not a dead letter")
	stop()
	es.Publish(&actor.DeadLetterEvent{PID: actor.NewPID("nonhost", "gone")}) // after stop
	expect(t, m.Registry(), map[string]float64{`otpbox_deadletters_total{}`: 2})
}

func TestInitRoutes(t *testing.T) {
	m := metrics.New(metrics.BuildInfo{Version: "test"})
	m.InitRoutes([]string{"POST /v1/sandboxes", "DELETE /v1/sandboxes/{id}", "GET /v1/memory"})
	expect(t, m.Registry(), map[string]float64{
		`otpbox_http_requests_total{code="201",method="POST",route="POST /v1/sandboxes"}`:          0,
		`otpbox_http_requests_total{code="204",method="DELETE",route="DELETE /v1/sandboxes/{id}"}`: 0,
		`otpbox_http_requests_total{code="200",method="GET",route="GET /v1/memory"}`:               0,
	})
}

package metrics

import (
	"sync"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"
)

// SandboxCounter is what the sandbox gauges read from the sandbox host on
// every scrape. SandboxCounts must be cheap and safe for concurrent use.
type SandboxCounter interface {
	SandboxCounts() (active, passivated int)
}

// ObserveSandboxes exports otpbox_sandboxes{state="active"|"passivated"},
// read from c at scrape time. Call it at most once.
func (m *Metrics) ObserveSandboxes(c SandboxCounter) {
	m.reg.MustRegister(&sandboxCollector{c: c, desc: prometheus.NewDesc(
		Namespace+"_sandboxes", "Sandboxes hosted on this node, by state.", []string{"state"}, nil)})
}

type sandboxCollector struct {
	c    SandboxCounter
	desc *prometheus.Desc
}

func (s *sandboxCollector) Describe(ch chan<- *prometheus.Desc) { ch <- s.desc }

func (s *sandboxCollector) Collect(ch chan<- prometheus.Metric) {
	a, p := s.c.SandboxCounts()
	ch <- prometheus.MustNewConstMetric(s.desc, prometheus.GaugeValue, float64(a), "active")
	ch <- prometheus.MustNewConstMetric(s.desc, prometheus.GaugeValue, float64(p), "passivated")
}

// MailboxLength is a sample of the mailboxes of one tree: the user
// messages queued in all of them and in the longest.
type MailboxLength struct {
	Tree       string // "node" or "sandbox"
	Total, Max int
}

// MailboxSampler samples mailbox lengths at scrape time; the sandbox host
// may implement it for the sandbox tree. It must be cheap and safe for
// concurrent use.
type MailboxSampler interface {
	SampleMailboxes() []MailboxLength
}

// MailboxSamplerFunc adapts a function to MailboxSampler.
type MailboxSamplerFunc func() []MailboxLength

// SampleMailboxes calls f.
func (f MailboxSamplerFunc) SampleMailboxes() []MailboxLength { return f() }

// ObserveMailboxes exports otpbox_mailbox_messages{tree} and
// otpbox_mailbox_messages_max{tree} from the samplers. Call it at most
// once.
func (m *Metrics) ObserveMailboxes(samplers ...MailboxSampler) {
	m.reg.MustRegister(&mailboxCollector{
		samplers: samplers,
		total:    prometheus.NewDesc(Namespace+"_mailbox_messages", "User messages queued in the mailboxes of a tree.", []string{"tree"}, nil),
		max:      prometheus.NewDesc(Namespace+"_mailbox_messages_max", "User messages queued in the longest mailbox of a tree.", []string{"tree"}, nil),
	})
}

type mailboxCollector struct {
	samplers   []MailboxSampler
	total, max *prometheus.Desc
}

func (c *mailboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.total
	ch <- c.max
}

func (c *mailboxCollector) Collect(ch chan<- prometheus.Metric) {
	sum := make(map[string]MailboxLength)
	for _, s := range c.samplers {
		for _, l := range s.SampleMailboxes() {
			t := bounded(trees, l.Tree)
			acc := sum[t]
			acc.Total += l.Total
			acc.Max = max(acc.Max, l.Max)
			sum[t] = acc
		}
	}
	for t, l := range sum {
		ch <- prometheus.MustNewConstMetric(c.total, prometheus.GaugeValue, float64(l.Total), t)
		ch <- prometheus.MustNewConstMetric(c.max, prometheus.GaugeValue, float64(l.Max), t)
	}
}

// Mailboxes keeps the current mailbox of each actor of a fixed set (one
// per child id of the node's tree) and samples them. A restarted child's
// new mailbox replaces the old one. It is safe for concurrent use.
type Mailboxes struct {
	tree string

	mu    sync.Mutex // protects boxes
	boxes map[string]actor.Mailbox
}

// NewMailboxes returns an empty set whose samples are labelled tree.
func NewMailboxes(tree string) *Mailboxes {
	return &Mailboxes{tree: tree, boxes: make(map[string]actor.Mailbox)}
}

// Producer returns an unbounded mailbox producer that registers each
// mailbox it makes under key; pass it with actor.WithMailbox.
func (b *Mailboxes) Producer(key string) actor.MailboxProducer {
	inner := actor.Unbounded()
	return func() actor.Mailbox {
		mb := inner()
		b.mu.Lock()
		b.boxes[key] = mb
		b.mu.Unlock()
		return mb
	}
}

// SampleMailboxes implements MailboxSampler.
func (b *Mailboxes) SampleMailboxes() []MailboxLength {
	b.mu.Lock()
	defer b.mu.Unlock()
	l := MailboxLength{Tree: b.tree}
	for _, mb := range b.boxes {
		n := mb.UserMessageCount()
		l.Total += n
		l.Max = max(l.Max, n)
	}
	return []MailboxLength{l}
}

package supervision

import (
	"slices"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// RestartRecord is one restart (attempt) of a supervisor: what exited, why,
// and when.
type RestartRecord struct {
	ChildID string
	// PID is the pid of the incarnation that exited (nil for a retry).
	PID    *actor.PID
	Reason Reason
	Time   time.Time
}

// History is a supervisor's bounded restart history. It is safe for
// concurrent use: the supervisor appends, observers read.
type History struct {
	mu      sync.Mutex // protects the fields below
	records []RestartRecord
	next    int // ring position of the next record once full
	total   uint64
	limit   int
}

func newHistory(limit int) *History {
	return &History{limit: limit}
}

func (h *History) add(r RestartRecord) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.total++
	if len(h.records) < h.limit {
		h.records = append(h.records, r)
		return
	}
	h.records[h.next] = r
	h.next = (h.next + 1) % h.limit
}

// Total returns the number of restarts since the supervisor started,
// including those no longer in Records.
func (h *History) Total() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.total
}

// Records returns the most recent restarts, oldest first.
func (h *History) Records() []RestartRecord {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]RestartRecord, 0, len(h.records))
	out = append(out, h.records[h.next:]...)
	return append(out, h.records[:h.next]...)
}

// Rate returns the restarts per second within the window ending at now,
// counted from the kept records.
func (h *History) Rate(window time.Duration, now time.Time) float64 {
	if window <= 0 {
		return 0
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	from := now.Add(-window)
	for _, r := range h.records {
		if !r.Time.Before(from) && !r.Time.After(now) {
			n++
		}
	}
	return float64(n) / window.Seconds()
}

func (h *History) clone() *History {
	h.mu.Lock()
	defer h.mu.Unlock()
	return &History{records: slices.Clone(h.records), next: h.next, total: h.total, limit: h.limit}
}

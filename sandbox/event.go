package sandbox

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Event types of a sandbox's stream (Manager.Watch, GET
// /v1/sandboxes/{id}/events).
const (
	EventHello      = "hello"      // a stream's first: the sandbox's state (no id)
	EventExec       = "exec"       // an execution (or a process action) and its outcome
	EventTree       = "tree"       // a process started, exited, restarted, ...: Change says which
	EventSnapshot   = "snapshot"   // the whole tree after a change
	EventTrace      = "trace"      // a message a worker handled
	EventActivated  = "activated"  // an activation started
	EventPassivated = "passivated" // the activation stopped; the journal keeps the sandbox
	EventMigrated   = "migrated"   // the sandbox moved to another member
	EventRestarted  = "restarted"  // a restart: a fresh session, the journal emptied
	EventTerminated = "terminated" // deleted; the stream ends
	EventPresence   = "presence"   // who watches changed
	EventGap        = "gap"        // events the consumer will not see: Missed
)

// Event is one event of a sandbox's stream. Which fields are set depends
// on Type; the JSON is the HTTP API's.
type Event struct {
	ID      string    `json:"id,omitempty"`
	Type    string    `json:"type"`
	Time    time.Time `json:"time"`
	Sandbox string    `json:"sandbox,omitempty"`
	Node    string    `json:"node,omitempty"` // activated, hello: the member hosting it

	// exec
	Code       string      `json:"code,omitempty"`
	Value      string      `json:"value,omitempty"`
	Output     string      `json:"output,omitempty"`
	Steps      uint64      `json:"steps,omitempty"`
	DurationUS int64       `json:"duration_us,omitempty"`
	By         string      `json:"by,omitempty"`
	Error      *EventError `json:"error,omitempty"`
	Truncated  bool        `json:"truncated,omitempty"`

	// tree and trace
	Change      string `json:"change,omitempty"`
	PID         string `json:"pid,omitempty"`
	ChildID     string `json:"child_id,omitempty"`
	Path        string `json:"path,omitempty"`
	Supervisor  string `json:"supervisor,omitempty"`
	ProcessType string `json:"process_type,omitempty"`
	Reason      string `json:"reason,omitempty"`
	Kind        string `json:"kind,omitempty"` // trace: call or cast
	Dropped     int    `json:"dropped,omitempty"`

	// snapshot, hello
	Tree     *Tree           `json:"tree,omitempty"`
	Restarts []RestartRecord `json:"restarts,omitempty"`
	LastID   *string         `json:"last_id,omitempty"` // hello: the newest event's id ("" none)

	// migrated
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`

	// presence, hello
	Viewers []Viewer `json:"viewers,omitempty"`

	// gap
	Missed int64 `json:"missed,omitempty"`
}

// EventError is a failed execution's problem, as the API gives it.
type EventError struct {
	Kind      string `json:"kind"` // syntax_error, runtime_error, limit_exceeded, ...
	Detail    string `json:"detail"`
	Line      int    `json:"line,omitempty"`
	Col       int    `json:"col,omitempty"`
	Backtrace string `json:"backtrace,omitempty"`
	Limit     string `json:"limit,omitempty"`
}

// Viewer is someone watching a sandbox, through a member.
type Viewer struct {
	Name  string    `json:"name"`
	Node  string    `json:"node"`
	Since time.Time `json:"since"`
}

// EventTextBytes bounds an exec event's code, value and output each.
const EventTextBytes = 8 << 10

// eventID is an event's id: the activation's epoch and the event's
// number in it, "k3x9a2-17". Ids of one activation are ordered by their
// number; another activation has another epoch.
type eventID struct {
	epoch string
	seq   uint64
}

func (e eventID) String() string { return e.epoch + "-" + strconv.FormatUint(e.seq, 10) }

// parseEventID reads an id; ok is false for "" and malformed ids.
func parseEventID(s string) (eventID, bool) {
	i := strings.LastIndexByte(s, '-')
	if i <= 0 {
		return eventID{}, false
	}
	n, err := strconv.ParseUint(s[i+1:], 10, 64)
	if err != nil {
		return eventID{}, false
	}
	return eventID{epoch: s[:i], seq: n}, true
}

// cut bounds s to EventTextBytes, on a rune boundary.
func cut(s string, truncated *bool) string {
	if len(s) <= EventTextBytes {
		return s
	}
	*truncated = true
	n := EventTextBytes
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

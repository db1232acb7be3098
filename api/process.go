package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
)

// Process actions (Sandboxes.Act).
const (
	ActionKill      = "kill"      // kill(pid): the exit signal kill
	ActionExit      = "exit"      // exit(pid, reason)
	ActionCrash     = "crash"     // exit(pid, "crashed"): an abnormal exit its supervisor sees
	ActionTerminate = "terminate" // the parent's terminate_child
	ActionRestart   = "restart"   // the parent's restart_child (a terminated child, by path)
)

// ProcessRef names a process of a sandbox: by PID ("<0.7.0>") or by Path,
// its child ids from the root ("tree1/w1"); one of them.
type ProcessRef struct {
	PID  string `json:"pid,omitempty"`
	Path string `json:"path,omitempty"`
}

// ProcessInfo describes a process: its state, mailbox, recent messages
// and restarts.
type ProcessInfo struct {
	PID        string          `json:"pid"`
	ID         string          `json:"id,omitempty"`
	Path       string          `json:"path"`
	Type       string          `json:"type"`
	Status     string          `json:"status"`
	Strategy   string          `json:"strategy,omitempty"`
	State      string          `json:"state,omitempty"`
	Mailbox    int             `json:"mailbox"`
	Messages   []TracedMessage `json:"messages,omitempty"`
	Restarts   []RestartRecord `json:"restarts,omitempty"`
	Supervisor string          `json:"supervisor,omitempty"`
	Children   int             `json:"children,omitempty"`
}

// ProcessAction is a kill, exit, crash, terminate or restart of a
// process.
type ProcessAction struct {
	Action string `json:"action"`
	ProcessRef
	// Reason is ActionExit's reason ("normal", "shutdown", "kill" or any
	// other text: an abnormal exit).
	Reason string `json:"reason,omitempty"`
}

// ActionResult is the code an action ran (journaled like any execution)
// and its result.
type ActionResult struct {
	Code string `json:"code"`
	Result
}

// Process describes a process of sandbox id (GET
// /v1/sandboxes/{id}/process). A process that is not alive answers an
// *Error of kind "process_not_found".
func (s *Sandboxes) Process(ctx context.Context, id string, ref ProcessRef) (*ProcessInfo, error) {
	q := url.Values{}
	if ref.PID != "" {
		q.Set("pid", ref.PID)
	}
	if ref.Path != "" {
		q.Set("path", ref.Path)
	}
	var info ProcessInfo
	err := s.c.call(ctx, request{method: http.MethodGet, path: sandboxPath(id, "process"), query: q}, &info)
	return result(&info, err)
}

// Act does a process action in sandbox id (POST
// /v1/sandboxes/{id}/process): it runs as the code that does it, which
// the answer and every watcher of the sandbox show.
func (s *Sandboxes) Act(ctx context.Context, id string, a ProcessAction) (*ActionResult, error) {
	var res ActionResult
	err := s.c.call(ctx, request{method: http.MethodPost, path: sandboxPath(id, "process"), body: a}, &res)
	return result(&res, err)
}

// UnmarshalJSON reads the code beside the result (whose own decoding
// reads duration_us).
func (r *ActionResult) UnmarshalJSON(b []byte) error {
	var code struct {
		Code string `json:"code"`
	}
	if err := json.Unmarshal(b, &code); err != nil {
		return err
	}
	r.Code = code.Code
	return r.Result.UnmarshalJSON(b)
}

// MarshalJSON writes the code beside the result, as the API does.
func (r ActionResult) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Code       string `json:"code"`
		Value      string `json:"value"`
		Output     string `json:"output"`
		Steps      uint64 `json:"steps"`
		DurationUS int64  `json:"duration_us"`
	}{r.Code, r.Value, r.Output, r.Steps, r.Duration.Microseconds()})
}

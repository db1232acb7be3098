package server

import (
	"context"
	"net/http"

	"github.com/otpbox/otpbox/sandbox"
)

type (
	// ProcessInfo is a process of a sandbox: state, mailbox, messages,
	// restarts.
	ProcessInfo = sandbox.ProcessInfo
	// ProcessAction is a kill, exit, crash, terminate or restart of a
	// process.
	ProcessAction = sandbox.ProcessAction
	// ActionResult is the code an action ran and its result.
	ActionResult = sandbox.ActionResult
)

// Processes is the optional side of Sandboxes that describes and acts on
// a sandbox's processes; without it the process endpoints are 501.
type Processes interface {
	Process(ctx context.Context, id, pid, path string) (*ProcessInfo, error)
	Act(ctx context.Context, id string, a ProcessAction) (*ActionResult, error)
}

// ActionRequest is the body of POST /v1/sandboxes/{id}/process.
type ActionRequest struct {
	Action *string `json:"action"`
	PID    string  `json:"pid"`
	Path   string  `json:"path"`
	Reason string  `json:"reason"`
}

// ActionResponse is its answer: the code the action ran, and its result.
type ActionResponse struct {
	Code       string `json:"code"`
	Value      string `json:"value"`
	Output     string `json:"output"`
	Steps      uint64 `json:"steps"`
	DurationUS int64  `json:"duration_us"`
}

func (s *Server) processes(w http.ResponseWriter) (Processes, bool) {
	p, ok := s.cfg.Sandboxes.(Processes)
	if !ok {
		writeProblem(w, problem(http.StatusNotImplemented, "not_implemented", "Not implemented", "this node does not act on sandbox processes"))
	}
	return p, ok
}

// process serves GET /v1/sandboxes/{id}/process?pid=|path=.
func (s *Server) process(w http.ResponseWriter, r *http.Request) {
	ps, ok := s.processes(w)
	if !ok {
		return
	}
	q := r.URL.Query()
	info, err := ps.Process(r.Context(), r.PathValue("id"), q.Get("pid"), q.Get("path"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

// act serves POST /v1/sandboxes/{id}/process.
func (s *Server) act(w http.ResponseWriter, r *http.Request) {
	ps, ok := s.processes(w)
	if !ok {
		return
	}
	var req ActionRequest
	if p := decode(w, r, s.cfg.MaxBody, &req, false); p != nil {
		writeProblem(w, p)
		return
	}
	if req.Action == nil {
		writeProblem(w, missing("action"))
		return
	}
	res, err := ps.Act(r.Context(), r.PathValue("id"), ProcessAction{Action: *req.Action, PID: req.PID, Path: req.Path, Reason: req.Reason})
	if err != nil {
		kind := s.fail(w, r, err)
		s.cfg.Recorder.Executed(kind, "", 0)
		return
	}
	s.cfg.Recorder.Executed("ok", "", res.Duration)
	writeJSON(w, http.StatusOK, ActionResponse{Code: res.Code, Value: res.Value, Output: res.Output, Steps: res.Steps,
		DurationUS: res.Duration.Microseconds()})
}

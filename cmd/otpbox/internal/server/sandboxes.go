package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// CreateRequest is the body of POST /v1/sandboxes.
type CreateRequest struct {
	ID           string       `json:"id"`
	Requirements Requirements `json:"requirements"`
}

// ExecRequest is the body of POST /v1/sandboxes/{id}/exec; Code is
// required.
type ExecRequest struct {
	Code *string `json:"code"`
}

// MigrateRequest is the body of POST /v1/sandboxes/{id}/migrate; Node is
// required.
type MigrateRequest struct {
	Node *string `json:"node"`
}

// SandboxList is the body of GET /v1/sandboxes.
type SandboxList struct {
	Sandboxes []*Info `json:"sandboxes"`
}

// RestartList is the body of GET /v1/sandboxes/{id}/restarts.
type RestartList struct {
	Restarts []RestartRecord `json:"restarts"`
}

// TraceList is the body of GET /v1/sandboxes/{id}/trace.
type TraceList struct {
	Trace []TraceEntry `json:"trace"`
}

func missing(field string) *Problem {
	return problem(http.StatusBadRequest, "missing_field", "Missing field", field+" is required")
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	var req CreateRequest
	if p := decode(w, r, s.cfg.MaxBody, &req, false); p != nil {
		writeProblem(w, p)
		return
	}
	info, err := s.cfg.Sandboxes.Create(r.Context(), req.ID, req.Requirements)
	if errors.Is(err, ErrAlreadyExists) {
		p := problem(http.StatusConflict, "already_exists", "Sandbox already exists", fmt.Sprintf("a sandbox %q exists already", req.ID))
		writeProblem(w, p)
		s.cfg.Recorder.Lifecycle("create", p.Kind())
		return
	}
	if err != nil {
		s.cfg.Recorder.Lifecycle("create", s.fail(w, r, err))
		return
	}
	s.cfg.Recorder.Lifecycle("create", "ok")
	w.Header().Set("Location", "/v1/sandboxes/"+url.PathEscape(info.ID))
	writeJSON(w, http.StatusCreated, info)
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	infos, err := s.cfg.Sandboxes.List(r.Context(), Filter{Node: r.URL.Query().Get("node")})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if infos == nil {
		infos = []*Info{}
	}
	writeJSON(w, http.StatusOK, SandboxList{Sandboxes: infos})
}

func (s *Server) info(w http.ResponseWriter, r *http.Request) {
	info, err := s.cfg.Sandboxes.Info(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

func (s *Server) terminate(w http.ResponseWriter, r *http.Request) {
	if err := s.cfg.Sandboxes.Terminate(r.Context(), r.PathValue("id")); err != nil {
		s.cfg.Recorder.Lifecycle("terminate", s.fail(w, r, err))
		return
	}
	s.cfg.Recorder.Lifecycle("terminate", "ok")
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) execute(w http.ResponseWriter, r *http.Request) {
	var req ExecRequest
	if p := decode(w, r, s.cfg.MaxBody, &req, false); p != nil {
		writeProblem(w, p)
		return
	}
	if req.Code == nil {
		writeProblem(w, missing("code"))
		return
	}
	res, err := s.cfg.Sandboxes.Execute(r.Context(), r.PathValue("id"), *req.Code)
	if err != nil {
		kind := s.fail(w, r, err)
		name := ""
		if limit := (*LimitError)(nil); errors.As(err, &limit) {
			name = limit.Limit
		}
		s.cfg.Recorder.Executed(kind, name, 0)
		return
	}
	s.cfg.Recorder.Executed("ok", "", res.Duration)
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) restart(w http.ResponseWriter, r *http.Request) {
	var none struct{}
	if p := decode(w, r, s.cfg.MaxBody, &none, true); p != nil {
		writeProblem(w, p)
		return
	}
	info, err := s.cfg.Sandboxes.Restart(r.Context(), r.PathValue("id"))
	s.lifecycleInfo(w, r, "restart", info, err)
}

func (s *Server) migrate(w http.ResponseWriter, r *http.Request) {
	var req MigrateRequest
	if p := decode(w, r, s.cfg.MaxBody, &req, false); p != nil {
		writeProblem(w, p)
		return
	}
	if req.Node == nil || *req.Node == "" {
		writeProblem(w, missing("node"))
		return
	}
	info, err := s.cfg.Sandboxes.Migrate(r.Context(), r.PathValue("id"), *req.Node)
	s.lifecycleInfo(w, r, "migrate", info, err)
}

// lifecycleInfo answers a lifecycle operation that returns the sandbox's
// info, and records it.
func (s *Server) lifecycleInfo(w http.ResponseWriter, r *http.Request, op string, info *Info, err error) {
	if err != nil {
		s.cfg.Recorder.Lifecycle(op, s.fail(w, r, err))
		return
	}
	s.cfg.Recorder.Lifecycle(op, "ok")
	writeJSON(w, http.StatusOK, info)
}

func (s *Server) tree(w http.ResponseWriter, r *http.Request) {
	t, err := s.cfg.Sandboxes.Tree(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

func (s *Server) restarts(w http.ResponseWriter, r *http.Request) {
	recs, err := s.cfg.Sandboxes.Restarts(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if recs == nil {
		recs = []RestartRecord{}
	}
	writeJSON(w, http.StatusOK, RestartList{Restarts: recs})
}

func (s *Server) trace(w http.ResponseWriter, r *http.Request) {
	entries, err := s.cfg.Sandboxes.Trace(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if entries == nil {
		entries = []TraceEntry{}
	}
	writeJSON(w, http.StatusOK, TraceList{Trace: entries})
}

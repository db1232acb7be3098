package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// access is what a request's credentials allow.
type access uint8

const (
	accessNone  access = iota // no token, or a wrong one
	accessRead                // the read token: GET and HEAD
	accessWrite               // the write token: everything
)

// tokens holds the hashes of the configured tokens. Hashing both sides
// makes the comparison take the same time whatever the length of the
// presented token.
type tokens struct {
	on          bool // a token is configured: requests need one
	write, read [sha256.Size]byte
	hasRead     bool
}

func newTokens(write, read string) tokens {
	t := tokens{on: write != "" || read != ""}
	if write != "" {
		t.write = sha256.Sum256([]byte(write))
	}
	if read != "" {
		t.read, t.hasRead = sha256.Sum256([]byte(read)), true
	}
	return t
}

// of returns the access r's bearer token gives. Both tokens are compared
// every time, in constant time, so the answer's timing does not say which
// one matched.
func (t *tokens) of(r *http.Request) access {
	if !t.on {
		return accessWrite
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return accessNone
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	w := subtle.ConstantTimeCompare(got[:], t.write[:]) == 1 && t.write != [sha256.Size]byte{}
	rd := subtle.ConstantTimeCompare(got[:], t.read[:]) == 1 && t.hasRead
	switch {
	case w:
		return accessWrite
	case rd:
		return accessRead
	}
	return accessNone
}

// reads reports whether a request with method only reads: the read
// token suffices for it.
func reads(method string) bool { return method == http.MethodGet || method == http.MethodHead }

// public reports whether route answers without a token: liveness,
// readiness and, with Config.MetricsPublic, /metrics.
func (s *Server) public(route string) bool {
	switch route {
	case "GET /v1/health/live", "GET /v1/health/ready", "GET /ui/", "GET /ui":
		return true // the console's files hold no data
	case "GET /metrics":
		return s.cfg.MetricsPublic
	}
	return false
}

// authorize answers r with 401 or 403 and returns false when its token
// does not allow it on route.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, route string) bool {
	if !s.tokens.on || s.public(route) {
		return true
	}
	switch a := s.tokens.of(r); {
	case a == accessWrite, a == accessRead && reads(r.Method):
		return true
	case a == accessRead:
		writeProblem(w, problem(http.StatusForbidden, "forbidden", "Forbidden",
			"the read token allows GET and HEAD only; "+r.Method+" needs the write token"))
		return false
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="otpbox"`)
	writeProblem(w, problem(http.StatusUnauthorized, "unauthorized", "Unauthorized",
		"this node requires Authorization: Bearer <token>"))
	return false
}

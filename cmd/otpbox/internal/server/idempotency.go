package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"time"

	"github.com/otpbox/otpbox/cache"
	"github.com/otpbox/otpbox/sandbox"
)

// IdempotencyKeyHeader names a POST: a retry with the same key is
// answered as the first request was and never applied twice (see
// docs/security.md and the sandbox package's idempotency).
const IdempotencyKeyHeader = "Idempotency-Key"

// KeyRetention is how long the node remembers which request a key named,
// to refuse its reuse with another request (422). The sandboxes keep
// their own, durable record of the keys of executions, creates and
// restarts (sandbox.AnsweredKeys and its neighbours).
const KeyRetention = 24 * time.Hour

// Errors of idempotent requests.
var (
	// ErrKeyReused reports an Idempotency-Key reused with a different
	// request: 422 idempotency_key_reused.
	ErrKeyReused = sandbox.ErrRequestMismatch
	// ErrAlreadyApplied reports a retried execution applied once whose
	// answer is no longer kept: 409 already_applied.
	ErrAlreadyApplied = sandbox.ErrAnswerExpired
)

// validKey reports whether k can be an Idempotency-Key: 1 to 255 visible
// ASCII characters.
func validKey(k string) bool {
	if k == "" || len(k) > sandbox.MaxRequestIDBytes {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// idempotent prepares a POST carrying an Idempotency-Key: the key goes to
// the sandbox host with the request's context, and the node checks that
// the key names the same request as before (method, path and body) for
// KeyRetention. It answers r itself and returns false when the key is
// malformed, reused or the body cannot be read.
func (s *Server) idempotent(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	key := r.Header.Get(IdempotencyKeyHeader)
	if r.Method != http.MethodPost || key == "" && len(r.Header.Values(IdempotencyKeyHeader)) == 0 {
		return r, true
	}
	if !validKey(key) {
		writeProblem(w, problem(http.StatusBadRequest, "invalid_idempotency_key", "Invalid Idempotency-Key",
			"an Idempotency-Key is 1 to 255 visible ASCII characters"))
		return r, false
	}
	r = r.WithContext(sandbox.WithRequestID(r.Context(), key))
	if s.cfg.Cache == nil && s.cfg.ClaimKey == nil {
		return r, true
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	if err != nil {
		writeProblem(w, decodeProblem(err, s.cfg.MaxBody))
		return r, false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	h := sha256.New()
	io.WriteString(h, r.Method+" "+r.URL.Path+"\n")
	h.Write(body)
	want := h.Sum(nil)
	ctx, cancel := context.WithTimeout(r.Context(), time.Second)
	defer cancel()
	k := sha256.Sum256([]byte(key))
	// Hex: the cache's keys cross members as protobuf strings, which
	// must be UTF-8.
	ck := "otpbox:idempotency:" + hex.EncodeToString(k[:])
	var got []byte
	ok := false
	if s.cfg.ClaimKey != nil {
		got, ok = s.cfg.ClaimKey(ctx, ck, want, KeyRetention)
	}
	if !ok {
		if s.cfg.Cache == nil {
			return r, true
		}
		got, err = s.cfg.Cache.GetOrLoad(ctx, ck, func(context.Context) ([]byte, error) { return want, nil }, cache.WithTTL(KeyRetention))
	}
	if err == nil && !bytes.Equal(got, want) {
		writeProblem(w, keyReused())
		return r, false
	}
	// A cache that fails does not fail the request: the sandboxes keep
	// their own record of the keys that matter.
	return r, true
}

func keyReused() *Problem {
	return problem(http.StatusUnprocessableEntity, "idempotency_key_reused", "Idempotency-Key reused",
		"this Idempotency-Key was used for a different request; use a new key for each request")
}

package sandbox

import (
	"context"
	"errors"

	"github.com/cespare/xxhash/v2"

	"github.com/otpbox/otpbox/sandbox/internal/wire"
)

// Idempotency: a caller names a call with a request id (the HTTP API's
// Idempotency-Key) and a retry with the same id is answered as the first
// call was, never applied twice, on whichever member the sandbox lives
// then:
//
//   - an execution's id is journaled with it (Entry.ID); the grain keeps
//     the ids of its last AnsweredKeys executions with a hash of their
//     code, and their answers within AnsweredBytes, and rebuilds both from
//     the journal when it activates (after passivation, a restart or a
//     failover);
//   - a create's id is kept in the sandbox's metadata: a retry finds the
//     sandbox it made and answers with it instead of already_exists;
//   - a restart's id is kept in the metadata (the last RestartKeys): a
//     retry does not empty the journal again.
//
// A retry whose id is known but whose request differs (other code, other
// requirements) fails with ErrRequestMismatch: the id names another call.
// An execution whose id is still known but whose answer was dropped to
// keep memory bounded fails with ErrAnswerExpired: it was applied once,
// and is not applied again.

// Retention of the ids of executions.
const (
	// AnsweredKeys is how many executions' ids a sandbox remembers: a
	// client retries within seconds, while a sandbox runs at most a few
	// executions a second, so a retry that comes after 256 later
	// executions is not a retry.
	AnsweredKeys = 256
	// AnsweredBytes bounds the answers kept with those ids (values and
	// output); the latest answer is always kept.
	AnsweredBytes = 256 << 10
	// RestartKeys is how many restarts' ids a sandbox's metadata keeps.
	RestartKeys = 16
	// MaxRequestIDBytes is the longest request id (Entry.ID's bound).
	MaxRequestIDBytes = 255
)

// Errors of idempotent calls.
var (
	// ErrRequestMismatch reports a request id reused for a different
	// request (other code, other requirements): 422 in the HTTP API.
	ErrRequestMismatch = errors.New("sandbox: request id reused with a different request")
	// ErrAnswerExpired reports a retried execution that was applied once
	// and whose answer is no longer kept: it is not applied again.
	ErrAnswerExpired = errors.New("sandbox: execution already applied; its answer is no longer kept")
)

const (
	kindMismatch = "request_mismatch"
	kindExpired  = "answer_expired"
)

type requestIDKey struct{}

// WithRequestID returns a context whose Execute, Create and Restart
// calls carry id as their request id, so that a retry of the call with
// the same id (after a lost answer, a timeout, a failover) is answered
// from the first call instead of being applied again. Each logical call
// needs its own id, of at most MaxRequestIDBytes bytes. Without one,
// Execute makes a random id per call (its own retries reuse it), and
// Create and Restart are not deduplicated.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id WithRequestID put in ctx ("" for
// none).
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

type viewerKey struct{}

// WithViewer returns a context whose Execute and Act calls name viewer as
// who sent them: the sandbox's watchers see it with the execution (the
// console sends the name its user gave).
func WithViewer(ctx context.Context, viewer string) context.Context {
	return context.WithValue(ctx, viewerKey{}, viewer)
}

// ViewerOf returns the viewer WithViewer put in ctx ("" for none).
func ViewerOf(ctx context.Context) string {
	v, _ := ctx.Value(viewerKey{}).(string)
	return v
}

// fingerprint hashes what a request id must keep naming.
func fingerprint(b []byte) uint64 { return xxhash.Sum64(b) }

// answered keeps the ids of the latest executions, with their code's
// fingerprint, and the answers of the latest of them: at most
// AnsweredKeys ids, answers within AnsweredBytes (the newest always). A
// slice searched from the end; the oldest entries are dropped first.
type answered struct {
	list  []answer
	bytes int // of the answers kept
}

type answer struct {
	id   string
	code uint64           // fingerprint of the code
	r    *wire.ExecResult // nil once dropped
}

func newAnswered() *answered { return &answered{} }

func answerSize(r *wire.ExecResult) int { return len(r.Value) + len(r.Output) + 64 }

// get returns the answer of id's execution: found reports whether id is
// known; err is ErrRequestMismatch when its code differs and
// ErrAnswerExpired when its answer was dropped.
func (a *answered) get(id string, code uint64) (r *wire.ExecResult, found bool, err error) {
	if id == "" {
		return nil, false, nil
	}
	for i := len(a.list) - 1; i >= 0; i-- {
		e := a.list[i]
		if e.id != id {
			continue
		}
		switch {
		case e.code != code:
			return nil, true, ErrRequestMismatch
		case e.r == nil:
			return nil, true, ErrAnswerExpired
		}
		return e.r, true, nil
	}
	return nil, false, nil
}

// codeOf returns the fingerprint of the code id's execution ran.
func (a *answered) codeOf(id string) (uint64, bool) {
	for i := len(a.list) - 1; i >= 0 && id != ""; i-- {
		if a.list[i].id == id {
			return a.list[i].code, true
		}
	}
	return 0, false
}

// put remembers id's execution and its answer.
func (a *answered) put(id string, code uint64, r *wire.ExecResult) {
	if id == "" {
		return
	}
	if len(a.list) == AnsweredKeys {
		if old := a.list[0].r; old != nil {
			a.bytes -= answerSize(old)
		}
		copy(a.list, a.list[1:])
		a.list = a.list[:AnsweredKeys-1]
	}
	a.list = append(a.list, answer{id: id, code: code, r: r})
	a.bytes += answerSize(r)
	// Drop the oldest answers (keeping their ids) past the budget.
	for i := 0; a.bytes > AnsweredBytes && i < len(a.list)-1; i++ {
		if old := a.list[i].r; old != nil {
			a.bytes -= answerSize(old)
			a.list[i].r = nil
		}
	}
}

// idemKey is an id with its request's fingerprint, as the metadata keeps
// it.
type idemKey struct {
	ID   string `json:"id"`
	Hash uint64 `json:"hash"`
}

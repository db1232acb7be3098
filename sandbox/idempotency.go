package sandbox

import (
	"context"
	"encoding/binary"
	"errors"

	"github.com/cespare/xxhash/v2"
	"google.golang.org/protobuf/proto"

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
// AnsweredKeys ids, answers within AnsweredBytes (the newest always).
//
// It is kept compact, since every live sandbox has one: an id is kept as
// its 64-bit hash (two ids of one sandbox's last 256 executions collide
// with odds of about 2⁻⁴⁹), and the answers are kept encoded, each after
// its length, back to back in one buffer. Answers are dropped oldest
// first, so the answers kept are those of the last entries, in order.
type answered struct {
	list []answer
	buf  []byte // from list[kept] on: uvarint length, encoded answer
	kept int    // the first entry whose answer is kept
}

type answer struct {
	id   uint64 // hash of the request id
	code uint64 // fingerprint of the code
}

func newAnswered() *answered { return &answered{} }

// answerOverhead is what AnsweredBytes counts for each answer kept
// besides its encoding.
const answerOverhead = 16

// hash64 hashes a request id, or the code an execution ran (its
// fingerprint), without copying it.
func hash64(s string) uint64 { return xxhash.Sum64String(s) }

// get returns the answer of id's execution: found reports whether id is
// known; err is ErrRequestMismatch when its code differs and
// ErrAnswerExpired when its answer was dropped.
func (a *answered) get(id string, code uint64) (r *wire.ExecResult, found bool, err error) {
	i := a.find(id)
	if i < 0 {
		return nil, false, nil
	}
	switch e := a.list[i]; {
	case e.code != code:
		return nil, true, ErrRequestMismatch
	case i < a.kept:
		return nil, true, ErrAnswerExpired
	}
	b := a.buf
	for range i - a.kept {
		b = b[frameLen(b):]
	}
	n, w := binary.Uvarint(b)
	r = new(wire.ExecResult)
	if err := proto.Unmarshal(b[w:w+int(n)], r); err != nil {
		return nil, true, ErrAnswerExpired // cannot happen: encoded here
	}
	return r, true, nil
}

// frameLen returns the length of the first answer in b, with its prefix.
func frameLen(b []byte) int {
	n, w := binary.Uvarint(b)
	return w + int(n)
}

// find returns the index of id's entry, the latest first, or -1.
func (a *answered) find(id string) int {
	if id == "" {
		return -1
	}
	h := hash64(id)
	for i := len(a.list) - 1; i >= 0; i-- {
		if a.list[i].id == h {
			return i
		}
	}
	return -1
}

// codeOf returns the fingerprint of the code id's execution ran.
func (a *answered) codeOf(id string) (uint64, bool) {
	if i := a.find(id); i >= 0 {
		return a.list[i].code, true
	}
	return 0, false
}

// put remembers id's execution and its answer.
func (a *answered) put(id string, code uint64, r *wire.ExecResult) {
	if id == "" {
		return
	}
	if len(a.list) == AnsweredKeys { // forget the oldest id
		if a.kept == 0 {
			a.buf = a.buf[frameLen(a.buf):]
		} else {
			a.kept--
		}
		copy(a.list, a.list[1:])
		a.list = a.list[:AnsweredKeys-1]
	}
	opts := proto.MarshalOptions{Deterministic: true}
	a.buf = binary.AppendUvarint(a.buf, uint64(opts.Size(r)))
	a.buf, _ = opts.MarshalAppend(a.buf, r)
	a.list = append(a.list, answer{id: hash64(id), code: code})
	// Drop the oldest answers (keeping their ids) past the budget.
	for a.kept < len(a.list)-1 && a.bytes() > AnsweredBytes {
		a.buf = a.buf[frameLen(a.buf):]
		a.kept++
	}
}

// bytes is what the answers kept count toward AnsweredBytes.
func (a *answered) bytes() int { return len(a.buf) + answerOverhead*(len(a.list)-a.kept) }

// idemKey is an id with its request's fingerprint, as the metadata keeps
// it.
type idemKey struct {
	ID   string `json:"id"`
	Hash uint64 `json:"hash"`
}

package server_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/otpbox/otpbox/cache"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/hosttest"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/server"
	"github.com/otpbox/otpbox/sandbox"
)

// keyed records the request ids the host is given.
type keyed struct {
	*hosttest.Host
	mu   sync.Mutex
	keys []string
}

func (k *keyed) Execute(ctx context.Context, id, code string) (*server.Result, error) {
	k.mu.Lock()
	k.keys = append(k.keys, sandbox.RequestID(ctx))
	k.mu.Unlock()
	return k.Host.Execute(ctx, id, code)
}

// textKeys is a cache that checks its keys are text: a cluster's cache
// sends them to other members as protobuf strings, which must be UTF-8.
type textKeys struct {
	*cache.Cache
	t *testing.T
}

func (c textKeys) GetOrLoad(ctx context.Context, key string, load cache.Loader, opts ...cache.PutOption) ([]byte, error) {
	if !utf8.ValidString(key) {
		c.t.Errorf("cache key %q is not UTF-8", key)
	}
	return c.Cache.GetOrLoad(ctx, key, load, opts...)
}

func TestIdempotencyKey(t *testing.T) {
	l1, err := cache.New(cache.Config{L1Size: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	c := textKeys{Cache: l1, t: t}
	h := &keyed{Host: hosttest.New()}
	a := newAPI(t, server.Config{Sandboxes: h, Cache: c})
	if _, err := h.Create(context.Background(), "s1", server.Requirements{}); err != nil {
		t.Fatal(err)
	}
	a.do("POST", "/v1/sandboxes/s1/exec", `{"code":"1"}`, "Idempotency-Key", "k1").wantJSON(t, 200, nil)
	a.do("POST", "/v1/sandboxes/s1/exec", `{"code":"1"}`, "Idempotency-Key", "k1").wantJSON(t, 200, nil)
	a.do("POST", "/v1/sandboxes/s1/exec", `{"code":"1"}`).wantJSON(t, 200, nil)
	if got := strings.Join(h.keys, ","); got != "k1,k1," {
		t.Fatalf("request ids given to the host = %q", got)
	}
	// The key names one request: another body, or another path, is 422.
	a.do("POST", "/v1/sandboxes/s1/exec", `{"code":"2"}`, "Idempotency-Key", "k1").wantProblem(t, 422, "idempotency_key_reused")
	a.do("POST", "/v1/sandboxes", `{"id":"s2"}`, "Idempotency-Key", "k1").wantProblem(t, 422, "idempotency_key_reused")
	for _, bad := range []string{strings.Repeat("k", 256), "with space", "naïve"} {
		a.do("POST", "/v1/sandboxes/s1/exec", `{"code":"1"}`, "Idempotency-Key", bad).wantProblem(t, 400, "invalid_idempotency_key")
	}
	// A body over the limit is still 413 with a key.
	small := newAPI(t, server.Config{Cache: c, MaxBody: 16})
	small.do("POST", "/v1/sandboxes", `{"id":"a-long-enough-id"}`, "Idempotency-Key", "k9").wantProblem(t, http.StatusRequestEntityTooLarge, "body_too_large")
}

func TestIdempotencyProblems(t *testing.T) {
	for _, c := range []struct {
		err    error
		status int
		kind   string
	}{
		{sandbox.ErrRequestMismatch, 422, "idempotency_key_reused"},
		{sandbox.ErrAnswerExpired, 409, "already_applied"},
	} {
		a := newAPI(t, server.Config{Sandboxes: failing{Host: hosttest.New(), err: c.err}})
		a.do("POST", "/v1/sandboxes/s1/exec", `{"code":"1"}`, "Idempotency-Key", "k").wantProblem(t, c.status, c.kind)
	}
}

package main

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/otpbox/otpbox/api"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/hosttest"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/server"
)

// TestCLIKeys: every invocation of a command sends a new Idempotency-Key
// (the user running `otpbox sandbox exec s1 'n += 1'` twice means it
// twice); only the client's own retries of one invocation reuse it.
func TestCLIKeys(t *testing.T) {
	h := hosttest.New()
	srv := server.New(server.Config{Sandboxes: h, Counts: h.SandboxCounts})
	var (
		mu      sync.Mutex
		keys    []string
		refused int // answer the next POSTs 503 this many times
	)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			mu.Lock()
			keys = append(keys, r.Header.Get(api.IdempotencyKeyHeader))
			refuse := refused > 0
			if refuse {
				refused--
			}
			mu.Unlock()
			if refuse {
				w.Header().Set("Retry-After", "0")
				w.Header().Set("Content-Type", "application/problem+json")
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = w.Write([]byte(`{"type":"urn:otpbox:problem:timeout","title":"Request timed out","status":503}`))
				return
			}
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	c := newCLI(t, "OTPBOX_ADDR", ts.URL)
	c.ok("sandbox", "create", "s1")
	c.ok("sandbox", "exec", "s1", "n = 1")
	c.ok("sandbox", "exec", "s1", "n = 1")
	mu.Lock()
	refused = 1
	mu.Unlock()
	c.ok("sandbox", "exec", "s1", "n = 1")
	mu.Lock()
	defer mu.Unlock()
	if len(keys) != 5 {
		t.Fatalf("keys = %q, want 5 POSTs", keys)
	}
	seen := map[string]bool{}
	for _, k := range keys[:4] {
		if k == "" || seen[k] {
			t.Fatalf("keys = %q: each invocation needs a new key", keys)
		}
		seen[k] = true
	}
	if keys[4] != keys[3] {
		t.Fatalf("keys = %q: the retry of a refused call must reuse its key", keys)
	}
}

package server_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/otpbox/otpbox/cmd/otpbox/internal/hosttest"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/server"
)

// BenchmarkLifecycle is one bench request (create, execute "1 + 1",
// terminate) through the handler, without the network: the API's own
// cost over the in-memory host.
func BenchmarkLifecycle(b *testing.B) {
	srv := server.New(server.Config{Sandboxes: hosttest.New(), AllowedHosts: []string{"example.com"}})
	var n atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := fmt.Sprintf("b%d", n.Add(1))
			for _, c := range []struct{ method, path, body string }{
				{"POST", "/v1/sandboxes", `{"id":"` + id + `"}`},
				{"POST", "/v1/sandboxes/" + id + "/exec", `{"code":"1 + 1"}`},
				{"DELETE", "/v1/sandboxes/" + id, ""},
			} {
				w := httptest.NewRecorder()
				req := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
				req.Header.Set("Content-Type", "application/json")
				srv.ServeHTTP(w, req)
				if w.Code >= 300 {
					b.Fatalf("%s %s = %d %s", c.method, c.path, w.Code, w.Body)
				}
			}
		}
	})
}

// BenchmarkHealth is the cheapest route: the cost of routing, checks and
// recording alone.
func BenchmarkHealth(b *testing.B) {
	srv := server.New(server.Config{Sandboxes: hosttest.New(), AllowedHosts: []string{"example.com"}})
	b.ReportAllocs()
	for b.Loop() {
		srv.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/v1/health/live", nil))
	}
}

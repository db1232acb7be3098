package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// execAnswer is a node's answer to an execution.
const execAnswer = `{"value":"2","output":"","steps":3,"duration_us":12}`

func execServer(b *testing.B) *httptest.Server {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, execAnswer)
	}))
	b.Cleanup(ts.Close)
	return ts
}

// BenchmarkClientExec is one Sandboxes.Exec through the client (JSON in
// and out, an idempotency key, the problem check) on loopback.
func BenchmarkClientExec(b *testing.B) {
	ts := execServer(b)
	c, err := NewClient(&Config{Address: ts.URL, HTTPClient: ts.Client()})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Sandboxes().Exec(ctx, "s1", "1 + 1"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBaselineHTTPExec is the same request with bare net/http and
// encoding/json: the client's overhead is the difference.
func BenchmarkBaselineHTTPExec(b *testing.B) {
	ts := execServer(b)
	hc := ts.Client()
	url := ts.URL + "/v1/sandboxes/s1/exec"
	b.ReportAllocs()
	for b.Loop() {
		body, _ := json.Marshal(map[string]string{"code": "1 + 1"})
		resp, err := hc.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		var out struct {
			Value string `json:"value"`
		}
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if err != nil || out.Value != "2" {
			b.Fatal(err)
		}
	}
}

// BenchmarkClientExecParallel is BenchmarkClientExec from many
// goroutines sharing one client.
func BenchmarkClientExecParallel(b *testing.B) {
	ts := execServer(b)
	c, err := NewClient(&Config{Address: ts.URL})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if _, err := c.Sandboxes().Exec(ctx, "s1", "1 + 1"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

package bench

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/api"
)

func TestExecs(t *testing.T) {
	var conns atomic.Int32
	release := make(chan struct{})
	arrived := make(chan struct{}, 2)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Code string }
		if r.Method != http.MethodPost || r.Header.Get("Authorization") != "Bearer tok" ||
			json.NewDecoder(r.Body).Decode(&body) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		switch r.URL.Path {
		case "/v1/sandboxes/a b/exec":
			_, _ = io.WriteString(w, `{"value":"1"}`)
		case "/v1/sandboxes/busy/exec":
			w.Header().Set("Content-Type", "application/problem+json")
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, `{"type":"urn:otpbox:problem:overloaded","title":"Node overloaded","detail":"shed"}`)
		case "/v1/sandboxes/close/exec":
			w.Header().Set("Connection", "close")
			_, _ = io.WriteString(w, `{}`)
		case "/v1/sandboxes/slow/exec":
			arrived <- struct{}{}
			<-release
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })

	e, err := NewExecs(srv.URL, "tok")
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, e.Close()) })
	ctx := t.Context()

	for range 3 {
		require.NoError(t, e.Exec(ctx, "a b", "n += 1"), "the id is escaped, the code sent as JSON")
	}
	assert.EqualValues(t, 1, conns.Load(), "one connection kept alive")

	err = e.Exec(ctx, "busy", "x")
	var ae *api.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, http.StatusTooManyRequests, ae.StatusCode)
	assert.Equal(t, api.Kind("overloaded"), ae.Kind)
	assert.Equal(t, 2*time.Second, ae.RetryAfter)
	assert.Equal(t, "overloaded", kindOf(err))
	require.NoError(t, e.Exec(ctx, "a b", "x"))
	assert.EqualValues(t, 1, conns.Load(), "an error answer keeps the connection")

	require.NoError(t, e.Exec(ctx, "close", "x"))
	require.NoError(t, e.Exec(ctx, "a b", "x"))
	assert.EqualValues(t, 2, conns.Load(), "Connection: close is honoured")

	require.NoError(t, e.Open(ctx, 4))
	require.Eventually(t, func() bool { return conns.Load() == 5 }, 5*time.Second, time.Millisecond,
		"Open dials until four are idle: the one kept and three new")
	for range 4 {
		require.NoError(t, e.Exec(ctx, "a b", "x"))
	}
	require.NoError(t, e.Open(ctx, 4))
	assert.EqualValues(t, 5, conns.Load(), "the calls used the open connections, and Open had none to add")

	dctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	err = e.Exec(dctx, "slow", "x")
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "%v", err)
	assert.Equal(t, KindTimeout, kindOf(err))

	cctx, cancel2 := context.WithCancel(ctx)
	go func() { <-arrived; <-arrived; cancel2() }() // the timed-out call's, then this one's
	assert.ErrorIs(t, e.Exec(cctx, "slow", "x"), context.Canceled)
	require.NoError(t, e.Exec(ctx, "a b", "x"), "an abandoned connection is not reused")
}

func TestNewExecsAddress(t *testing.T) {
	for _, bad := range []string{"https://127.0.0.1:1", "http://127.0.0.1:1/api", "http://"} {
		_, err := NewExecs(bad, "")
		assert.Error(t, err, bad)
	}
	e, err := NewExecs("127.0.0.1:4000", "")
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:4000", e.addr)
}

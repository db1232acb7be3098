package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/otpbox/otpbox/api"
)

// Execs sends executions (POST /v1/sandboxes/{id}/exec) over keep-alive
// HTTP/1.1 connections of its own: the open model's load generator.
//
// It exists to cost the machine it shares with the node little, as wrk2
// does: net/http's client runs two goroutines per connection and hands
// every request and answer between them over channels, which made the
// generator a third of the CPU of a load test on a two-core machine.
// Here the calling goroutine writes the request and reads the answer on
// a connection it holds alone. Answers are parsed by net/http
// (http.ReadResponse); a problem+json answer becomes an *api.Error.
//
// An Execs is safe for concurrent use; Close closes its idle
// connections.
type Execs struct {
	addr   string // host:port to dial
	header string // the request's headers after the request line, without Content-Length
	dialer net.Dialer

	mu     sync.Mutex
	idle   []*execConn
	closed bool
}

type execConn struct {
	c   net.Conn
	r   *bufio.Reader
	buf []byte // the request being written
}

// NewExecs returns an Execs for the node at base ("127.0.0.1:4000" or
// "http://127.0.0.1:4000"), sending token as its bearer token. It
// refuses any scheme but http.
func NewExecs(base, token string) (*Execs, error) {
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("bench: executions over raw connections need an http://host:port address, not %q", base)
	}
	if u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("bench: address %q has a path", base)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	var h strings.Builder
	h.WriteString("Host: " + u.Host + "\r\n")
	if token != "" {
		h.WriteString("Authorization: Bearer " + token + "\r\n")
	}
	h.WriteString("User-Agent: otpbox-bench\r\nContent-Type: application/json\r\nAccept: application/json\r\n")
	return &Execs{addr: addr, header: h.String(), dialer: net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}}, nil
}

// Exec runs code in sandbox id and returns nil once the node answered
// 2xx, else the answer as an *api.Error, or the connection's error.
// ctx's deadline bounds the whole call; cancelling ctx abandons it.
func (e *Execs) Exec(ctx context.Context, id, code string) error {
	c, err := e.get(ctx)
	if err != nil {
		return err
	}
	dl, _ := ctx.Deadline()
	if err := c.c.SetDeadline(dl); err != nil {
		c.c.Close()
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = c.c.SetDeadline(time.Unix(1, 0)) })
	keep, err := e.roundTrip(c, id, code)
	if !stop() || !keep {
		c.c.Close()
	} else {
		e.put(c)
	}
	var ne net.Error
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.As(err, &ne) && ne.Timeout() && !dl.IsZero() && !time.Now().Before(dl):
		// The connection's deadline is the context's: it may fire first.
		return fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
	}
	return err
}

// roundTrip writes the request on c and reads its answer; keep reports
// whether c may carry another request.
func (e *Execs) roundTrip(c *execConn, id, code string) (keep bool, err error) {
	path := "/v1/sandboxes/" + url.PathEscape(id) + "/exec"
	body, err := json.Marshal(struct {
		Code string `json:"code"`
	}{code})
	if err != nil {
		return true, err
	}
	b := c.buf[:0]
	b = append(b, "POST "...)
	b = append(b, path...)
	b = append(b, " HTTP/1.1\r\n"...)
	b = append(b, e.header...)
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n\r\n"...)
	b = append(b, body...)
	c.buf = b
	if _, err := c.c.Write(b); err != nil {
		return false, err
	}
	res, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return false, err
	}
	defer res.Body.Close()
	if res.StatusCode/100 == 2 {
		_, err := io.Copy(io.Discard, res.Body)
		return err == nil && !res.Close, err
	}
	ae := api.DecodeError(res, http.MethodPost, path)
	_, err = io.Copy(io.Discard, res.Body) // what the problem's reader left
	return err == nil && !res.Close, ae
}

// Open dials connections until n are idle, so that the calls that follow
// need not dial them.
func (e *Execs) Open(ctx context.Context, n int) error {
	e.mu.Lock()
	need := n - len(e.idle)
	e.mu.Unlock()
	for range need {
		c, err := e.dial(ctx)
		if err != nil {
			return err
		}
		e.put(c)
	}
	return nil
}

// get returns an idle connection, or dials one.
func (e *Execs) get(ctx context.Context) (*execConn, error) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, net.ErrClosed
	}
	if n := len(e.idle); n > 0 {
		c := e.idle[n-1]
		e.idle = e.idle[:n-1]
		e.mu.Unlock()
		return c, nil
	}
	e.mu.Unlock()
	return e.dial(ctx)
}

func (e *Execs) dial(ctx context.Context) (*execConn, error) {
	nc, err := e.dialer.DialContext(ctx, "tcp", e.addr)
	if err != nil {
		return nil, err
	}
	return &execConn{c: nc, r: bufio.NewReaderSize(nc, 4096)}, nil
}

func (e *Execs) put(c *execConn) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		c.c.Close()
		return
	}
	e.idle = append(e.idle, c)
}

// Close closes the idle connections; connections in use close when
// their call returns.
func (e *Execs) Close() error {
	e.mu.Lock()
	idle := e.idle
	e.idle, e.closed = nil, true
	e.mu.Unlock()
	var errs []error
	for _, c := range idle {
		if err := c.c.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

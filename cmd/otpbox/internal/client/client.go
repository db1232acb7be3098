package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/otpbox/otpbox/cmd/otpbox/internal/server"
)

// DefaultAddr is the address of the local node.
const DefaultAddr = "http://127.0.0.1:4000"

// Client calls one node. It is safe for concurrent use.
type Client struct {
	base  *url.URL
	token string
	http  *http.Client
}

// New returns a client for the node at addr ("http://host:port"; a bare
// "host:port" gets http://). token, when set, is sent as a bearer token.
// hc nil means http.DefaultClient.
func New(addr, token string, hc *http.Client) (*Client, error) {
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("invalid node address %q: want http://host:port", addr)
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{base: u, token: token, http: hc}, nil
}

// Error is a non-2xx answer: its status and, when the node sent one, its
// problem detail.
type Error struct {
	Status  int
	Problem *server.Problem
}

func (e *Error) Error() string {
	if e.Problem == nil || e.Problem.Title == "" {
		return fmt.Sprintf("%d %s", e.Status, http.StatusText(e.Status))
	}
	msg := fmt.Sprintf("%s (%d)", e.Problem.Title, e.Status)
	if e.Problem.Detail != "" {
		msg += ": " + e.Problem.Detail
	}
	if e.Problem.Limit != "" {
		msg += " [limit " + e.Problem.Limit + "]"
	}
	return msg
}

// Kind returns the problem kind ("not_found", …), or "" without a
// problem.
func (e *Error) Kind() string {
	if e.Problem == nil {
		return ""
	}
	return e.Problem.Kind()
}

// StatusOf returns the HTTP status of an *Error in err's chain, or 0.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// do sends method path?q with in as JSON (nil: no body) and decodes a
// 2xx answer into out (nil: discard).
func (c *Client) do(ctx context.Context, method, path string, q url.Values, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	u := c.base.JoinPath(path)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return decodeError(resp)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body) // let the connection be reused
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode %s %s answer: %w", method, path, err)
	}
	return nil
}

func decodeError(resp *http.Response) error {
	e := &Error{Status: resp.StatusCode}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "application/problem+json" {
		var p server.Problem
		if json.Unmarshal(b, &p) == nil {
			e.Problem = &p
		}
	}
	return e
}

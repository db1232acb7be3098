package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
)

// Listener wraps ln so that the answers net/http writes by itself, before
// any handler runs, go out as problem details too: 400 for a malformed
// request (request line, header, Host), 431 for headers over the
// server's MaxHeaderBytes, 501 for an unknown transfer encoding. net/http
// writes those as text/plain straight to the connection, in one write
// that no handler can reach; the connection recognises it by net/http's
// fixed headers (no Date, text/plain, Connection: close) and replaces it.
// Every answer of a handler carries a Date header and never matches.
func Listener(ln net.Listener) net.Listener { return problemListener{ln} }

type problemListener struct{ net.Listener }

func (l problemListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &problemConn{Conn: c}, nil
}

// problemConn rewrites net/http's own error answers; see Listener.
type problemConn struct{ net.Conn }

// stdErrorHeaders are the headers net/http's own error answers carry.
const stdErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

func (c *problemConn) Write(b []byte) (int, error) {
	if p, ok := rewriteStdError(b); ok {
		if _, err := c.Conn.Write(p); err != nil {
			return 0, err
		}
		return len(b), nil
	}
	return c.Conn.Write(b)
}

// rewriteStdError turns one of net/http's own error answers into a
// problem answer; ok is false for anything else.
func rewriteStdError(b []byte) ([]byte, bool) {
	const proto = "HTTP/1.1 "
	if !bytes.HasPrefix(b, []byte(proto)) {
		return nil, false
	}
	i := bytes.Index(b, []byte(stdErrorHeaders))
	if i < 0 || len(b) < len(proto)+3 {
		return nil, false
	}
	status, err := strconv.Atoi(string(b[len(proto) : len(proto)+3]))
	if err != nil || status < 400 || status > 599 {
		return nil, false
	}
	body := string(b[i+len(stdErrorHeaders):])
	p := stdProblem(status, body)
	js, _ := json.Marshal(p)
	var out bytes.Buffer
	fmt.Fprintf(&out, "HTTP/1.1 %d %s\r\nContent-Type: application/problem+json\r\nX-Content-Type-Options: nosniff\r\nContent-Length: %d\r\nConnection: close\r\n\r\n",
		status, http.StatusText(status), len(js)+1)
	out.Write(js)
	out.WriteByte('\n')
	return out.Bytes(), true
}

// stdProblem is the problem of one of net/http's own answers; text is
// the answer's body ("400 Bad Request: missing required Host header").
func stdProblem(status int, text string) *Problem {
	switch status {
	case http.StatusRequestHeaderFieldsTooLarge:
		return problem(status, "headers_too_large", "Request header fields too large",
			"the request's headers exceed the node's limit")
	case http.StatusNotImplemented:
		return problem(status, "not_implemented", "Not implemented", "the request's transfer encoding is not supported")
	}
	detail := "the request is not valid HTTP"
	if _, rest, ok := bytes.Cut([]byte(text), []byte(": ")); ok && len(rest) > 0 {
		detail = "the request is not valid HTTP: " + string(rest)
	}
	return problem(status, "bad_request", http.StatusText(status), detail)
}

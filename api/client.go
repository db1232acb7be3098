package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// DefaultAddress is the API address of a node started with its defaults
// (`otpbox node`).
const DefaultAddress = "http://127.0.0.1:4000"

// The environment variables DefaultConfig reads.
const (
	// AddressEnv names the node's API address (OTPBOX_ADDR).
	AddressEnv = "OTPBOX_ADDR"
	// TokenEnv names the bearer token (OTPBOX_TOKEN).
	TokenEnv = "OTPBOX_TOKEN"
)

// Config configures a Client. The zero value of every field means its
// documented default.
type Config struct {
	// Address is the node's API: "http://host:port", "https://host:port",
	// or "host:port" for plain HTTP. Default DefaultAddress.
	Address string
	// Token, when set, is sent as "Authorization: Bearer <token>" on
	// every request; a node with a token requires it on POST and DELETE.
	Token string
	// HTTPClient sends the requests. Default: a client of its own with a
	// pooled transport and no overall timeout (use contexts).
	HTTPClient *http.Client
	// Retry bounds the retries of answers 429 and 503 (see RetryPolicy).
	Retry RetryPolicy
	// UserAgent is sent as User-Agent (default "otpbox-api").
	UserAgent string
}

// DefaultConfig returns a Config whose Address and Token come from
// OTPBOX_ADDR and OTPBOX_TOKEN, when set.
func DefaultConfig() *Config {
	return &Config{Address: os.Getenv(AddressEnv), Token: os.Getenv(TokenEnv)}
}

// Client is a client of one node's API. It is safe for concurrent use.
type Client struct {
	base  *url.URL
	token string
	http  *http.Client
	retry RetryPolicy
	agent string
	// sleep waits d or until ctx is done; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
}

// NewClient returns a client for cfg (nil: the defaults). It fails only
// on an address that is not an http or https URL.
func NewClient(cfg *Config) (*Client, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	base, err := ParseAddress(cfg.Address)
	if err != nil {
		return nil, err
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Transport: defaultTransport()}
	}
	agent := cfg.UserAgent
	if agent == "" {
		agent = "otpbox-api"
	}
	return &Client{base: base, token: cfg.Token, http: hc, retry: cfg.Retry.withDefaults(), agent: agent, sleep: sleepCtx}, nil
}

// ParseAddress parses a node address as NewClient does: "" is
// DefaultAddress, a bare "host:port" gets http://.
func ParseAddress(addr string) (*url.URL, error) {
	if addr == "" {
		addr = DefaultAddress
	}
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("api: invalid node address %q: want http://host:port", addr)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return u, nil
}

// Address returns the node's API address, as a URL string.
func (c *Client) Address() string { return c.base.String() }

func defaultTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// Close releases the idle connections of the client's transport.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// request is one logical API call.
type request struct {
	method, path string
	query        url.Values
	body         any // nil: no body
	// noRetry sends the call once: a health check must see the answer.
	noRetry bool
}

// call sends r, retrying 429 and 503 answers within the retry policy, and
// decodes a 2xx answer into out (nil: discard). It returns the last
// attempt's error.
func (c *Client) call(ctx context.Context, r request, out any) error {
	var payload []byte
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return fmt.Errorf("api: encode %s %s: %w", r.method, r.path, err)
		}
		payload = b
	}
	key := ""
	if r.method == http.MethodPost {
		key = idempotencyKey(ctx)
	}
	attempts := c.retry.MaxAttempts
	if r.noRetry {
		attempts = 1
	}
	for attempt := 1; ; attempt++ {
		err := c.once(ctx, r, payload, key, out)
		wait, retry := c.retry.next(attempt, attempts, err)
		if !retry {
			return err
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return err // the answer would come too late: report the refusal now
		}
		if serr := c.sleep(ctx, wait); serr != nil {
			return err
		}
	}
}

// once sends one attempt of r.
func (c *Client) once(ctx context.Context, r request, payload []byte, key string, out any) error {
	u := c.base.JoinPath(r.path)
	u.RawQuery = r.query.Encode()
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		return fmt.Errorf("api: %s %s: %w", r.method, r.path, err)
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	req.Header.Set("User-Agent", c.agent)
	if key != "" {
		req.Header.Set(IdempotencyKeyHeader, key)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err // *url.Error: Op, URL and the cause
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return DecodeError(resp, r.method, r.path)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body) // let the connection be reused
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("api: decode the answer of %s %s: %w", r.method, r.path, err)
	}
	return nil
}

// sleepCtx waits d, or until ctx is done (returning its error).
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func sandboxPath(id string, rest ...string) string {
	p := "/v1/sandboxes/" + url.PathEscape(id)
	for _, r := range rest {
		p += "/" + r
	}
	return p
}

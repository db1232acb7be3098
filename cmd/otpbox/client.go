package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"text/template"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/otpbox/otpbox/api"
)

// clientOpts are the flags of the commands that talk to a node.
type clientOpts struct {
	m       *Main
	addr    string
	token   string
	json    bool
	format  string
	timeout time.Duration
}

// clientFlags adds --addr, --token, --json, --format and --timeout to fs;
// the defaults of --addr and --token come from OTPBOX_ADDR and
// OTPBOX_TOKEN.
func (m *Main) clientFlags(fs *pflag.FlagSet) *clientOpts {
	o := &clientOpts{m: m}
	// The variables are read when the command runs, so that help never
	// shows a token.
	fs.StringVar(&o.addr, "addr", "", "node API address; env OTPBOX_ADDR (default "+api.DefaultAddress+")")
	fs.StringVar(&o.token, "token", "", "bearer token of a node with a token (its write token, or its read token for reads); env OTPBOX_TOKEN")
	fs.BoolVar(&o.json, "json", false, "print the answer as JSON")
	fs.StringVar(&o.format, "format", "", "print the answer through a Go `template`, e.g. '{{.ID}} {{.State}}' (once per item for lists)")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "deadline of the command's requests")
	return o
}

// client returns the API client for the flags; the node's refusals (429,
// 503) are retried as the api package's default policy says.
func (o *clientOpts) client(cmd *cobra.Command) (*api.Client, error) {
	if o.json && o.format != "" {
		return nil, usage(cmd, "--json and --format exclude each other")
	}
	if o.format != "" {
		if _, err := template.New("format").Funcs(templateFuncs).Parse(o.format); err != nil {
			return nil, usage(cmd, "--format: %v", err)
		}
	}
	o.resolve()
	c, err := api.NewClient(&api.Config{Address: o.addr, Token: o.token, UserAgent: "otpbox-cli"})
	if err != nil {
		return nil, usage(cmd, "--addr: %v", err)
	}
	return c, nil
}

// resolve fills --addr and --token from OTPBOX_ADDR and OTPBOX_TOKEN
// when they were not given.
func (o *clientOpts) resolve() {
	if o.addr == "" {
		o.addr = o.m.Getenv(api.AddressEnv)
	}
	if o.addr == "" {
		o.addr = api.DefaultAddress
	}
	if o.token == "" {
		o.token = o.m.Getenv(api.TokenEnv)
	}
}

// context bounds ctx by --timeout.
func (o *clientOpts) context(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, o.timeout)
}

// NoNodeError reports that nothing answered at the node's address.
type NoNodeError struct {
	Addr string
	Err  error
}

// Error says that no node answers, why, and how to start one.
func (e *NoNodeError) Error() string {
	return fmt.Sprintf("no node answers at %s (%v); is a node running at %s? start one with \"otpbox node\"",
		e.Addr, rootCause(e.Err), e.Addr)
}

// Unwrap returns the transport's error.
func (e *NoNodeError) Unwrap() error { return e.Err }

// fail says what was being done when err happened ("exec in sandbox s1:
// …"), and turns a refused connection into a *NoNodeError and a
// deadline into a word about --timeout.
func (o *clientOpts) fail(ctx context.Context, action string, err error) error {
	var op *net.OpError
	switch {
	case errors.As(err, &op) && op.Op == "dial", errors.Is(err, syscall.ECONNREFUSED):
		err = &NoNodeError{Addr: o.addr, Err: err}
	case errors.Is(context.Cause(ctx), errInterrupted):
		err = errInterrupted
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
		err = fmt.Errorf("no answer from %s within %v (--timeout): %w", o.addr, o.timeout, context.DeadlineExceeded)
	}
	return fmt.Errorf("%s: %w", action, err)
}

// rootCause is the innermost error of a dial failure ("connection
// refused").
func rootCause(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

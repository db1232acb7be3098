// Package server is the HTTP API of an otpbox node, /v1: sandboxes,
// cluster, cache, memory and health, with errors as RFC 9457 problem
// details (application/problem+json).
//
// The API drives the sandbox host through Sandboxes, declared here by its
// consumer; sandboxapi.go names the sandbox package's types (aliases, so
// the JSON shapes are the sandbox package's). Every route shares the same checks: a bearer token on POST
// and DELETE when one is configured, refusal of POST while the node
// drains, a per-request timeout and a body limit. Unmatched paths and
// methods get 404 and 405 problems rather than the mux's plain text.
package server

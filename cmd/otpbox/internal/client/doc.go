// Package client is the Go client of a node's HTTP API, used by the CLI
// and the load test.
package client

// Package hosttest is an in-memory sandbox host for tests: a working
// implementation of server.Sandboxes (and of the node's Host) that runs
// Starlark sessions in process, with step and duration limits. Only tests
// import it; the real host is the sandbox package.
package hosttest

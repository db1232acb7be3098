// Package otp is the OTP runtime of one sandbox: the processes its code
// starts (gen_server workers written in Starlark, and supervisors), their
// mailboxes, and a scheduler that runs them.
//
// # One budget, one order
//
// A sandbox's processes are not actors of the node. They run on the
// goroutine of the sandbox's executions, one message at a time, in an
// order fixed by the code alone: a run queue of the processes that have
// messages, each turn handling the oldest message of the first process
// that is not blocked. Everything they do is work of the execution that
// caused it, charged to its step budget and bounded by its wall-clock
// limit: handlers, inits, restarts and the supervisors' own operations.
// An execution is answered once its effects have settled, when no process
// has a message left; effects that do not settle within the execution's
// limits make it fail. Nothing runs between executions, so a sandbox at
// rest costs no CPU, and deleting or passivating it stops all its work at
// once.
//
// # Transactions
//
// An execution is a transaction over the sandbox's globals and its
// processes together: when it fails (an error in its code, a call that
// failed, a limit, the memory check) nothing it did remains, not even
// processes it started or messages it sent. Worker states, mailboxes,
// supervisors and traces count with the globals against the sandbox's
// memory limit (MaxHeapBytes); supervisors and workers both count as
// processes against MaxActors.
//
// # Replay cannot diverge
//
// A sandbox's state is a function of its journal: the code of its
// accepted executions and the time each was accepted. The scheduler's
// order depends only on the code; pids are numbered in start order; the
// clock that times restart intensity, records and traces is logical (the
// accepted time of the running execution, moved forward only when a call
// cannot be answered and its timeout elapses). Replaying the journal in a
// fresh session (after passivation, a node restart, a migration or a
// failover) therefore rebuilds the same globals, trees, child ids, pids,
// worker states, restart records and traces.
//
// # Saved between executions
//
// A Runtime is an engine.SavedWorld: a sandbox's snapshot (package
// sandbox) holds its processes as they are at rest, and a runtime loaded
// from it goes on as the saved one would have (see saved.go for what is
// saved). Worker handlers are saved by name when they are top-level
// defs, and as their text when they are lambdas (worker() keeps it with
// engine.KeepSource), with the values a closure captured.
//
// # OTP's rules
//
// Supervisors are supervision.Machines, the state machine of package
// supervision: the same strategies, restart types, intensity, shutdown
// order and auto_shutdown. What the sandbox's processes cannot do as
// Erlang's do, because they run only within executions: a handler takes no
// logical time, so a call times out only when it can never be answered
// (a cycle of calls; the innermost one fails first); stopping a worker is
// immediate (workers have no terminate callback, so shutdown timeouts do
// not matter); and supervisors trap exits, so exit(sup, reason) from
// anyone but its parent is ignored, as in OTP: use kill(sup) or
// terminate_child on its parent. The sandbox's code is the parent of the
// trees it starts (start_supervisor is its start_link), so its exit(tree,
// reason) stops the tree's children in order, then the tree.
//
// # The language
//
// The builtins are documented in one place, help.go: help() and
// help(name) print it, and docs/sandbox.md carries the same text. Their
// errors name the call, what was expected and what came, and what to do.
package otp

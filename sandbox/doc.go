// Package sandbox runs untrusted Starlark code in isolated, limited,
// persistent sessions: the execution engine of otpbox's sandbox grains.
//
// # Sessions
//
// A [Session] is a REPL: each [Session.Execute] runs a chunk of code
// against the globals left by earlier chunks and returns the repr of a
// final expression, what print wrote, and the steps and time used:
//
//	s := sandbox.NewSession(sandbox.Limits{})
//	s.Execute(ctx, "counter = {'n': 0}")
//	res, err := s.Execute(ctx, "counter['n'] += 1\ncounter['n']") // res.Value == "1"
//
// Executions are transactions: one that fails for any reason (a
// [*SyntaxError], a [*RuntimeError] with a Starlark backtrace, a
// [*LimitError], cancellation) leaves the globals as they were, down to the
// contents of the lists, dicts and sets it mutated.
//
// # Limits
//
// [Limits] bound each execution (steps, wall-clock time, code size, output
// size) and the session (number of globals, approximate heap held by
// them), with safe defaults. The step limit is Starlark's; on top of it,
// the code is instrumented so that every operation whose cost grows with
// its operands (string and list concatenation and repetition, %,
// str.format, join, replace, split, slicing a list, big-int arithmetic,
// materialising a range with list, sorted, ...) is charged about one step
// per 16 bytes it allocates, before it allocates, and no single operation
// may produce more than 4 MiB of text. One execution therefore cannot
// allocate much more than 64 bytes per step of its budget (64 MiB at the
// default), and what it keeps is checked against MaxHeapBytes afterwards.
//
// Known gap: values built by nesting a tuple in itself many times
// (t = (t, t) in a loop) have an exponential hash. Hashing happens inside
// the interpreter (dict keys, set elements, in), cannot be charged or
// cancelled, and so can hold a CPU until it ends. Recursion is disabled,
// so Go stacks stay small.
//
// # Isolation
//
// Code sees Starlark's universe (with guarded replacements) and nothing
// else: no load, files, network, environment, clock or randomness.
// Builtins added with [WithBuiltins] or an [Env] are the only way out; they
// reach their session with [FromThread] or [WithLocal], charge their work
// with [Charge], and watch [Context] when they block.
//
// # Journals
//
// A [Store] keeps each sandbox's accepted executions ([Entry]) and
// metadata so that replaying them in a fresh session rebuilds it after
// passivation or a restart. Implementations live in sandbox/store/bolt
// (embedded) and sandbox/store/redis (shared); sandbox/store/storetest is
// their conformance suite.
//
// # Grains, passivation and replay
//
// A sandbox is a protoactor cluster grain of kind "sandbox" whose identity
// is the sandbox id; [Manager] is the Go API (Create, Execute, Terminate,
// Restart, Info, List, Migrate, Passivate, Drain, Tree, Restarts, Trace)
// and [StartLocal] runs a single-member cluster with an O(1) activation
// directory; [StartMember] makes the host a member of a cluster (a shared
// store and placement registry, a membership such as Consul's), where each
// sandbox has one activation cluster-wide, moves with [Manager.Migrate] and
// [Manager.DrainNode], and reactivates on a survivor from the shared store
// when its member is lost. Appends name the sequence number they expect,
// so an activation left behind on a member that was cut off cannot write.
// An activation journals every accepted execution before it
// answers; a write failure is a [*StoreError] to the caller and the
// activation rebuilds itself from what is durable. Idle activations
// passivate (Config.IdleTimeout) and the next call reactivates the sandbox
// by replaying its journal in a fresh session.
//
// What replay restores exactly: the globals, because Starlark is
// deterministic and every accepted execution is replayed in order; the
// supervision trees the code started, with the same shape, child ids,
// specs and the worker states reached through call (a synchronous
// request/reply), because call is ordered with the code that makes it.
// What replay does not restore exactly: pids (every process is new); the
// effect of cast messages whose handling was still pending, or interleaved
// with calls from other workers, when the sandbox passivated (a cast is
// asynchronous, so its order relative to other senders' messages is not in
// the journal); crashes and restarts that happened between executions
// (restart counts and histories start empty); and anything a failed
// execution did to actors before it failed (its code is not journaled).
//
// # OTP inside a sandbox
//
// Sandbox code builds real supervision trees (package supervision) with
// the builtins worker, supervisor, start_supervisor, start_child,
// terminate_child, restart_child, delete_child, which_children,
// count_children, whereis, call, cast, exit, kill, self and fail. A worker
// is init(args) -> state, handle_call(msg, state) -> (reply, state) and
// handle_cast(msg, state) -> state; each handler runs under the sandbox's
// step and time limits, and an error, fail() or an exceeded limit crashes
// the worker so its supervisor applies OTP's rules. Every tree hangs from
// the sandbox's root supervisor as a temporary child, so a tree that gives
// up is removed and no crash escapes the sandbox. Messages and replies are
// frozen when they cross between actors. MaxActors bounds the live
// workers, MaxMailbox the queued messages of each.
package sandbox

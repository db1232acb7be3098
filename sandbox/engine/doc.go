// Package engine runs untrusted Starlark code in isolated, metered,
// persistent sessions: the execution engine of otpbox's sandboxes.
//
// # Sessions
//
// A [Session] is a REPL: each [Session.Execute] runs a chunk of code
// against the globals left by earlier chunks and returns the repr of a
// final expression, what print wrote, and the steps and time used:
//
//	s := engine.NewSession(engine.Limits{})
//	s.Execute(ctx, "counter = {'n': 0}")
//	res, err := s.Execute(ctx, "counter['n'] += 1\ncounter['n']") // res.Value == "1"
//
// Executions are transactions: one that fails for any reason (a
// [*SyntaxError], a [*RuntimeError] with a Starlark backtrace, a
// [*LimitError], cancellation) leaves the globals as they were, down to the
// contents of the lists, dicts and sets it mutated. A session may carry a
// [World] (WithWorld): state beyond the globals that belongs to the same
// transaction, such as a sandbox's processes (package sandbox/otp).
// [Session.Replay] executes code accepted once before, without the
// wall-clock limit, to rebuild a session from a journal.
//
// # Limits
//
// [Limits] bound each execution (steps, wall-clock time, code size, output
// size) and the session (number of globals, approximate heap held by
// them and by the world), with safe defaults. The step limit is
// Starlark's; on top of it, the code is instrumented so that every
// operation whose cost grows with its operands is charged before it runs:
// allocation (string and list concatenation and repetition, %,
// str.format, join, replace, split, slicing, big-int arithmetic,
// materialising a range...) at about one step per 16 bytes, with no single
// operation producing more than 4 MiB of text; and hashing, comparing and
// scanning (==, <, in, dict keys, set elements, sorted, min, max,
// str.count, ...) at one step per four nodes the interpreter will visit,
// measured before the interpreter starts (a tuple nested in itself has an
// exponential hash; it is refused, not run). One execution therefore
// cannot allocate much more than 64 bytes per step of its budget, and no
// interpreter step runs long past the wall-clock limit. Recursion is
// disabled, so Go stacks stay small.
//
// # Isolation
//
// Code sees Starlark's universe (with guarded replacements) and nothing
// else: no load, files, network, environment, clock or randomness.
// Builtins added with [WithBuiltins] or an [Env] are the only way out;
// they reach their session with [FromThread] or [WithLocal], charge their
// work with [Charge], and watch [Context] when they block. [CallIn] runs a
// function as part of the execution on another thread (a process's
// handler), on the same budget.
package engine

// Package sandbox hosts otpbox's sandboxes: isolated, limited,
// persistent sessions of Starlark code that build their own OTP
// supervision trees, as protoactor cluster grains (kind "sandbox",
// identity the sandbox id).
//
// The work is split in three packages with one-way imports: sandbox/engine
// is the metered Starlark engine (sessions, limits, transactions),
// sandbox/otp the OTP runtime of one sandbox (its processes and their
// deterministic scheduler), and this package the grain, the [Manager]
// API and the journal.
//
// # Managing sandboxes
//
// [Manager] is the Go API (Create, Execute, Terminate, Restart, Info,
// List, Migrate, Passivate, Drain, Tree, Restarts, Trace), wherever a
// sandbox's grain is activated. [StartLocal] runs a single-member cluster
// with an O(1) activation directory; [StartMember] makes the host a member
// of a cluster (a shared store and placement registry, a membership such
// as Consul's), where each sandbox has one activation cluster-wide, moves
// with [Manager.Migrate] and [Manager.DrainNode], and reactivates on a
// survivor from the shared store when its member is lost.
//
// Create resolves a sandbox's [Requirements] against the host's [Policy]
// (defaults for what it leaves out, ceilings it may not exceed) and the
// sandbox keeps them: memory_limit bounds everything the sandbox holds,
// cpu_limit is its share of a core (an execution beyond it waits or gets
// a [*ThrottledError]).
//
// # Journals and replay
//
// A [Store] keeps each sandbox's accepted executions ([Entry]: the code
// and the time it started) and its metadata. Implementations live in
// sandbox/store/wal (embedded, the default), sandbox/store/bolt
// (embedded) and sandbox/store/redis (shared); sandbox/store/storetest is
// their conformance suite. An activation
// journals every accepted execution before it answers; appends name the
// sequence number they expect, so an activation left behind on a member
// that was cut off cannot write. A write failure is a [*StoreError] and
// the activation rebuilds itself from what is durable.
//
// Idle activations passivate (Config.IdleTimeout) and the next call
// replays the journal in a fresh session. Replay cannot diverge: a
// sandbox's state, its globals and its processes alike, is a function of
// the code and times in its journal (see package sandbox/otp), so after
// passivation, a node restart, a migration or a failover the sandbox is
// exactly as it was: the same globals, trees, child ids, pids, worker
// states, restart records and traces.
//
// A long-lived sandbox's journal is replaced by a snapshot of its state
// every Config.SnapshotEvery executions, and when an execution would pass
// a journal quota, if a snapshot rebuilds it exactly: its globals are
// data and functions that source can write again, and it never kept an
// OTP process (see [Snapshotter] and engine.Session.Dump). Replay then
// starts from the snapshot.
//
// # Containment
//
// Everything a sandbox runs, its code and its processes, runs within its
// executions and on their limits; nothing runs between them. An execution
// that overruns its limits anyway (a path the limits cannot interrupt) is
// reported by [Manager.Stuck]; the caller's timeout abandons its
// activation and the next call starts afresh from the journal.
//
// # Events and process actions
//
// [Local.Watch] (a [Hub]) streams a sandbox's [Event]s wherever it runs:
// its executions with their outcome (who sent them: [WithViewer]), what
// they did to its processes (started, exited, terminated, restarted, a
// supervisor giving up), the messages its workers handled, snapshots of
// its tree, its activations and passivations, and who watches. A sandbox
// keeps events only while watched, in a bounded ring; a member polls each
// watched sandbox once for all its watchers, and each watcher has a
// bounded queue that tells it what it missed. Polls never wake a
// passivated sandbox. [Manager.Process] describes a process by pid or by
// path of child ids; [Manager.Act] kills, exits, crashes, terminates or
// restarts one by running the code that does it, journaled like any
// execution, so actions replay exactly.
package sandbox

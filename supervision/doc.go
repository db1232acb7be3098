// Package supervision implements Erlang/OTP's supervisor behaviour on
// protoactor-go: one_for_one, one_for_all, rest_for_one and
// simple_one_for_one strategies; permanent, transient and temporary
// children; restart intensity and period shared by the whole supervisor;
// ordered, timed shutdown; auto_shutdown with significant children; and the
// supervisor API (StartChild, TerminateChild, RestartChild, DeleteChild,
// WhichChildren, CountChildren, GetChildSpec).
//
// OTP's supervisor is the specification, case by case (docs/supervision.md
// lists them); where Go differs, this documentation says so.
//
// # One machine, two runtimes
//
// The state machine of a supervisor (its children, strategy, intensity,
// restart types, auto_shutdown and API) is [Machine], independent of how
// processes run. The supervisors of this package run their children as
// protoactor actors (Start, Nested); otpbox's sandboxes run theirs on a
// deterministic scheduler of their own (package sandbox/otp) through a
// [Runtime] of their own, with the same Machine.
//
// # Trees are data
//
// A supervisor is described by a Spec: its Flags and its children's
// ChildSpecs. Start starts a top-level supervisor; Nested makes a supervisor
// the child of another:
//
//	sup, err := supervision.Start(system, supervision.Spec{
//		Name:  "app",
//		Flags: supervision.Flags{Strategy: supervision.RestForOne, Intensity: 3, Period: 5 * time.Second},
//		Children: []supervision.ChildSpec{
//			{ID: "db", Start: supervision.Spawn(newDB)},
//			{ID: "api", Start: supervision.Spawn(newAPI), Restart: supervision.Transient},
//			{ID: "jobs", Type: supervision.SupervisorChild, Start: supervision.Nested(jobsSpec)},
//		},
//	})
//
// # Children are protoactor actors
//
// A child is any protoactor actor. Its init is the handling of
// *actor.Started (or Init, for an Initializer) and runs before the
// supervisor starts the next child, as in OTP. A panic is an abnormal exit;
// Exit(ctx, reason) exits with a reason; an actor that stops itself exits
// normal. Children are never restarted in place: a restart spawns a new
// actor with a new PID (protoactor's own restart directive keeps the PID and
// the mailbox, which OTP does not). Whereis gives the stable, registered
// name of a child id, which forwards to the running incarnation.
//
// # Shutdown and kill
//
// Children stop in reverse start order, one at a time, each within its
// ShutdownSpec; SimpleOneForOne children stop in parallel under one timer.
// Go cannot stop a goroutine from outside, so a kill (BrutalKill, or a
// shutdown timeout) abandons the child: its remaining messages and its
// cleanup are dropped, and a handler running at that moment finishes on its
// own goroutine.
//
// # Observability
//
// Every start, exit, termination, kill, intensity shutdown and supervisor
// exit is an *Event on the actor system's EventStream, published on the
// supervisor's goroutine in the order it acted. Supervisor.History keeps a
// bounded restart history.
package supervision

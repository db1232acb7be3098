// Package testkit tests actors from the outside, in the spirit of Akka's
// TestKit: a real actor system per test, probes that stand in for the
// actors around the one under test, deadline-bound waits that never sleep,
// a virtual clock, a goroutine-leak check, a recorder of supervision
// events, and real otpbox clusters for behaviour tests. Only tests and
// examples import it.
//
// # Kit
//
// New starts an actor system for one test and shuts it down in t.Cleanup,
// then checks that the test leaked no goroutines (LeakOptions lists the
// protoactor leftovers it ignores). Options: WithTimeout (how long
// expectations wait, default DefaultTimeout), WithActorSystemOptions and
// WithoutLeakCheck. The system logs nothing unless a logger is passed with
// WithActorSystemOptions(actor.WithLoggerFactory(…)).
//
//	kit := testkit.New(t)
//	pid := kit.Spawn(counter.Props())
//
// # Probes
//
// A Probe is a real actor that records what it receives. Send to the actor
// under test with the probe as sender, then expect the replies in order:
//
//	p := kit.NewProbe(t)
//	p.Request(pid, &counter.Add{N: 2})
//	p.ExpectMsg(&counter.Added{Total: 2})
//	p.Watch(pid)
//	kit.Root().Stop(pid)
//	p.ExpectTerminated(pid)
//
// ExpectMsg, ExpectMsgType, ExpectMsgWhere, ExpectTerminated, ReceiveN and
// Fish fail the test (t.Fatalf) when the expected message does not arrive
// within the timeout, naming what did arrive; ExpectNoMsg fails when a
// message arrives. Within narrows the deadline of the expectations inside it.
//
// # Waiting
//
// AwaitAssert retries testify assertions until they pass and Eventually
// retries a function until it returns nil; both stop at a deadline and
// report the last failure.
//
// # Virtual time
//
// Virtual runs a test in a testing/synctest bubble. A Kit created inside it
// uses the bubble's virtual clock, so receive timeouts, restart windows and
// ExpectNoMsg durations take no real time.
//
// # Leak checks
//
// Every Kit runs a leak check in Cleanup. Packages whose tests run in
// parallel turn it off with WithoutLeakCheck and check once for the package:
//
//	func TestMain(m *testing.M) { goleak.VerifyTestMain(m, testkit.LeakOptions()...) }
//
// # Clusters
//
// StartCluster is to otpbox what Orleans' TestCluster is to Orleans: one
// call starts a real Consul agent and Redis (found as `make test`
// installs them), builds otpbox and starts N `otpbox node` members that
// join through them, and waits until the membership settles. The test
// drives the members through the api client and breaks them: Kill (kill
// -9), Stop (graceful), Pause and Resume (SIGSTOP, SIGCONT), Restart (the
// same port and data directory), Add; WaitSettled waits until every live
// member sees exactly the live members alive and passing. Everything
// stops in t.Cleanup, and the members' logs are shown if the test failed.
//
//	c := testkit.StartCluster(t, testkit.ClusterConfig{Members: 3})
//	info, err := c.Client("n1").Sandboxes().Create(ctx, "cart-1", api.Requirements{})
//	c.Kill(info.Node)
//
// LaunchNode starts one node without a *testing.T (examples use it);
// $OTPBOX_BINARY names a prebuilt binary to run instead of building one.
//
// # Supervision events
//
// NewRecorder records the *supervision.Event values published on a
// system's EventStream; ExpectSequence compares them with the notation of
// the OTP spec page, for example "X(c2,boom)", "T(c3)", "S(c2)".
package testkit

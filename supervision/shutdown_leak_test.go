package supervision_test

import (
	"testing"

	"github.com/otpbox/otpbox/supervision"
)

// TestSystemShutdownWithoutStop: an actor system shut down under a running
// tree (protoactor stops no actor on Shutdown) leaves no supervisor
// goroutine behind. The kit's cleanup checks for leaks; nothing stops the
// supervisors.
func TestSystemShutdownWithoutStop(t *testing.T) {
	f := newFixture(t)
	nested := supervision.Spec{Flags: flags(supervision.OneForOne), Children: []supervision.ChildSpec{f.child("c")}}
	sup, err := supervision.Start(f.kit.System(), supervision.Spec{Name: "top", Flags: flags(supervision.OneForAll), Children: []supervision.ChildSpec{
		f.child("a"), f.child("b"),
		{ID: "sub", Type: supervision.SupervisorChild, Start: supervision.Nested(nested)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := sup.CountChildren(f.ctx); err != nil || n.Active != 3 {
		t.Fatalf("count_children = %+v, %v; want 3 active", n, err)
	}
	f.kit.System().Shutdown()
}

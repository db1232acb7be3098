package node

import (
	"errors"
	"testing"

	"github.com/otpbox/otpbox/cmd/otpbox/internal/server"
)

// TestGateAdmission: work beyond max is refused as overload (429), reads
// are always admitted, and nothing new starts once the gate is shut.
func TestGateAdmission(t *testing.T) {
	g := gate{max: 2}
	for range 2 {
		if err := g.enter(true); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.enter(true); !errors.Is(err, server.ErrOverloaded) {
		t.Fatalf("third call = %v, want ErrOverloaded", err)
	}
	if err := g.enter(false); err != nil {
		t.Fatalf("a read is admitted under load: %v", err)
	}
	g.leave()
	g.leave()
	if err := g.enter(true); err != nil {
		t.Fatalf("after calls ended: %v", err)
	}
	g.leave()
	g.leave()
	done := g.shut()
	<-done // nothing in flight
	if err := g.enter(true); !errors.Is(err, server.ErrShuttingDown) {
		t.Fatalf("after shut = %v, want ErrShuttingDown", err)
	}
}

// TestGateOverloaded: at 90% of the bound the host reports itself
// overloaded (readiness 429), and not below.
func TestGateOverloaded(t *testing.T) {
	g := gate{max: 10}
	for range 8 {
		if err := g.enter(true); err != nil {
			t.Fatal(err)
		}
	}
	if over, why := g.overloaded(); over {
		t.Fatalf("8 of 10 is overloaded: %s", why)
	}
	if err := g.enter(true); err != nil {
		t.Fatal(err)
	}
	if over, why := g.overloaded(); !over || why != "overloaded: 9 of 10 sandbox calls in progress" {
		t.Fatalf("9 of 10: %v %q", over, why)
	}
	g.leave()
	if over, _ := g.overloaded(); over {
		t.Fatal("8 of 10 again is overloaded")
	}
	if over, _ := (&gate{}).overloaded(); over {
		t.Fatal("an unbounded gate is overloaded")
	}
}

package supervision_test

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/supervision"
	"github.com/otpbox/otpbox/testkit"
)

// slowStop takes d to clean up.
type slowStop struct{ d time.Duration }

func (s slowStop) Receive(ctx actor.Context) {
	if _, ok := ctx.Message().(*actor.Stopping); ok {
		time.Sleep(s.d) // the behaviour under test: a slow cleanup, in virtual time
	}
}

// TestOTP_F3_ShutdownTimeoutVirtual is F3 with the spec page's numbers: c2
// has shutdown=500 but needs 3000 ms; the stops are sequential, so the
// total is the sum of the waits (≈501 ms), measured on the virtual clock.
func TestOTP_F3_ShutdownTimeoutVirtual(t *testing.T) {
	testkit.Virtual(t, func(t *testing.T) {
		kit := testkit.New(t)
		rec := testkit.NewRecorder(t, kit.System())
		fast := supervision.Spawn(func() actor.Actor { return slowStop{} })
		sup, err := supervision.Start(kit.System(), supervision.Spec{
			Name: "sup",
			Children: []supervision.ChildSpec{
				{ID: "c1", Start: fast},
				{ID: "c2", Start: supervision.Spawn(func() actor.Actor { return slowStop{d: 3 * time.Second} }),
					Shutdown: supervision.Timeout(500 * time.Millisecond)},
				{ID: "c3", Start: fast},
			},
		})
		require.NoError(t, err)
		rec.Reset()
		start := time.Now()
		require.NoError(t, sup.Exit(t.Context(), supervision.Shutdown))
		assert.Equal(t, 500*time.Millisecond, time.Since(start))
		rec.ExpectSequence("T(c3)", "K(c2)", "T(c1)", "Sup⇒shutdown")
		// The killed c2 was abandoned mid-cleanup; move the virtual clock
		// past its 3 s so its goroutine ends before the leak check.
		time.Sleep(3 * time.Second)
	})
}

package sandbox_test

import (
	"errors"
	"testing"
	"time"

	"github.com/otpbox/otpbox/sandbox"
)

// isLimit reports whether err is a LimitError for limit.
func isLimit(err error, limit string) bool {
	le, ok := errors.AsType[*sandbox.LimitError](err)
	return ok && le.Limit == limit && errors.Is(err, sandbox.ErrLimitExceeded)
}

// TestLimits exceeds each limit once; every time, the session must reject
// the execution, keep its state and stay usable.
func TestRequirementsValidate(t *testing.T) {
	ok := []sandbox.Requirements{
		{},
		{MemoryHint: 1 << 20, MemoryLimit: 2 << 20, CPUHint: 100, CPULimit: 500},
		{MemoryHint: 1 << 20}, // no limit
	}
	for _, r := range ok {
		if err := r.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v", r, err)
		}
	}
	bad := []sandbox.Requirements{
		{MemoryHint: -1},
		{MemoryHint: 2, MemoryLimit: 1},
		{CPUHint: 600, CPULimit: 500},
		{Limits: sandbox.Limits{MaxDuration: -time.Second}},
	}
	for _, r := range bad {
		if err := r.Validate(); !errors.Is(err, sandbox.ErrInvalidRequirements) {
			t.Errorf("Validate(%+v) = %v, want ErrInvalidRequirements", r, err)
		}
	}
}

// TestContext checks the caller's context: its deadline cancels the
// execution but is not a LimitError, and no goroutine outlives Execute.

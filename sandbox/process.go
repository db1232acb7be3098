package sandbox

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/otpbox/otpbox/sandbox/internal/wire"
	"github.com/otpbox/otpbox/sandbox/otp"
)

// ProcessInfo is a process of a sandbox, as GET .../process shows it:
// its state, mailbox, recent messages and restarts.
type ProcessInfo = otp.ProcessInfo

// Process actions (Act).
const (
	ActionKill      = otp.ActionKill
	ActionExit      = otp.ActionExit
	ActionCrash     = otp.ActionCrash
	ActionTerminate = otp.ActionTerminate
	ActionRestart   = otp.ActionRestart
)

// ProcessAction is what Act does, to the process named by PID ("<0.7.0>")
// or Path ("tree1/w1"), one of them.
type ProcessAction struct {
	Action string // ActionKill, ActionExit, ActionCrash, ActionTerminate, ActionRestart
	PID    string
	Path   string
	Reason string // ActionExit's reason
}

// ActionResult is the outcome of Act: the code the action ran and its
// result.
type ActionResult struct {
	Code string
	Result
}

// Process describes a live process of the sandbox by pid or path.
// Errors: ErrNotFound (no sandbox), ErrNoProcess, ErrInvalidProcess.
func (m *Manager) Process(ctx context.Context, id, pid, path string) (*ProcessInfo, error) {
	var info ProcessInfo
	if err := m.reply(ctx, id, &wire.Query{What: "process", Pid: pid, Path: path}, &info); err != nil {
		return nil, err
	}
	return &info, nil
}

// Act does a process action: it runs as the code that does it (kill(pid(
// "<0.7.0>")), terminate_child(...), ...), journaled like any execution,
// so it is exact on replay and every watcher sees it. Errors: those of
// Execute, and ErrNoProcess, ErrInvalidProcess.
func (m *Manager) Act(ctx context.Context, id string, a ProcessAction) (*ActionResult, error) {
	r, err := m.run(ctx, id, func(rid string, deadline int64) proto.Message {
		return &wire.Action{Action: a.Action, Pid: a.PID, Path: a.Path, Reason: a.Reason, RequestId: rid, DeadlineUnixNs: deadline, Viewer: ViewerOf(ctx)}
	})
	if err != nil {
		return nil, err
	}
	if r.Code == "" {
		return nil, fmt.Errorf("sandbox: %s did not say what it ran", id)
	}
	return &ActionResult{Code: r.Code, Result: Result{Value: r.Value, Output: r.Output, Steps: r.Steps, Duration: time.Duration(r.DurationNs)}}, nil
}

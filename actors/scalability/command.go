package scalability

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// DefaultCommandTimeout bounds one run of a CommandProvider's command.
const DefaultCommandTimeout = 10 * time.Minute

// Command actions: the argument after CommandConfig.Command and the value
// of OTPBOX_ACTION.
const (
	ActionScaleOut = "scale-out"
	ActionScaleIn  = "scale-in"
)

// stderrTail and stdoutMax bound what a CommandProvider keeps of a run's
// output.
const (
	stderrTail = 2048
	stdoutMax  = 1 << 20
)

// CommandConfig configures a CommandProvider.
type CommandConfig struct {
	// Command is the program and its first arguments. Required.
	Command []string
	// Timeout bounds each run (default 10 min); the command and every
	// process it started (its process group) are then killed.
	Timeout time.Duration
	// Env is added to this process's environment for the command.
	Env []string
}

// CommandProvider is a Provider that runs an operator's command, for Nomad,
// Kubernetes or a cloud autoscaling group:
//
//	Command... scale-out N    env OTPBOX_ACTION=scale-out OTPBOX_COUNT=N
//	Command... scale-in NAME  env OTPBOX_ACTION=scale-in  OTPBOX_NODE=NAME
//
// For scale-out, the command prints the names of the nodes it started, one
// a line, as they will appear in the membership (printing none skips the
// manager's wait for them to join). A non-zero exit or a timeout is a
// *CommandError with the tail of the command's stderr. A CommandProvider
// is safe for concurrent use; each call runs the command once.
type CommandProvider struct{ cfg CommandConfig }

var _ Provider = (*CommandProvider)(nil)

// NewCommandProvider returns a provider running cfg.Command.
func NewCommandProvider(cfg CommandConfig) (*CommandProvider, error) {
	if len(cfg.Command) == 0 || cfg.Command[0] == "" {
		return nil, &ConfigError{Field: "command", Value: cfg.Command, Reason: "required"}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultCommandTimeout
	}
	cfg.Command = append([]string(nil), cfg.Command...)
	return &CommandProvider{cfg: cfg}, nil
}

// AddNodes runs `Command... scale-out N` and returns the names it printed.
func (c *CommandProvider) AddNodes(ctx context.Context, n int) ([]string, error) {
	out, err := c.run(ctx, []string{ActionScaleOut, strconv.Itoa(n)},
		"OTPBOX_ACTION="+ActionScaleOut, "OTPBOX_COUNT="+strconv.Itoa(n), "OTPBOX_NODE=")
	if err != nil {
		return nil, err
	}
	var names []string
	s := bufio.NewScanner(bytes.NewReader(out))
	for s.Scan() {
		if name := strings.TrimSpace(s.Text()); name != "" {
			names = append(names, name)
		}
	}
	return names, nil
}

// RemoveNode runs `Command... scale-in NAME`.
func (c *CommandProvider) RemoveNode(ctx context.Context, name string) error {
	_, err := c.run(ctx, []string{ActionScaleIn, name},
		"OTPBOX_ACTION="+ActionScaleIn, "OTPBOX_NODE="+name, "OTPBOX_COUNT=")
	return err
}

func (c *CommandProvider) run(ctx context.Context, args []string, env ...string) ([]byte, error) {
	rctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	argv := append(append([]string(nil), c.cfg.Command...), args...)
	cmd := exec.CommandContext(rctx, argv[0], argv[1:]...)
	cmd.Env = append(append(os.Environ(), c.cfg.Env...), env...)
	stdout, stderr := &capped{max: stdoutMax}, &tailWriter{max: stderrTail}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	killGroup(cmd)
	// A grandchild that escaped the kill must not hold the pipes forever.
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if err == nil {
		return stdout.Bytes(), nil
	}
	ce := &CommandError{Args: argv, ExitCode: -1, Stderr: stderr.String(), Err: err}
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		ce.Err = ctx.Err()
	case rctx.Err() != nil:
		ce.Err = fmt.Errorf("%w after %s", ErrCommandTimeout, c.cfg.Timeout)
	case errors.As(err, &exit):
		ce.ExitCode = exit.ExitCode()
	}
	return nil, ce
}

// capped keeps the first max bytes written to it.
type capped struct {
	bytes.Buffer
	max int
}

func (w *capped) Write(b []byte) (int, error) {
	if room := w.max - w.Len(); room > 0 {
		w.Buffer.Write(b[:min(len(b), room)])
	}
	return len(b), nil
}

// tailWriter keeps the last max bytes written to it.
type tailWriter struct {
	b   []byte
	max int
}

func (w *tailWriter) Write(b []byte) (int, error) {
	w.b = append(w.b, b...)
	if over := len(w.b) - w.max; over > 0 {
		w.b = append(w.b[:0], w.b[over:]...)
	}
	return len(b), nil
}

func (w *tailWriter) String() string { return string(w.b) }

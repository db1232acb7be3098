package otp

import (
	"errors"
	"fmt"
	"time"

	"go.starlark.net/starlark"

	"github.com/otpbox/otpbox/sandbox/engine"
	"github.com/otpbox/otpbox/supervision"
)

// The scheduler runs one message at a time, in a fixed order: the run
// queue holds the processes that have messages, in the order they got
// their first one, and each turn takes the first process that is not
// blocked (busy on the stack), handles its oldest message, and puts it
// back at the end if it has more. A call runs the scheduler until its
// reply comes; handlers that call others nest on the stack. Nothing runs
// between executions.

// deliver queues m for p, within the mailbox limit.
func (rt *Runtime) deliver(p *process, m message) error {
	if len(p.mailbox) >= rt.limits.MaxMailbox {
		return &engine.LimitError{Limit: engine.LimitMailbox, Max: uint64(rt.limits.MaxMailbox), Got: uint64(len(p.mailbox) + 1)}
	}
	if err := rt.charge(messageSteps); err != nil {
		return err
	}
	p.mailbox = append(p.mailbox, m)
	if !p.queued {
		p.queued = true
		rt.st.runq = append(rt.st.runq, p.n)
	}
	return nil
}

// post queues a message the runtime itself sends (an exit signal, a
// retry): it is not subject to the mailbox limit, as OTP's signals are
// not.
func (rt *Runtime) post(p *process, m message) {
	p.mailbox = append(p.mailbox, m)
	if !p.queued {
		p.queued = true
		rt.st.runq = append(rt.st.runq, p.n)
	}
}

// next takes the first runnable process off the run queue, or returns nil
// when none can run.
func (rt *Runtime) next() *process {
	q := rt.st.runq
	for i, n := range q {
		p := rt.proc(n)
		if p == nil || len(p.mailbox) == 0 { // dead, or emptied meanwhile
			rt.st.runq = append(q[:i:i], q[i+1:]...)
			if p != nil {
				p.queued = false
			}
			return rt.next()
		}
		if !p.busy {
			rt.st.runq = append(q[:i:i], q[i+1:]...)
			p.queued = false
			return p
		}
	}
	return nil
}

// runUntil runs processes until done reports true or none can run. It
// returns only the error that ends the execution (a limit, a
// cancellation); what goes wrong in a process is that process's exit.
func (rt *Runtime) runUntil(done func() bool) error {
	for !done() {
		if err := engine.Exhausted(rt.thread); err != nil {
			return err
		}
		p := rt.next()
		if p == nil {
			return nil
		}
		if err := rt.step(p); err != nil {
			return err
		}
	}
	return nil
}

// step handles p's oldest message.
func (rt *Runtime) step(p *process) error {
	m := p.mailbox[0]
	p.mailbox[0] = message{}
	p.mailbox = p.mailbox[1:]
	p.busy = true
	var err error
	if p.kind == workerKind {
		err = rt.workerStep(p, m)
	} else {
		err = rt.supervisorStep(p, m)
	}
	p.busy = false
	if rt.proc(p.n) == p && len(p.mailbox) > 0 && !p.queued {
		p.queued = true
		rt.st.runq = append(rt.st.runq, p.n)
	}
	return err
}

// errNoProc is the error of a call to a process that is not alive.
var errNoProc = errors.New("noproc")

// ErrDeadlock is the error of a call that can never be answered: every
// process it could wait for is itself waiting.
var ErrDeadlock = errors.New("deadlock")

// call sends msg to p on behalf of from (0: the sandbox's code) and runs
// the scheduler until the reply comes. A call that cannot be answered
// (p and everyone it waits for are blocked) times out at once: the clock
// moves on by timeout, as it would have while the caller waited.
func (rt *Runtime) call(from uint64, p *process, m message, timeout time.Duration, what string) (starlark.Value, error) {
	w := &waiter{}
	m.wait, m.from = w, from
	if err := rt.deliver(p, m); err != nil {
		return nil, err
	}
	if err := rt.runUntil(func() bool { return w.done }); err != nil {
		return nil, err
	}
	if from != 0 && rt.proc(from) == nil {
		return nil, errCallerGone // the caller was killed while it waited
	}
	if !w.done {
		if timeout <= 0 {
			return nil, fmt.Errorf("%s: %w: %s waits for a process that waits for it", what, ErrDeadlock, Pid{p.n})
		}
		rt.st.now = rt.st.now.Add(timeout)
		return nil, fmt.Errorf("%s: timeout: no reply from %s within %v", what, Pid{p.n}, timeout)
	}
	return w.v, w.err
}

// errCallerGone unwinds the handler of a process that exited while it
// was blocked in a call.
var errCallerGone = errors.New("the calling process has exited")

// exitProcess ends p with reason r: it leaves the live processes, calls
// waiting on it fail, and its children (a supervisor's) are killed, as
// OTP's links do. The exit is not reported: see exited.
func (rt *Runtime) exitProcess(p *process, r supervision.Reason) {
	if rt.proc(p.n) != p {
		return
	}
	if p.m != nil && r.Kind == supervision.KindKilled {
		p.m.KillAll()
	}
	if rt.observer != nil && rt.exitChange != "" && p.n != rt.st.root {
		rt.observer(rt.changeOf(rt.exitChange, p, reasonText(r)))
	}
	p.reason = r
	delete(rt.st.procs, p.n)
	if p.n != rt.st.root {
		rt.st.actors--
	} else {
		rt.st.root = 0
	}
	for _, m := range p.mailbox {
		if m.wait != nil {
			m.wait.reply(nil, fmt.Errorf("%s exited: %s", Pid{p.n}, reasonText(r)))
		}
	}
	p.mailbox = nil
}

// exited ends p with reason r and tells its supervisor, as an exit
// signal in its mailbox.
func (rt *Runtime) exited(p *process, r supervision.Reason) {
	if rt.proc(p.n) != p {
		return
	}
	rt.exitProcess(p, r)
	if sup := rt.proc(p.parent); sup != nil {
		rt.post(sup, message{kind: msgExit, child: p.n, reason: r})
	}
}

// crash is the abnormal exit of a worker whose handler failed.
func (rt *Runtime) crash(p *process, err error) {
	rt.exited(p, supervision.Abnormal(crashError(err)))
}

// Crash is the cause of a worker's abnormal exit: its handler failed with
// this message (and backtrace), or it broke a rule of the behaviour.
type Crash struct {
	Msg       string
	Backtrace string
}

func (c *Crash) Error() string { return c.Msg }

func crashError(err error) error {
	var re *engine.RuntimeError
	if errors.As(err, &re) {
		return &Crash{Msg: re.Msg, Backtrace: re.Backtrace}
	}
	var c *Crash
	if errors.As(err, &c) {
		return c
	}
	return &Crash{Msg: err.Error()}
}

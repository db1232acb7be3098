package supervision

import (
	"cmp"
	"errors"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Runtime runs the processes of a [Machine]: everything about a supervisor
// that depends on how its children are made and stopped. The supervisors
// of this package run their children as protoactor actors; otpbox's
// sandboxes run theirs on a deterministic scheduler of their own, with the
// same Machine, so both follow OTP's rules exactly alike.
//
// A Machine calls its Runtime from the goroutine that drives the machine,
// one call at a time; the Runtime calls the Machine back only from that
// goroutine and never from inside one of its own methods, except as said.
type Runtime interface {
	// Start starts one incarnation of spec (args are StartChildWith's, kept
	// for restarts) and returns its pid once its init is done, ErrIgnore,
	// or the start error.
	Start(spec ChildSpec, args []any) (*actor.PID, error)
	// Terminate stops pid within shutdown (at once for BrutalKill) and
	// returns how it ended: its exit reason, or Killed if it was killed.
	// The Machine has forgotten pid already: its exit is not reported
	// through Exited.
	Terminate(pid *actor.PID, shutdown ShutdownSpec) Reason
	// TerminateAll stops pids together under one shutdown timer (the
	// children of a SimpleOneForOne supervisor) and returns how each ended,
	// in order.
	TerminateAll(pids []*actor.PID, shutdown ShutdownSpec) []Reason
	// Kill kills pid without waiting: the links of a supervisor that is
	// itself killed.
	Kill(pid *actor.PID)
	// Alive reports whether pid is a live process.
	Alive(pid *actor.PID) bool
	// Later calls f on the machine's goroutine after the messages already
	// queued for the supervisor (OTP's try_again_restart).
	Later(f func())
	// Exit makes the supervisor exit with reason r once the message being
	// handled is done. Its children are stopped already.
	Exit(r Reason)
	// Publish reports e: Kind, ChildID, PID, Reason, Restart, Name and Time
	// are set; the Runtime sets Supervisor.
	Publish(e *Event)
	// Now is the clock of restart intensity and of events.
	Now() time.Time
	// Name says that the child with a stable id now runs as pid (nil: not
	// running), and Unname that its spec is gone: the hooks of registered
	// names. SimpleOneForOne children have no names.
	Name(id string, pid *actor.PID)
	Unname(id string)
}

// Machine is OTP's supervisor state machine: the child specs in start
// order, the restart strategy and intensity, restart types, auto_shutdown
// and the supervisor API, independent of how processes run (see Runtime).
// It is not safe for concurrent use: one goroutine drives it, as one
// process runs an OTP supervisor.
type Machine struct {
	rt      Runtime
	spec    Spec
	history *History
	epoch   time.Time

	children []*child          // start order (not SimpleOneForOne)
	ids      map[string]*child // by id (not SimpleOneForOne)
	running  map[string]*child // by pid id: the children with a process
	dyn      map[*child]struct{}
	seq      uint64  // start order of dynamic children
	restarts []int64 // restart times in whole seconds since epoch, oldest first
}

// child is the machine's record of one child spec (or, under
// SimpleOneForOne, of one dynamic child).
type child struct {
	spec ChildSpec
	pid  *actor.PID // nil: OTP's undefined
	// restarting: a restart failed and a retry is queued.
	restarting bool
	args       []any
	lastErr    error  // the error of the last failed restart
	seq        uint64 // start order under SimpleOneForOne
	// last is the pid of a SimpleOneForOne child that is restarting:
	// terminate_child finds it by that pid, as OTP does.
	last *actor.PID
}

// NewMachine returns the machine of a supervisor with spec, which must
// have been checked (the supervisors of this package check it when they
// start). It starts nothing: call Init.
func NewMachine(spec Spec, rt Runtime) (*Machine, error) {
	if err := validate(&spec, true); err != nil {
		return nil, err
	}
	return newMachine(spec, rt), nil
}

func newMachine(spec Spec, rt Runtime) *Machine {
	m := &Machine{rt: rt, spec: spec, history: newHistory(spec.HistorySize),
		ids: make(map[string]*child, len(spec.Children)), running: make(map[string]*child, len(spec.Children))}
	if m.simple() {
		m.dyn = make(map[*child]struct{})
	}
	return m
}

// Spec returns the machine's spec, defaults applied.
func (m *Machine) Spec() Spec { return m.spec }

// History returns the restart history.
func (m *Machine) History() *History { return m.history }

func (m *Machine) simple() bool { return m.spec.Strategy == SimpleOneForOne }

// Init starts the children in order, each after the previous one's init
// (A1–A3, A8). If one fails to start, those started are terminated in
// reverse order and the error is a *FailedToStartError: the supervisor
// must then exit with ShutdownWith(err).
func (m *Machine) Init() error {
	m.epoch = m.rt.Now()
	if m.simple() {
		return nil
	}
	for _, cs := range m.spec.Children {
		c := &child{spec: cs}
		m.add(c)
		if err := m.start(c, false); err != nil && !errors.Is(err, ErrIgnore) {
			m.TerminateAll()
			for _, c := range m.children {
				m.rt.Unname(c.spec.ID)
			}
			return &FailedToStartError{ID: cs.ID, Reason: err}
		}
		if c.pid == nil && c.spec.Restart == Temporary {
			m.remove(c)
		}
	}
	return nil
}

// add appends c to the start order.
func (m *Machine) add(c *child) {
	m.children = append(m.children, c)
	m.ids[c.spec.ID] = c
}

// remove deletes c's spec.
func (m *Machine) remove(c *child) {
	if m.simple() {
		delete(m.dyn, c)
		return
	}
	delete(m.ids, c.spec.ID)
	m.children = slices.DeleteFunc(m.children, func(x *child) bool { return x == c })
	m.rt.Unname(c.spec.ID)
}

// Forget unregisters every child's name: the supervisor has stopped.
func (m *Machine) Forget() {
	for _, c := range m.children {
		m.rt.Unname(c.spec.ID)
	}
}

// start runs c's start function. It returns ErrIgnore or the start error;
// on success c runs the new process.
func (m *Machine) start(c *child, restart bool) error {
	pid, err := m.rt.Start(c.spec, c.args)
	switch {
	case errors.Is(err, ErrIgnore):
		m.publish(&Event{Kind: ChildIgnored, ChildID: m.idOf(c), Restart: restart})
		return ErrIgnore
	case err != nil:
		m.publish(&Event{Kind: ChildStartFailed, ChildID: m.idOf(c), Reason: Abnormal(err), Restart: restart})
		return err
	}
	c.pid = pid
	c.restarting = false
	c.last = nil
	if c.spec.Restart == Temporary {
		// Never restarted: keep nothing it was started with (OTP keeps
		// no start arguments for temporary children).
		c.args = nil
		c.spec.Start = nil
	}
	m.running[pid.Id] = c
	if !m.simple() {
		m.rt.Name(c.spec.ID, pid)
	}
	m.publish(&Event{Kind: ChildStarted, ChildID: m.idOf(c), PID: pid, Restart: restart})
	return nil
}

// idOf is c's id as reported in events: none under SimpleOneForOne.
func (m *Machine) idOf(c *child) string {
	if m.simple() {
		return ""
	}
	return c.spec.ID
}

// detach forgets c's process.
func (m *Machine) detach(c *child) *actor.PID {
	pid := c.pid
	if pid == nil {
		return nil
	}
	c.pid = nil
	if m.simple() {
		c.last = pid
	}
	delete(m.running, pid.Id)
	if !m.simple() {
		m.rt.Name(c.spec.ID, nil)
	}
	return pid
}

// terminate stops c's process according to its shutdown spec and waits
// (F1, F3–F5).
func (m *Machine) terminate(c *child) {
	pid := m.detach(c)
	if pid == nil {
		return
	}
	m.ended(c, pid, m.rt.Terminate(pid, c.spec.Shutdown))
}

// ended reports how a terminated child ended.
func (m *Machine) ended(c *child, pid *actor.PID, r Reason) {
	kind := ChildTerminated
	if r.Kind == KindKilled {
		kind = ChildKilled
	}
	m.publish(&Event{Kind: kind, ChildID: m.idOf(c), PID: pid, Reason: r})
}

// TerminateAll stops every child: in reverse start order one at a time,
// or all at once under one timer for SimpleOneForOne (H4). Temporary
// children are removed. The supervisor calls it when it is stopped.
func (m *Machine) TerminateAll() {
	if m.simple() {
		m.terminateDynamic()
		return
	}
	m.terminateGroup(m.children, nil)
}

// terminateGroup stops the children of group except skip, in reverse
// order, and removes the temporary ones.
func (m *Machine) terminateGroup(group []*child, skip *child) {
	for i := len(group) - 1; i >= 0; i-- {
		c := group[i]
		if c == skip {
			continue
		}
		m.terminate(c)
		c.restarting = false
		if c.spec.Restart == Temporary {
			m.remove(c)
		}
	}
}

// dynamic returns the SimpleOneForOne children in start order.
func (m *Machine) dynamic() []*child {
	out := make([]*child, 0, len(m.dyn))
	for c := range m.dyn {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *child) int { return cmp.Compare(a.seq, b.seq) })
	return out
}

func (m *Machine) terminateDynamic() {
	var cs []*child
	var pids []*actor.PID
	for _, c := range m.dynamic() {
		if c.pid != nil {
			cs = append(cs, c)
			pids = append(pids, m.detach(c))
		}
	}
	m.dyn = make(map[*child]struct{})
	if len(pids) == 0 {
		return
	}
	for i, r := range m.rt.TerminateAll(pids, m.spec.Children[0].Shutdown) {
		m.ended(cs[i], pids[i], r)
	}
}

// KillAll kills every child at once, without waiting: the links of a
// supervisor that is killed itself (F7).
func (m *Machine) KillAll() {
	kill := func(c *child) {
		if pid := m.detach(c); pid != nil {
			m.rt.Kill(pid)
			m.publish(&Event{Kind: ChildKilled, ChildID: m.idOf(c), PID: pid, Reason: Killed})
		}
	}
	for _, c := range m.children {
		kill(c)
	}
	for _, c := range m.dynamic() {
		kill(c)
	}
}

// Exited applies the restart type and the strategy to a child that exited
// by itself with reason r (B–E, H2, I). A pid the machine does not run
// (terminated or replaced meanwhile) is ignored.
func (m *Machine) Exited(pid *actor.PID, r Reason) {
	c, ok := m.running[pid.Id]
	if !ok {
		return
	}
	m.detach(c)
	m.publish(&Event{Kind: ChildExited, ChildID: m.idOf(c), PID: pid, Reason: r})
	var restart bool
	switch c.spec.Restart {
	case Permanent:
		restart = true
	case Transient:
		restart = !r.IsNormal()
	}
	if restart {
		m.history.add(RestartRecord{ChildID: m.idOf(c), PID: pid, Reason: r, Time: m.rt.Now()})
		m.restart(c)
		return
	}
	if c.spec.Restart == Temporary || m.simple() {
		m.remove(c)
	}
	if c.spec.Significant && m.significantExitStops() {
		m.shutdown(AutoShutdownTriggered)
	}
}

// significantExitStops decides auto_shutdown after a significant child
// exited without a restart.
func (m *Machine) significantExitStops() bool {
	switch m.spec.AutoShutdown {
	case AnySignificant:
		return true
	case AllSignificant:
		for _, c := range m.children {
			if c.spec.Significant && (c.pid != nil || c.restarting) {
				return false
			}
		}
		return true
	}
	return false
}

// addRestart records a restart with OTP's window arithmetic: whole seconds,
// keep restarts at or after now-period, too many when more than intensity.
func (m *Machine) addRestart() bool {
	now := int64(m.rt.Now().Sub(m.epoch) / time.Second)
	threshold := now - int64(m.spec.Period/time.Second)
	i := 0
	for i < len(m.restarts) && m.restarts[i] < threshold {
		i++
	}
	// Keep at most intensity+1 entries: one more means shutdown anyway.
	if n := len(m.restarts) - i; n > m.spec.Intensity {
		i = len(m.restarts) - m.spec.Intensity
	}
	m.restarts = append(m.restarts[i:], now)
	return len(m.restarts) <= m.spec.Intensity
}

// restart restarts c per the strategy, or shuts the supervisor down when
// intensity is exceeded.
func (m *Machine) restart(c *child) {
	if !m.addRestart() {
		m.shutdown(IntensityExceeded)
		return
	}
	switch m.spec.Strategy {
	case OneForAll:
		m.restartGroup(c, m.children)
	case RestForOne:
		if i := slices.Index(m.children, c); i >= 0 {
			m.restartGroup(c, m.children[i:])
		}
	default:
		m.restartOne(c)
	}
}

func (m *Machine) restartOne(c *child) {
	err := m.start(c, true)
	switch {
	case errors.Is(err, ErrIgnore):
		if m.simple() {
			m.remove(c) // newer OTP: an ignored restart removes the child
		}
	case err != nil:
		m.retryLater(c, err)
	}
}

// restartGroup terminates group (except c, already dead) in reverse order,
// then starts it again in order (C1, C2, C4, D1, D2).
func (m *Machine) restartGroup(c *child, group []*child) {
	group = slices.Clone(group)
	m.terminateGroup(group, c)
	for _, g := range group {
		if g != c && g.spec.Restart == Temporary {
			continue // removed as a bystander
		}
		err := m.start(g, true)
		if err != nil && !errors.Is(err, ErrIgnore) {
			m.retryLater(g, err)
			return
		}
	}
}

func (m *Machine) retryLater(c *child, err error) {
	c.restarting = true
	c.lastErr = err
	m.rt.Later(func() { m.tryAgain(c) })
}

func (m *Machine) tryAgain(c *child) {
	if !c.restarting || !m.has(c) {
		return // terminated, deleted or restarted meanwhile
	}
	m.history.add(RestartRecord{ChildID: m.idOf(c), Reason: Abnormal(c.lastErr), Time: m.rt.Now()})
	m.restart(c)
}

func (m *Machine) has(c *child) bool {
	if m.simple() {
		_, ok := m.dyn[c]
		return ok
	}
	return m.ids[c.spec.ID] == c
}

// shutdown terminates all children and exits with reason shutdown, so the
// parent supervisor decides (E1, I1).
func (m *Machine) shutdown(why EventKind) {
	m.publish(&Event{Kind: why, Reason: Shutdown})
	m.TerminateAll()
	m.rt.Exit(Shutdown)
}

func (m *Machine) publish(e *Event) {
	e.Name = m.spec.Name
	e.Time = m.rt.Now()
	m.rt.Publish(e)
}

// The supervisor API (OTP's start_child, terminate_child, …), called on
// the machine's goroutine; see the methods of Supervisor for what each
// does.

// StartChild adds spec last in start order and starts it (G1–G3).
func (m *Machine) StartChild(spec ChildSpec) (*actor.PID, error) {
	if m.simple() {
		return nil, ErrSimpleOneForOne
	}
	if err := validateChild(&spec, m.spec.Flags, false); err != nil {
		return nil, err
	}
	if c, ok := m.ids[spec.ID]; ok {
		if c.pid != nil {
			return nil, &AlreadyStartedError{PID: c.pid}
		}
		return nil, ErrAlreadyPresent
	}
	c := &child{spec: spec}
	m.add(c)
	err := m.start(c, false)
	switch {
	case errors.Is(err, ErrIgnore):
		if spec.Restart == Temporary {
			m.remove(c)
		}
		return nil, nil
	case err != nil:
		m.remove(c)
		return nil, err
	}
	return c.pid, nil
}

// StartChildWith starts a SimpleOneForOne child with extra arguments (H1).
func (m *Machine) StartChildWith(args []any) (*actor.PID, error) {
	if !m.simple() {
		return nil, ErrNotSimpleOneForOne
	}
	m.seq++
	c := &child{spec: m.spec.Children[0], args: args, seq: m.seq}
	if err := m.start(c, false); err != nil {
		if errors.Is(err, ErrIgnore) {
			return nil, nil
		}
		return nil, err
	}
	m.dyn[c] = struct{}{}
	return c.pid, nil
}

// TerminateChild stops the child with id and keeps its spec, unless it is
// temporary (G4).
func (m *Machine) TerminateChild(id string) error {
	if m.simple() {
		return ErrSimpleOneForOne
	}
	c, ok := m.ids[id]
	if !ok {
		return ErrNotFound
	}
	m.terminate(c)
	c.restarting = false
	if c.spec.Restart == Temporary {
		m.remove(c)
	}
	return nil
}

// TerminateChildPID stops a SimpleOneForOne child by pid (H3).
func (m *Machine) TerminateChildPID(pid *actor.PID) error {
	if !m.simple() || pid == nil {
		return ErrNotFound
	}
	c, ok := m.running[pid.Id]
	if !ok {
		for d := range m.dyn {
			if d.restarting && d.last != nil && d.last.Equal(pid) {
				d.restarting = false // ends the retries
				delete(m.dyn, d)
				return nil
			}
		}
		if m.rt.Alive(pid) {
			return ErrNotFound
		}
		return nil // already dead: ok (H3)
	}
	m.terminate(c)
	delete(m.dyn, c)
	return nil
}

// notRunning finds the child id for restart_child and delete_child, which
// both need a child that is neither running nor restarting (G5, G6).
func (m *Machine) notRunning(id string) (*child, error) {
	if m.simple() {
		return nil, ErrSimpleOneForOne
	}
	c, ok := m.ids[id]
	switch {
	case !ok:
		return nil, ErrNotFound
	case c.pid != nil:
		return nil, ErrRunning
	case c.restarting:
		return nil, ErrRestarting
	}
	return c, nil
}

// RestartChild starts a child whose spec is kept but which is not running
// (G5).
func (m *Machine) RestartChild(id string) (*actor.PID, error) {
	c, err := m.notRunning(id)
	if err != nil {
		return nil, err
	}
	if err := m.start(c, false); err != nil {
		if errors.Is(err, ErrIgnore) {
			return nil, nil
		}
		return nil, err
	}
	return c.pid, nil
}

// DeleteChild removes the spec of a child that is not running (G6).
func (m *Machine) DeleteChild(id string) error {
	c, err := m.notRunning(id)
	if err != nil {
		return err
	}
	m.remove(c)
	return nil
}

// WhichChildren lists the children, most recently started first (G8).
func (m *Machine) WhichChildren() []ChildInfo {
	if m.simple() {
		dyn := m.dynamic()
		out := make([]ChildInfo, 0, len(dyn))
		for i := len(dyn) - 1; i >= 0; i-- {
			ci := dyn[i].info()
			ci.ID = ""
			out = append(out, ci)
		}
		return out
	}
	out := make([]ChildInfo, 0, len(m.children))
	for i := len(m.children) - 1; i >= 0; i-- {
		out = append(out, m.children[i].info())
	}
	return out
}

func (c *child) info() ChildInfo {
	return ChildInfo{ID: c.spec.ID, PID: c.pid, Restarting: c.restarting, Type: c.spec.Type}
}

// CountChildren counts the children (G8).
func (m *Machine) CountChildren() Counts {
	var n Counts
	if m.simple() {
		n.Specs = 1
		for c := range m.dyn {
			if !c.restarting {
				n.Active++
			}
		}
		if m.spec.Children[0].Type == SupervisorChild {
			n.Supervisors = len(m.dyn)
		} else {
			n.Workers = len(m.dyn)
		}
		return n
	}
	n.Specs = len(m.children)
	for _, c := range m.children {
		if c.pid != nil {
			n.Active++
		}
		if c.spec.Type == SupervisorChild {
			n.Supervisors++
		} else {
			n.Workers++
		}
	}
	return n
}

// GetChildSpec returns the spec of the child with id (A7); under
// SimpleOneForOne id is a child's pid Id and the template is returned.
// The Start of a temporary child that has started is nil: it is never
// restarted, so its supervisor does not keep it (OTP's {M, F, undefined}).
func (m *Machine) GetChildSpec(id string) (ChildSpec, error) {
	if m.simple() {
		if _, ok := m.running[id]; ok {
			return m.spec.Children[0], nil
		}
		return ChildSpec{}, ErrNotFound
	}
	c, ok := m.ids[id]
	if !ok {
		return ChildSpec{}, ErrNotFound
	}
	return c.spec, nil
}

// Clone returns a copy of m that shares nothing mutable with it and runs
// its processes through the same Runtime: a runtime that can undo its
// work (a sandbox's failed execution) keeps a clone and goes back to it.
// m must not have a restart retry pending (a Later callback not yet run).
func (m *Machine) Clone() *Machine {
	c := *m
	c.history = m.history.clone()
	c.restarts = slices.Clone(m.restarts)
	c.children = make([]*child, len(m.children))
	c.ids = make(map[string]*child, len(m.ids))
	c.running = make(map[string]*child, len(m.running))
	copyChild := func(x *child) *child {
		y := *x
		if y.pid != nil {
			c.running[y.pid.Id] = &y
		}
		return &y
	}
	for i, x := range m.children {
		y := copyChild(x)
		c.children[i] = y
		c.ids[y.spec.ID] = y
	}
	if m.dyn != nil {
		c.dyn = make(map[*child]struct{}, len(m.dyn))
		for x := range m.dyn {
			c.dyn[copyChild(x)] = struct{}{}
		}
	}
	return &c
}

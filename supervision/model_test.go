package supervision_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/supervision"
)

// model is a reference implementation of OTP's rules for one_for_one,
// one_for_all and rest_for_one: it predicts the exact events and
// which_children after every operation.
type model struct {
	strategy  supervision.Strategy
	intensity int
	restarts  int // all within one period: the clock does not move
	children  []*mchild
	dead      bool
}

type mchild struct {
	id      string
	restart supervision.RestartType
	running bool
}

func (m *model) index(id string) int {
	return slices.IndexFunc(m.children, func(c *mchild) bool { return c.id == id })
}

func (m *model) remove(c *mchild) {
	m.children = slices.DeleteFunc(m.children, func(x *mchild) bool { return x == c })
}

// terminateGroup predicts the termination of group except skip, reverse
// order; temporary children are removed.
func (m *model) terminateGroup(group []*mchild, skip *mchild) []string {
	var ev []string
	for i := len(group) - 1; i >= 0; i-- {
		c := group[i]
		if c == skip {
			continue
		}
		if c.running {
			ev = append(ev, "T("+c.id+")")
			c.running = false
		}
		if c.restart == supervision.Temporary {
			m.remove(c)
		}
	}
	return ev
}

func (m *model) crash(id string, r supervision.Reason) []string {
	c := m.children[m.index(id)]
	c.running = false
	ev := []string{"X(" + id + "," + r.String() + ")"}
	restart := c.restart == supervision.Permanent || (c.restart == supervision.Transient && !r.IsNormal())
	if !restart {
		if c.restart == supervision.Temporary {
			m.remove(c)
		}
		return ev
	}
	m.restarts++
	if m.restarts > m.intensity {
		m.dead = true
		ev = append(ev, "Intensity")
		ev = append(ev, m.terminateGroup(slices.Clone(m.children), c)...)
		return append(ev, "Sup⇒shutdown")
	}
	var group []*mchild
	switch m.strategy {
	case supervision.OneForOne:
		group = []*mchild{c}
	case supervision.OneForAll:
		group = slices.Clone(m.children)
	case supervision.RestForOne:
		group = slices.Clone(m.children[m.index(id):])
	}
	ev = append(ev, m.terminateGroup(group, c)...)
	for _, g := range group {
		if g == c || g.restart != supervision.Temporary {
			g.running = true
			ev = append(ev, "S("+g.id+")")
		}
	}
	return ev
}

func (m *model) which() []string {
	out := make([]string, 0, len(m.children))
	for i := len(m.children) - 1; i >= 0; i-- {
		c := m.children[i]
		if c.running {
			out = append(out, c.id)
		} else {
			out = append(out, c.id+":undefined")
		}
	}
	return out
}

// TestModelRandomSequences drives random crash / terminate / restart /
// delete / start sequences against a real supervisor and the model, and
// asserts identical event sequences and children after every step.
func TestModelRandomSequences(t *testing.T) {
	runs := 30
	if testing.Short() {
		runs = 6
	}
	strategies := []supervision.Strategy{supervision.OneForOne, supervision.OneForAll, supervision.RestForOne}
	restarts := []supervision.RestartType{supervision.Permanent, supervision.Transient, supervision.Temporary}
	reasons := []supervision.Reason{boom, supervision.Normal, supervision.Shutdown, supervision.Killed}
	for run := range runs {
		seed := uint64(run) + 1
		strategy := strategies[run%len(strategies)]
		t.Run(fmt.Sprintf("seed=%d/%s", seed, strategy), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, seed*7919))
			f := newFixture(t)
			m := &model{strategy: strategy, intensity: 2 + rng.IntN(6)}
			var specs []supervision.ChildSpec
			next := 0
			newChild := func() (supervision.ChildSpec, *mchild) {
				next++
				mc := &mchild{id: fmt.Sprintf("c%d", next), restart: restarts[rng.IntN(len(restarts))], running: true}
				return f.child(mc.id, restart(mc.restart)), mc
			}
			for range 3 {
				spec, mc := newChild()
				specs = append(specs, spec)
				m.children = append(m.children, mc)
			}
			sup := f.start(intensity(m.intensity, 10*time.Second, strategy), specs...)

			for step := 0; step < 40 && !m.dead; step++ {
				var want []string
				var desc string
				switch op := rng.IntN(10); {
				case op < 5 && len(m.children) > 0: // a child exits by itself
					c := m.children[rng.IntN(len(m.children))]
					if !c.running {
						continue
					}
					r := reasons[rng.IntN(len(reasons))]
					desc = "crash " + c.id + " " + r.String()
					want = m.crash(c.id, r)
					f.exit(c.id, r)
				case op == 5 && len(m.children) > 0:
					c := m.children[rng.IntN(len(m.children))]
					desc = "terminate " + c.id
					want = m.terminateGroup([]*mchild{c}, nil)
					require.NoError(t, sup.TerminateChild(f.ctx, c.id), desc)
				case op == 6 && len(m.children) > 0:
					c := m.children[rng.IntN(len(m.children))]
					desc = "restart " + c.id
					_, err := sup.RestartChild(f.ctx, c.id)
					if c.running {
						require.ErrorIs(t, err, supervision.ErrRunning, desc)
					} else {
						require.NoError(t, err, desc)
						c.running = true
						want = []string{"S(" + c.id + ")"}
					}
				case op == 7 && len(m.children) > 0:
					c := m.children[rng.IntN(len(m.children))]
					desc = "delete " + c.id
					err := sup.DeleteChild(f.ctx, c.id)
					if c.running {
						require.ErrorIs(t, err, supervision.ErrRunning, desc)
					} else {
						require.NoError(t, err, desc)
						m.remove(c)
					}
				default:
					spec, mc := newChild()
					desc = "start " + mc.id
					_, err := sup.StartChild(f.ctx, spec)
					require.NoError(t, err, desc)
					m.children = append(m.children, mc)
					want = []string{"S(" + mc.id + ")"}
				}
				t.Log(desc)
				if len(want) > 0 {
					f.expect(want...)
				} else {
					require.Empty(t, f.rec.Strings(), desc)
				}
				if !m.dead {
					require.Equal(t, m.which(), f.which(), "after %s", desc)
				}
			}
			if m.dead {
				<-sup.Done()
				require.Equal(t, supervision.Shutdown, sup.Reason())
			}
		})
	}
}

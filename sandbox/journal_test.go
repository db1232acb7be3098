package sandbox_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/sandbox"
	"github.com/otpbox/otpbox/testkit"
)

// TestJournalLimit fills a sandbox's journal: the execution that would
// not fit is refused whole (nothing of it stays), the sandbox goes on
// answering reads, and a restart empties the journal. (Its state holds a
// bound method: no snapshot can make room; see TestSnapshotMakesRoom.)
func TestJournalLimit(t *testing.T) {
	n := newNode(t)
	_, err := n.local.Create(n.ctx, "j", sandbox.Requirements{JournalLimit: 4 * sandbox.JournalEntryOverhead})
	require.NoError(t, err)
	first := "xs = []\nf = xs.append"
	n.exec("j", first)
	n.exec("j", "xs.append(1)")
	n.exec("j", "xs.append(2)")
	_, err = n.local.Execute(n.ctx, "j", "xs.append(3)\nfailed = True")
	var le *sandbox.LimitError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, "journal", le.Limit)
	assert.EqualValues(t, 4*sandbox.JournalEntryOverhead, le.Max)
	assert.Greater(t, le.Got, le.Max)
	assert.Contains(t, err.Error(), "restart it to empty its journal")

	info, err := n.local.Info(n.ctx, "j")
	require.NoError(t, err)
	require.NotNil(t, info.Journal)
	assert.EqualValues(t, 3, info.Journal.Entries)
	assert.EqualValues(t, len(first)+2*len("xs.append(1)")+3*sandbox.JournalEntryOverhead, info.Journal.Bytes)
	assert.Zero(t, info.Journal.SnapshotSeq)

	// Every execution is journaled, reads too: a full journal takes none.
	require.NoError(t, n.local.Passivate(n.ctx, "j"))
	_, err = n.local.Execute(n.ctx, "j", "xs")
	require.ErrorAs(t, err, &le)
	again, err := n.local.Info(n.ctx, "j")
	require.NoError(t, err)
	assert.Equal(t, info.Journal, again.Journal, "rebuilt from the journal, the same use")
	tree, err := n.local.Tree(n.ctx, "j")
	require.NoError(t, err)
	assert.NotNil(t, tree)

	_, err = n.local.Restart(n.ctx, "j")
	require.NoError(t, err)
	n.exec("j", "x = 1")
	info, err = n.local.Info(n.ctx, "j")
	require.NoError(t, err)
	assert.EqualValues(t, 1, info.Journal.Entries)
}

// TestReplayLimit bounds the steps replaying a journal takes: an
// execution that would take the journal past it stops there, as a steps
// limit would stop it, and is reported as the replay limit. (Its state
// holds a bound method, so no snapshot makes room.)
func TestReplayLimit(t *testing.T) {
	n := newNode(t)
	_, err := n.local.Create(n.ctx, "r", sandbox.Requirements{ReplayLimit: 50_000})
	require.NoError(t, err)
	res := n.exec("r", "f = [].append\nt = 0\nfor i in range(2000):\n    t += i")
	require.Less(t, res.Steps, uint64(50_000))
	first := res.Steps

	_, err = n.local.Execute(n.ctx, "r", "t = -1\nfor i in range(100000):\n    t += i")
	var le *sandbox.LimitError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, "replay", le.Limit)
	assert.EqualValues(t, 50_000, le.Max)
	assert.Greater(t, le.Got, le.Max)
	assert.Equal(t, "1999000", n.exec("r", "t").Value, "the refused execution changed nothing")

	info, err := n.local.Info(n.ctx, "r")
	require.NoError(t, err)
	assert.EqualValues(t, 50_000, info.Journal.ReplayLimit)
	assert.GreaterOrEqual(t, info.Journal.ReplaySteps, first)

	// Rebuilt from the journal, the sandbox has the same sums: replay
	// reports each entry's steps as its first run took them.
	require.NoError(t, n.local.Passivate(n.ctx, "r"))
	testkit.Eventually(t, 3*time.Second, func() error {
		if n.local.Active() != 0 {
			return errors.New("still active")
		}
		return nil
	})
	one := n.exec("r", "1")
	again, err := n.local.Info(n.ctx, "r")
	require.NoError(t, err)
	assert.Equal(t, info.Journal.ReplaySteps+one.Steps, again.Journal.ReplaySteps)
	assert.Equal(t, info.Journal.Entries+1, again.Journal.Entries)
	assert.Equal(t, info.Journal.Bytes+1+sandbox.JournalEntryOverhead, again.Journal.Bytes)
}

func TestJournalQuotasPolicy(t *testing.T) {
	var req sandbox.Requirements
	require.NoError(t, json.Unmarshal([]byte(`{"journal_limit": "1MiB", "replay_limit": 1e6}`), &req))
	assert.EqualValues(t, 1<<20, req.JournalLimit)
	assert.EqualValues(t, 1_000_000, req.ReplayLimit)
	require.Error(t, json.Unmarshal([]byte(`{"replay_limit": -1}`), &req))

	r, err := sandbox.Policy{}.Resolve(sandbox.Requirements{})
	require.NoError(t, err)
	assert.EqualValues(t, sandbox.DefaultJournalLimit, r.JournalLimit)
	assert.EqualValues(t, sandbox.DefaultReplayLimit, r.ReplayLimit)

	p := sandbox.Policy{Ceilings: sandbox.Requirements{JournalLimit: 1 << 20, ReplayLimit: 1e6}}
	r, err = p.Resolve(sandbox.Requirements{})
	require.NoError(t, err)
	assert.EqualValues(t, 1<<20, r.JournalLimit, "the default, lowered to the ceiling")
	assert.EqualValues(t, 1_000_000, r.ReplayLimit)
	var ce *sandbox.CeilingError
	_, err = p.Resolve(sandbox.Requirements{JournalLimit: 1 << 30})
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "journal_limit", ce.Field)
	_, err = p.Resolve(sandbox.Requirements{ReplayLimit: 1e9})
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "replay_limit", ce.Field)
}

package events_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/events"
)

func TestQueueToldWhatItMissed(t *testing.T) {
	q := events.NewQueue(3, func(n int64) int { return -int(n) })
	for i := 1; i <= 10; i++ {
		q.Push(i)
	}
	ctx := t.Context()
	var got []int
	for range 4 {
		v, err := q.Next(ctx)
		require.NoError(t, err)
		got = append(got, v)
	}
	assert.Equal(t, []int{1, 2, 3, -7}, got, "three kept, then the seven missed")
	q.Push(11)
	q.Close()
	v, err := q.Next(ctx)
	require.NoError(t, err)
	assert.Equal(t, 11, v)
	_, err = q.Next(ctx)
	assert.ErrorIs(t, err, events.ErrClosed)

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = events.NewQueue(1, func(int64) int { return 0 }).Next(cancelled)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestQueueGapComesBeforeNewerEvents(t *testing.T) {
	q := events.NewQueue(2, func(n int64) int { return -int(n) })
	q.Push(1)
	q.Push(2)
	q.Push(3) // missed
	v, _ := q.Next(t.Context())
	assert.Equal(t, 1, v)
	q.Push(4) // room: the gap, then 4 do not both fit; the gap goes first
	var got []int
	for range 3 {
		v, _ := q.Next(t.Context())
		got = append(got, v)
	}
	assert.Equal(t, []int{2, -1, 4}, got)
}

func TestBusResumesAfterLastID(t *testing.T) {
	b := events.NewBus[string](3, 16)
	live, stop := b.Subscribe("")
	defer stop()
	for _, s := range []string{"a", "b", "c", "d", "e"} {
		b.Publish(s)
	}
	var ids []string
	for range 5 {
		it, err := live.Next(t.Context())
		require.NoError(t, err)
		ids = append(ids, it.ID)
	}

	// After "c": d and e, still kept.
	q, stop2 := b.Subscribe(ids[2])
	defer stop2()
	it, _ := q.Next(t.Context())
	assert.Equal(t, "d", it.Event)
	it, _ = q.Next(t.Context())
	assert.Equal(t, "e", it.Event)

	// After "a": b is no longer kept: a gap of one, then c, d, e.
	q3, stop3 := b.Subscribe(ids[0])
	defer stop3()
	it, _ = q3.Next(t.Context())
	assert.Equal(t, int64(1), it.Missed)
	assert.Empty(t, it.ID)
	it, _ = q3.Next(t.Context())
	assert.Equal(t, "c", it.Event)

	// An id of another run: missed unknown.
	q4, stop4 := b.Subscribe("zzz-3")
	defer stop4()
	it, _ = q4.Next(t.Context())
	assert.Equal(t, int64(-1), it.Missed)
}

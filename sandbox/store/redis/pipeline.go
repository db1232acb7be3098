package redis

import (
	"context"
	"strings"
	"sync"

	goredis "github.com/redis/go-redis/v9"
)

// DefaultPipelines is how many pipelines of appends a Store keeps in
// flight at once (WithPipelines).
const DefaultPipelines = 4

// appendCall is one Append waiting in the pipeline's queue.
type appendCall struct {
	keys    []string // the journal's, its base's
	payload []byte
	seq     uint64
	n       int64 // the script's answer, set before answered closes
	err     error
	// answered closes when n and err are in; promote is signalled (once,
	// while the call is queued) to make the call send the next pipeline.
	answered chan struct{}
	promote  chan struct{}
}

// pipeline sends the appends of concurrent callers together: a caller
// that finds fewer than max pipelines in flight sends every queued
// append in one pipeline (one round trip) and answers them; appends
// queued meanwhile are handed to the first of their callers, which sends
// them the same way.
type pipeline struct {
	client goredis.UniversalClient
	max    int

	mu       sync.Mutex // protects queue, inFlight and promoted
	queue    []*appendCall
	inFlight int  // pipelines being sent, or handed to a promoted call
	promoted bool // a queued call was promoted and has not started yet
}

// do queues c and returns once it is answered.
func (p *pipeline) do(c *appendCall) {
	c.answered, c.promote = make(chan struct{}), make(chan struct{}, 1)
	p.mu.Lock()
	p.queue = append(p.queue, c)
	lead := p.inFlight < p.max
	if lead {
		p.inFlight++
	}
	p.mu.Unlock()
	if lead {
		p.send()
	}
	for {
		select {
		case <-c.promote:
			p.send()
		case <-c.answered:
			// A promotion comes while c is queued, so before its answer:
			// if there is one, it has been signalled already.
			select {
			case <-c.promote:
				p.send()
			default:
			}
			return
		}
	}
}

// send sends the queued appends in one pipeline and answers them. Its
// caller holds one of the max slots, which send hands on (promoting the
// first queued call) or releases.
func (p *pipeline) send() {
	p.mu.Lock()
	batch := p.queue
	p.queue = nil
	p.promoted = false // a promoted call now sending, or its calls taken by this send
	p.mu.Unlock()
	if len(batch) > 0 {
		p.exec(batch)
		for _, c := range batch {
			close(c.answered)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.queue) == 0 || p.promoted {
		p.inFlight--
		return
	}
	next := p.queue[0]
	p.promoted = true
	next.promote <- struct{}{}
}

// exec runs the append script for every call of batch in one pipeline.
// The calls' contexts were checked when they were queued; the pipeline
// runs to its end (bounded by the client's timeouts), as its writes may
// have been applied.
func (p *pipeline) exec(batch []*appendCall) {
	ctx := context.Background()
	cmds := make([]*goredis.Cmd, len(batch))
	_, _ = p.client.Pipelined(ctx, func(pipe goredis.Pipeliner) error {
		for i, c := range batch {
			cmds[i] = appendScript.EvalSha(ctx, pipe, c.keys, c.payload, c.seq)
		}
		return nil
	})
	for i, c := range batch {
		c.n, c.err = cmds[i].Int64()
		if c.err != nil && strings.HasPrefix(c.err.Error(), "NOSCRIPT") {
			// Redis does not have the script yet (or lost it, restarted):
			// Run loads it.
			c.n, c.err = appendScript.Run(ctx, p.client, c.keys, c.payload, c.seq).Int64()
		}
	}
}

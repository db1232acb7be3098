package consul

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/otpbox/otpbox/cluster"
)

// Tag is the tag of every member's service registration.
const Tag = "otpbox"

// Service meta keys.
const (
	MetaAPI         = "api"
	MetaSlots       = "slots"
	MetaMemoryBytes = "memory_bytes"
	MetaCPUs        = "cpus"
	MetaVersion     = "version"
	MetaZone        = "zone"
)

// watchWait is how long a blocking query waits for a change; watchGrace
// is how much longer than Consul's answer time the watch waits for one;
// minWatchInterval is the least time between two queries' starts.
const (
	watchWait        = 10 * time.Second
	watchGrace       = 5 * time.Second
	minWatchInterval = 50 * time.Millisecond
)

// deregisterTimeout bounds the deregistration of a graceful Stop.
const deregisterTimeout = 5 * time.Second

// Provider is otpbox's cluster membership on Consul: it registers this node
// with the local agent, heartbeats its TTL check with the node's load, and
// watches the cluster's service to keep the view Members returns. It
// implements cluster.Membership and protoactor's cluster.ClusterProvider.
//
// A Provider runs once: New, then one of Start, StartMember or StartClient,
// then Stop or Shutdown. All methods are safe for concurrent use.
type Provider struct {
	cfg       Config
	log       *slog.Logger
	agent     agentAPI
	health    healthAPI
	transport *http.Transport // closed by Stop
	ttlID     string          // the heartbeat check's id
	readyID   string          // the readiness check's id
	events    *dispatcher

	registered atomic.Bool  // the agent knows our service, as far as we know
	attempts   atomic.Int64 // registration attempts, for tests
	paused     atomic.Bool  // test hook: skip heartbeats (a stalled member)
	sent       sentOutput   // the heartbeat's output, kept steady

	mu      sync.Mutex // protects the fields below
	state   state
	member  bool // started with Start or StartMember: registers and heartbeats
	host    string
	port    int
	cancel  context.CancelFunc
	stopped chan struct{} // closed when Stop has finished
	members map[string]cluster.Member
	wg      sync.WaitGroup // the loops' goroutines
}

type state int

const (
	idle state = iota
	running
	stopping
)

var (
	_ cluster.Membership = (*Provider)(nil)
)

// New returns a provider for cfg, after filling in the defaults (see
// Config). It returns a *ConfigError when cfg is invalid. New does not
// contact Consul.
func New(cfg Config) (*Provider, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	transport := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
	}
	client, err := api.NewClient(&api.Config{Address: cfg.Agent, Transport: transport, Token: cfg.Token})
	if err != nil {
		return nil, fmt.Errorf("consul: new client: %w", err)
	}
	return &Provider{
		cfg:       cfg,
		log:       cfg.Logger.With(slog.String("cluster", cfg.Cluster), slog.String("node", cfg.Node)),
		agent:     client.Agent(),
		health:    client.Health(),
		transport: transport,
		ttlID:     "otpbox:" + cfg.Node + ":ttl",
		readyID:   "otpbox:" + cfg.Node + ":ready",
		events:    newDispatcher(),
		members:   make(map[string]cluster.Member),
		stopped:   make(chan struct{}),
	}, nil
}

// Start registers this node as a member at address, the host:port of its
// protoactor remote, and starts heartbeating and watching. It does not wait
// for Consul: registration is retried in the background with backoff until
// it succeeds (see Registered). Use it without protoactor; StartMember
// calls it.
func (p *Provider) Start(address string) error {
	host, port, err := splitAddress(address)
	if err != nil {
		return err
	}
	return p.start(true, host, port)
}

// Stop stops the provider and waits for its goroutines. When graceful, it
// then deregisters the member's service at once, so other members see it
// leave immediately instead of after its TTL; Stop returns that
// deregistration's error. Stop is idempotent: later calls wait for the first
// to finish and return nil.
func (p *Provider) Stop(graceful bool) error {
	p.mu.Lock()
	if p.state == stopping {
		p.mu.Unlock()
		<-p.stopped
		return nil
	}
	p.state = stopping
	member, cancel := p.member, p.cancel
	p.mu.Unlock()
	defer close(p.stopped)
	if cancel != nil {
		cancel()
	}
	p.wg.Wait()
	var err error
	if graceful && member {
		err = p.deregister()
	}
	p.transport.CloseIdleConnections()
	return err
}

// Registered reports whether the local agent holds this member's
// registration, as far as the provider knows: it turns true after a
// successful registration and false when the agent answers that it does
// not know the heartbeat check (an agent restart) or after a graceful Stop.
func (p *Provider) Registered() bool { return p.registered.Load() }

// Self implements cluster.Membership: the node's name.
func (p *Provider) Self() string { return p.cfg.Node }

// Members implements cluster.Membership: the latest view of the cluster's
// service in Consul, sorted by name. It is empty until the first query
// succeeds, and a failed query keeps the previous view.
func (p *Provider) Members() []cluster.Member {
	p.mu.Lock()
	ms := make([]cluster.Member, 0, len(p.members))
	for _, m := range p.members {
		ms = append(ms, m)
	}
	p.mu.Unlock()
	slices.SortFunc(ms, func(a, b cluster.Member) int { return strings.Compare(a.Name, b.Name) })
	return ms
}

// Subscribe implements cluster.Membership: fn gets every later event, in
// order, on one goroutine owned by the provider, until cancel is called
// (a call in progress may finish) or the provider stops. fn must not block
// for long: it holds up the events of every subscriber, though never the
// watch itself. fn must not call Stop or Shutdown, which wait for it.
func (p *Provider) Subscribe(fn func(cluster.Event)) (cancel func()) {
	return p.events.subscribe(fn)
}

// start starts the loops: the event dispatcher and the watch always, the
// heartbeat (which registers first) for members.
func (p *Provider) start(member bool, host string, port int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch p.state {
	case running:
		return ErrStarted
	case stopping:
		return ErrStopped
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.state, p.member, p.host, p.port, p.cancel = running, member, host, port, cancel
	p.goroutine(func() { p.events.run(ctx) })
	p.goroutine(func() { p.watch(ctx) })
	if member {
		p.goroutine(func() { p.heartbeat(ctx) })
	}
	return nil
}

// goroutine runs f on a goroutine Stop waits for. Callers hold p.mu with
// p.state == running.
func (p *Provider) goroutine(f func()) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		f()
	}()
}

// deregister removes the member's service from the local agent.
func (p *Provider) deregister() error {
	ctx, cancel := context.WithTimeout(context.Background(), deregisterTimeout)
	defer cancel()
	err := p.agent.ServiceDeregisterOpts(p.cfg.Node, (&api.QueryOptions{}).WithContext(ctx))
	if se := (api.StatusError{}); errors.As(err, &se) && se.Code == http.StatusNotFound {
		err = nil // never registered, or already gone
	}
	p.registered.Store(false)
	if err != nil {
		return fmt.Errorf("consul: deregister %s: %w", p.cfg.Node, err)
	}
	p.log.Info("consul: deregistered")
	return nil
}

// splitAddress splits a member's host:port.
func splitAddress(address string) (string, int, error) {
	host, ps, err := net.SplitHostPort(address)
	if err != nil {
		return "", 0, fmt.Errorf("%w: %q: %w", ErrAddress, address, err)
	}
	port, err := strconv.Atoi(ps)
	if err != nil || port <= 0 || port > 65535 || host == "" {
		return "", 0, fmt.Errorf("%w: %q", ErrAddress, address)
	}
	return host, port, nil
}

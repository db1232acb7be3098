package node

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/otpbox/otpbox/breaker"
	"github.com/otpbox/otpbox/cluster"
	"github.com/otpbox/otpbox/cluster/consul"
	"github.com/otpbox/otpbox/sandbox"
)

// memberConfig is what a node needs to join a cluster.
type memberConfig struct {
	consul, cluster, api, addr string
	advertise                  string
	token                      string
	ttl                        time.Duration
	zone                       string
	slots                      int
	memCap                     uint64 // memoryCapacity, read once
}

func memberConfigOf(cfg Config) memberConfig {
	api := cfg.HTTPAddr
	if host, port, err := net.SplitHostPort(api); err == nil && (host == "" || host == "0.0.0.0" || host == "::") {
		api = net.JoinHostPort("127.0.0.1", port)
	}
	return memberConfig{consul: cfg.Consul, cluster: cfg.Cluster, api: "http://" + api, addr: cfg.ClusterAddr, advertise: cfg.ClusterAdvertise,
		ttl: cfg.ConsulTTL.Duration, zone: cfg.Zone, token: cfg.ConsulToken, slots: int(cfg.MaxConnectionsPerNode), memCap: memoryCapacity(uint64(cfg.MemoryLimit))}
}

// startMember starts the host as a member of the cluster: membership and
// health through Consul, placements in the store's Redis.
func (h *SandboxHost) startMember(system *actor.ActorSystem, scfg sandbox.Config) (*sandbox.Local, error) {
	if h.redis == nil {
		return nil, errors.New("a cluster member needs the Redis store")
	}
	host, port, err := net.SplitHostPort(h.member.addr)
	if err != nil {
		return nil, fmt.Errorf("cluster address: %w", err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return nil, fmt.Errorf("cluster address: %w", err)
	}
	prov, err := consul.New(consul.Config{
		Agent:    h.member.consul,
		Cluster:  h.member.cluster,
		Node:     h.node,
		API:      h.member.api,
		Capacity: cluster.Capacity{Slots: h.member.slots, MemoryBytes: h.member.memCap, CPUs: cpus()},
		Load:     h.load,
		TTL:      h.member.ttl,
		Zone:     h.member.zone,
		Token:    h.member.token,
		Logger:   h.log.With("component", "consul"),
	})
	if err != nil {
		return nil, err
	}
	h.prov.Store(prov)
	// Members send each other their load every heartbeat; the board
	// keeps what they sent for three heartbeats, then falls back on
	// Consul's catalog (see cluster.LoadBoard).
	beat := h.member.ttl / 3
	board := cluster.NewLoadBoard(prov, 3*beat, h.load)
	h.board.Store(board)
	h.checkAgent(prov, beat)
	return sandbox.StartMember(system, scfg, sandbox.MemberConfig{
		Name:         h.member.cluster,
		Provider:     prov,
		Membership:   board,
		Loads:        board,
		LoadInterval: beat,
		Registry:     h.registry(),
		Placer:       h.placer,
		Host:         host,
		Port:         p,
		Advertise:    h.member.advertise,
		Breaker:      h.memberBreaker(),
	})
}

// memberBreaker returns the breakers in front of the other members (nil
// without a breaker set).
func (h *SandboxHost) memberBreaker() func(string) *breaker.Breaker {
	if h.breakers == nil {
		return nil
	}
	return func(member string) *breaker.Breaker { return h.breakers.Get(memberPrefix + member) }
}

// Membership returns the cluster's membership: Consul's in cluster mode,
// nil on a single node.
func (h *SandboxHost) Membership() cluster.Membership {
	if b := h.board.Load(); b != nil {
		return b
	}
	if p := h.prov.Load(); p != nil {
		return p
	}
	return nil
}

// Directory returns the member's activation directory (nil before the
// host starts).
func (h *SandboxHost) Directory() *cluster.Directory {
	if l := h.local.Load(); l != nil {
		return l.Directory()
	}
	return nil
}

// Manager returns the sandbox manager (nil before the host starts and
// after it closed).
func (h *SandboxHost) Manager() *sandbox.Manager {
	if l := h.local.Load(); l != nil {
		return l.Manager
	}
	return nil
}

// load is the member's load, sent with every heartbeat.
func (h *SandboxHost) load() cluster.Load {
	// Placement and the cache's membership ask on every request; reading
	// the memory and CPU figures costs more than the request itself. A
	// load a tenth of a second old is as good (the others' are heartbeats
	// old).
	now := time.Now()
	if c := h.lastLoad.Load(); c != nil && now.Sub(c.at) < loadReuse {
		return c.l
	}
	ld := h.readLoad()
	h.lastLoad.Store(&cachedLoad{l: ld, at: now})
	return ld
}

// loadReuse is how long SandboxHost.load reuses what it read.
const loadReuse = 100 * time.Millisecond

type cachedLoad struct {
	l  cluster.Load
	at time.Time
}

// readLoad reads this member's load.
func (h *SandboxHost) readLoad() cluster.Load {
	var ld cluster.Load
	if l := h.local.Load(); l != nil {
		ld.Sandboxes = l.Active()
		ld.Draining = l.Directory().Draining()
		ld.Passivated = int(l.Passivations())
	}
	ld.Mailbox = h.gate.inflight()
	ld.MemoryBytes = memoryInUse()
	if c := h.member.memCap; c > 0 {
		ld.Memory = float64(ld.MemoryBytes) / float64(c)
	}
	ld.CPU = h.stats.cpu()
	ld.LatencyMS = h.stats.latencyMS()
	return ld
}

// loadStats measures the member's call latency and CPU use.
type loadStats struct {
	latency atomic.Uint64 // float64 bits: mean call latency in ms, moving average

	mu       sync.Mutex // protects lastWall, lastCPU, lastUse
	lastWall time.Time
	lastCPU  time.Duration
	lastUse  float64
}

// observe adds one call's duration to the moving average.
func (s *loadStats) observe(d time.Duration) {
	ms := float64(d) / float64(time.Millisecond)
	for {
		old := s.latency.Load()
		cur := math.Float64frombits(old)
		next := ms
		if cur != 0 {
			next = 0.9*cur + 0.1*ms
		}
		if s.latency.CompareAndSwap(old, math.Float64bits(next)) {
			return
		}
	}
}

func (s *loadStats) latencyMS() float64 { return math.Float64frombits(s.latency.Load()) }

// cpu returns the process's CPU use over its CPUs, measured over at least
// a second: calls closer together get the last figure.
func (s *loadStats) cpu() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	used := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastWall.IsZero() {
		s.lastWall, s.lastCPU = now, used
		return 0
	}
	wall := now.Sub(s.lastWall)
	if wall < time.Second {
		return s.lastUse
	}
	s.lastUse = min(1, float64(used-s.lastCPU)/float64(wall)/float64(cpus()))
	s.lastWall, s.lastCPU = now, used
	return s.lastUse
}

// memoryInUse is the memory the Go runtime holds from the OS.
func memoryInUse() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64() - s[1].Value.Uint64()
}

// memoryCapacity is the configured limit when set, else the cgroup's
// limit, else the host's memory. (Not GOMEMLIMIT: the MemoryOptimizer
// lowers it under pressure.)
func memoryCapacity(configured uint64) uint64 {
	if configured > 0 {
		return configured
	}
	if b, err := os.ReadFile("/sys/fs/cgroup/memory.max"); err == nil {
		if n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil {
			return n
		}
	}
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// DrainNode moves every sandbox of node to the other members.
func (h *SandboxHost) DrainNode(ctx context.Context, node string) (int, error) {
	ctx, m, done, err := h.enter(ctx, false)
	if err != nil {
		return 0, err
	}
	defer done()
	n, err := m.DrainNode(ctx, node)
	return n, result(ctx, err)
}

// agentCheckTimeout bounds the question to the Consul agent about its
// settings at start.
const agentCheckTimeout = 2 * time.Second

// checkAgent reads the Consul agent's check_update_interval and says,
// in a WARN line and in GET /v1/cluster/nodes, when it would make the
// load in Consul's catalog older than the heartbeats: by default an
// agent syncs a TTL check's output only every 5 minutes unless its
// status changes. Members place by the loads they send each other
// (cluster.LoadBoard), so only a member not heard from directly falls
// back on the catalog's stale figures.
func (h *SandboxHost) checkAgent(_ *consul.Provider, beat time.Duration) {
	warn := func(msg string, args ...any) {
		h.log.Warn(msg, args...)
		ws := []string{msg}
		h.agentWarnings.Store(&ws)
	}
	interval, err := agentCheckUpdateInterval(h.member.consul, h.member.token)
	if err != nil {
		warn("could not read the Consul agent's check_update_interval (needs agent:read): the load in Consul's catalog may be stale; members exchange their load directly", "error", err)
		return
	}
	if interval > 3*beat {
		warn(fmt.Sprintf("the Consul agent's check_update_interval is %v: Consul's catalog shows a member's load up to %v old; members exchange their load directly every %v and place by it, and use the catalog's only for a member they have not heard from for %v (set check_update_interval = \"0s\" on the agents to keep the catalog fresh too)",
			interval, interval, beat, 3*beat), "check_update_interval", interval.String())
	}
}

// agentCheckUpdateInterval asks the agent at addr for its
// check_update_interval.
func agentCheckUpdateInterval(addr, token string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), agentCheckTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/v1/agent/self", nil)
	if err != nil {
		return 0, err
	}
	if token != "" {
		req.Header.Set("X-Consul-Token", token)
	}
	resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("agent/self: %s", resp.Status)
	}
	var self struct {
		DebugConfig struct {
			CheckUpdateInterval string
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&self); err != nil {
		return 0, fmt.Errorf("agent/self: %w", err)
	}
	return time.ParseDuration(self.DebugConfig.CheckUpdateInterval)
}

// AgentWarnings says what the Consul agent's settings make stale (nil:
// nothing, or not a cluster member).
func (h *SandboxHost) AgentWarnings() []string {
	if w := h.agentWarnings.Load(); w != nil {
		return *w
	}
	return nil
}

// LoadSource says where a member's load comes from (see
// cluster.LoadBoard.Source).
func (h *SandboxHost) LoadSource(node string) (string, time.Duration) {
	if b := h.board.Load(); b != nil {
		return b.Source(node)
	}
	return cluster.LoadSelf, 0
}

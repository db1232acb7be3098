package consul

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/otpbox/otpbox/cluster"
)

// registerTimeout is the least time a registration may take before it is
// abandoned and retried.
const registerTimeout = 5 * time.Second

// heartbeat registers the member, then updates its TTL check every
// Heartbeat until ctx is done. A failed call is retried with backoff; the
// log gets one line when Consul becomes unreachable and one when it is back.
func (p *Provider) heartbeat(ctx context.Context) {
	bo := backoff{min: minBackoff, max: maxBackoff}
	timer := time.NewTimer(0)
	defer timer.Stop()
	var failing error
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		wait := p.cfg.Heartbeat
		if err := p.beat(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			if failing == nil {
				p.log.Warn("consul: heartbeat failing, retrying with backoff", slog.Any("error", err))
			}
			failing = err
			wait = bo.next()
		} else {
			if failing != nil {
				p.log.Info("consul: heartbeat ok again")
			}
			failing = nil
			bo.reset()
		}
		timer.Reset(wait)
	}
}

// beat registers the member if needed, then updates its heartbeat check.
// When the agent no longer knows the check (it restarted and lost its
// state), beat registers again at once.
func (p *Provider) beat(ctx context.Context) error {
	for range 2 {
		if !p.registered.Load() {
			if err := p.register(ctx); err != nil {
				return err
			}
		}
		if p.paused.Load() {
			return nil
		}
		load := p.cfg.Load()
		err := p.updateTTL(ctx, status(load), p.sent.output(load, p.cfg.Capacity, time.Now()))
		if err == nil || !unknownToAgent(err) {
			if err != nil {
				return fmt.Errorf("consul: update check %s: %w", p.ttlID, err)
			}
			return nil
		}
		p.registered.Store(false)
		p.log.Info("consul: the agent lost the registration, registering again", slog.Any("error", err))
	}
	return fmt.Errorf("consul: update check %s: the agent forgets it right after registration", p.ttlID)
}

// updateTTL updates the heartbeat check. A heartbeat that takes longer
// than the TTL is too late anyway: the call gives up then.
func (p *Provider) updateTTL(ctx context.Context, status, output string) error {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.TTL)
	defer cancel()
	return p.agent.UpdateTTLOpts(p.ttlID, output, status, (&api.QueryOptions{}).WithContext(ctx))
}

// status returns the heartbeat check's status for load.
func status(load cluster.Load) string {
	if load.Draining {
		return api.HealthWarning
	}
	return api.HealthPassing
}

// register registers the member's service and checks with the local agent,
// replacing any earlier registration with the same id (ours, from before a
// restart of this node).
func (p *Provider) register(ctx context.Context) error {
	p.attempts.Add(1)
	p.mu.Lock()
	host, port := p.host, p.port
	p.mu.Unlock()
	status := status(p.cfg.Load())
	checks := api.AgentServiceChecks{{
		CheckID:                        p.ttlID,
		Name:                           "otpbox heartbeat",
		Notes:                          "Updated by the node every " + p.cfg.Heartbeat.String() + "; critical when it stops.",
		TTL:                            p.cfg.TTL.String(),
		Status:                         status,
		DeregisterCriticalServiceAfter: p.cfg.DeregisterAfter.String(),
	}}
	if p.cfg.API != "" {
		checks = append(checks, &api.AgentServiceCheck{
			CheckID:  p.readyID,
			Name:     "otpbox readiness",
			Notes:    "GET /v1/health/ready: 200 ready, 429 overloaded (warning).",
			HTTP:     strings.TrimSuffix(p.cfg.API, "/") + "/v1/health/ready",
			Method:   http.MethodGet,
			Interval: p.cfg.CheckInterval.String(),
			Timeout:  p.cfg.CheckInterval.String(),
			// Alive but not yet known to accept work until the first probe.
			Status: api.HealthWarning,
		})
	}
	c := p.cfg.Capacity
	reg := &api.AgentServiceRegistration{
		ID:      p.cfg.Node,
		Name:    p.cfg.Cluster,
		Tags:    []string{Tag},
		Address: host,
		Port:    port,
		Meta: map[string]string{
			MetaAPI:         p.cfg.API,
			MetaSlots:       strconv.Itoa(c.Slots),
			MetaMemoryBytes: strconv.FormatUint(c.MemoryBytes, 10),
			MetaCPUs:        strconv.Itoa(c.CPUs),
			MetaVersion:     p.cfg.Version,
			MetaZone:        p.cfg.Zone,
		},
		Checks: checks,
	}
	ctx, cancel := context.WithTimeout(ctx, max(p.cfg.TTL, registerTimeout))
	defer cancel()
	opts := api.ServiceRegisterOpts{ReplaceExistingChecks: true}.WithContext(ctx)
	if err := p.agent.ServiceRegisterOpts(reg, opts); err != nil {
		return fmt.Errorf("consul: register %s: %w", p.cfg.Node, err)
	}
	p.registered.Store(true)
	p.log.Info("consul: registered", slog.String("address", fmtAddress(host, port)))
	return nil
}

// unknownToAgent reports whether err says the agent does not know the
// heartbeat check: it restarted (or someone deregistered us).
func unknownToAgent(err error) bool {
	var se api.StatusError
	if errors.As(err, &se) && se.Code == http.StatusNotFound {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "Unknown check ID") || strings.Contains(msg, "does not have associated TTL") ||
		strings.Contains(msg, "Unknown service ID")
}

func fmtAddress(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }

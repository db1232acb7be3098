package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/otpbox/otpbox/cache"
)

// Cache is what the cache endpoints need from the node's cache.
type Cache interface {
	Stats() cache.Stats
	Clear(ctx context.Context, tier cache.TierID) error
	GetOrLoad(ctx context.Context, key string, load cache.Loader, opts ...cache.PutOption) ([]byte, error)
	// InvalidateLocal drops keys from this node's L1 only.
	InvalidateLocal(keys ...string)
}

// CacheTiers are the tiers DELETE /v1/cache?tier= accepts.
var CacheTiers = map[string]cache.TierID{"l1": cache.L1Tier, "l2": cache.L2Tier, "l3": cache.L3Tier}

func errNoCache() error {
	return fmt.Errorf("%w: cache not configured on this node", ErrNotImplemented)
}

func (s *Server) cacheStats(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Cache == nil {
		s.fail(w, r, errNoCache())
		return
	}
	writeJSON(w, http.StatusOK, s.cfg.Cache.Stats())
}

func (s *Server) cacheClear(w http.ResponseWriter, r *http.Request) {
	tier := cache.AllTiers
	if name := r.URL.Query().Get("tier"); name != "" {
		id, ok := CacheTiers[name]
		if !ok {
			writeProblem(w, problem(http.StatusBadRequest, "invalid_tier", "Invalid cache tier",
				fmt.Sprintf("tier %q is not one of l1, l2, l3", name)))
			return
		}
		tier = id
	}
	if s.cfg.Cache == nil {
		s.fail(w, r, errNoCache())
		return
	}
	if err := s.cfg.Cache.Clear(r.Context(), tier); err != nil {
		if errors.Is(err, cache.ErrNoTier) {
			writeProblem(w, problem(http.StatusNotFound, "tier_not_configured", "Cache tier not configured", err.Error()))
			return
		}
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

package server

import (
	"fmt"
	"net/http"
	"slices"
)

// The cache endpoints answer 501 until the cache package lands: the node
// has no cache, and its statistics are not invented.

// CacheTiers are the tiers DELETE /v1/cache?tier= accepts.
var CacheTiers = []string{"l1", "l2", "l3"}

func errNoCache() error {
	return fmt.Errorf("%w: cache not configured on this node", ErrNotImplemented)
}

func (s *Server) cacheStats(w http.ResponseWriter, r *http.Request) {
	s.fail(w, r, errNoCache())
}

func (s *Server) cacheClear(w http.ResponseWriter, r *http.Request) {
	if tier := r.URL.Query().Get("tier"); tier != "" && !slices.Contains(CacheTiers, tier) {
		writeProblem(w, problem(http.StatusBadRequest, "invalid_tier", "Invalid cache tier",
			fmt.Sprintf("tier %q is not one of %v", tier, CacheTiers)))
		return
	}
	s.fail(w, r, errNoCache())
}

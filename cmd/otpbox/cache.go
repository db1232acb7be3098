package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/otpbox/otpbox/api"
)

// cacheCommand is `otpbox cache stats|clear`.
func (m *Main) cacheCommand() *cobra.Command {
	cmd := group("cache", "Show and clear the node's multi-tier cache",
		`The node caches in tiers: L1 in its memory, L2 spread over the cluster's
members, L3 in Redis (with --redis). These commands show the tiers' figures and
empty them.`,
		`  otpbox cache stats
  otpbox cache clear --tier l1`)
	o := m.clientFlags(cmd.PersistentFlags())
	cmd.AddCommand(o.cacheStatsCmd(), o.cacheClearCmd())
	return cmd
}

func (o *clientOpts) cacheStatsCmd() *cobra.Command {
	return o.plainCmd("stats", "Show the cache's hits, misses and entries per tier",
		`Stats prints the cache's requests and hit rate, then a row per tier: hits,
misses and errors of the lookups that reached it, its hit rate, entries,
evictions, expirations, mean latency and whether it is degraded.`,
		`  otpbox cache stats
  otpbox cache stats --format '{{.HitRate}}'`,
		func(ctx context.Context, cmd *cobra.Command, c *api.Client) error {
			st, err := c.Cache().Stats(ctx)
			if err != nil {
				return o.fail(ctx, "get the cache statistics", err)
			}
			return o.print(cmd, st, func(w io.Writer) error { return printCacheStats(w, st) })
		})
}

func printCacheStats(w io.Writer, st *api.CacheStats) error {
	fmt.Fprintf(w, "%d requests: %d hits (%s), %d misses (%s)\n", st.TotalRequests, st.Hits, percent(st.HitRate), st.Misses, percent(st.MissRate))
	t := table(w)
	fmt.Fprintln(t, "TIER\tHITS\tMISSES\tERRORS\tHIT RATE\tENTRIES\tEVICTIONS\tEXPIRATIONS\tMEAN LATENCY\tSTATE")
	for _, name := range slices.Sorted(maps.Keys(st.Tiers)) {
		tier := st.Tiers[name]
		entries := fmt.Sprint(tier.Entries)
		if tier.Entries < 0 {
			entries = "-"
		}
		state := "ok"
		if tier.Degraded {
			state = "degraded: " + tier.LastError
		}
		fmt.Fprintf(t, "%s\t%d\t%d\t%d\t%s\t%s\t%d\t%d\t%s\t%s\n", name, tier.Hits, tier.Misses, tier.Errors, percent(tier.HitRate),
			entries, tier.Evictions, tier.Expirations, tier.MeanLatency.Round(time.Microsecond/10), state)
	}
	return t.Flush()
}

func (o *clientOpts) cacheClearCmd() *cobra.Command {
	var tier string
	cmd := o.plainCmd("clear", "Empty the cache, or one tier of it",
		`Clear empties every tier of the node's cache, or only --tier (l1, l2 or l3). A
tier the node does not have (L3 needs --redis, L2 a cluster) is an error.`,
		`  otpbox cache clear
  otpbox cache clear --tier l1`,
		func(ctx context.Context, cmd *cobra.Command, c *api.Client) error {
			if err := c.Cache().Clear(ctx, tier); err != nil {
				return o.fail(ctx, "clear the cache", err)
			}
			what := "every tier"
			if tier != "" {
				what = "tier " + tier
			}
			if o.json || o.format != "" {
				return o.print(cmd, map[string]string{"cleared": tier}, nil)
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "cleared %s of the cache\n", what)
			return err
		})
	cmd.Flags().StringVar(&tier, "tier", "", "the tier to empty: l1, l2 or l3 (default every tier)")
	_ = cmd.RegisterFlagCompletionFunc("tier", cobra.FixedCompletions([]string{api.TierL1, api.TierL2, api.TierL3}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

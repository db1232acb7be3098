package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
)

// cache runs `otpbox cache stats`.
func (m *Main) cache(ctx context.Context, args []string) error {
	verb, args, err := m.subcommand("cache", args, "stats")
	if err != nil {
		return err
	}
	if verb != "stats" {
		return unknownVerb("cache", verb, "stats")
	}
	c := m.newCommand("cache stats", "").clientFlags()
	if _, err := c.parse(args, 0, 0); err != nil {
		return err
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	stats, err := cl.CacheStats(ctx)
	if err != nil {
		return err
	}
	return c.output(stats, func(w io.Writer) {
		t := table(w)
		for _, k := range slices.Sorted(maps.Keys(stats)) {
			fmt.Fprintf(t, "%s\t%v\n", k, stats[k])
		}
		t.Flush()
	})
}

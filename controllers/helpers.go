package controllers

// Small helpers the reconcilers share: none knows a resource of ours.

import (
	"context"
	"math/rand/v2"
	"time"

	"golang.org/x/sync/errgroup"
)

// jitter spreads periodic work by up to a tenth of its period, so links
// created together do not poll together.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	return d + rand.N(d/10+1) //nolint:gosec // G404: spreading timers needs no secret randomness
}

// importWriters is how many SharedProject writes an import has in flight: a
// large import waits on apiserver round trips, which overlap well. The
// client's QPS limit (--kube-api-qps), when positive, still holds. An
// import's pipeline has two such sets in flight: records and status patches.
const importWriters = 8

// inParallel calls f for 0..n-1, importWriters at a time, and returns the
// first error; after one it starts no more calls.
func inParallel(ctx context.Context, n int, f func(ctx context.Context, i int) error) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(importWriters)
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error { return f(ctx, i) })
	}
	return g.Wait()
}

// truncate bounds s to n bytes, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

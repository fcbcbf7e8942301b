package controllers

// What keeps an idle relay cheap: a link whose feed stays empty is read less
// and less often (idleWait), the first passes after a start are spread over
// the interval (startupDelay), and a pass reads the link and its Secrets from
// the API server only when they may have changed (readLink, credentials).
// docs/relay.md says what this costs in latency.

import (
	"context"
	"math/rand/v2"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

// DefaultRelayIdleInterval caps the wait of a link whose feed answered no
// item for several passes in a row.
const DefaultRelayIdleInterval = 5 * time.Minute

// idleBackoff is the wait after a pass that found the feed empty, empty
// passes in a row (this one included): the interval after the first, then
// doubling up to the cap. A cap below the interval is the interval: the
// backoff never makes a link poll more often.
func idleBackoff(interval, ceiling time.Duration, empty int) time.Duration {
	if empty <= 1 || ceiling <= interval {
		return interval
	}
	d := interval
	for i := 1; i < empty && d < ceiling; i++ {
		d *= 2
	}
	return min(d, ceiling)
}

// idleWait is when a link whose pass ended at the feed's end comes back,
// with jitter; found says the pass read any item. The wait is remembered so
// that a reconcile before it is due is known for a wake (see wake).
func (r *RelayReconciler) idleWait(run *relayRun, found bool) passResult {
	if found {
		run.mem.emptyPasses = 0
	} else {
		run.mem.emptyPasses++
	}
	d := jitter(idleBackoff(r.Interval, r.IdleInterval, max(run.mem.emptyPasses, 1)))
	run.mem.dueAt = r.Clock.Now().Add(d)
	return requeueAfter(d)
}

// wake resets the backoff when the reconcile comes before the pass was due:
// something woke the link (a change of its spec or projects, a refresh or
// retry request, a push-key tap, a Ready transition), so items may be on
// their way and the short interval applies again.
func (r *RelayReconciler) wake(mem *relayMemory) {
	if !mem.dueAt.IsZero() && r.Clock.Now().Before(mem.dueAt) {
		mem.emptyPasses = 0
	}
	mem.dueAt = time.Time{}
}

// startupDelay is how long the first pass of a link after a start waits: a
// random time within the interval for a link that existed before the start
// and has no known backlog, so that a restart does not read every feed at
// once; zero otherwise (a new link, items pending, a retry requested, or a
// link that first relays later, once Ready: its pass is no stampede).
func (r *RelayReconciler) startupDelay(link *sharev1.ShareLink, mem *relayMemory) time.Duration {
	if mem.started {
		return 0
	}
	mem.started = true
	if r.Clock.Since(r.startedAt) >= r.Interval {
		return 0
	}
	created := link.CreationTimestamp.Time
	if r.startedAt.IsZero() || created.IsZero() || !created.Before(r.startedAt.Truncate(time.Second)) {
		return 0
	}
	if link.Status.Relay.Pending > 0 || unhandledRetry(link, link.Status.LastHandledRetryAt) != "" {
		return 0
	}
	d := rand.N(r.Interval) //nolint:gosec // G404: spreading timers needs no secret randomness
	mem.dueAt = r.Clock.Now().Add(d)
	return d
}

// readLink reads the link as fresh as the API server holds it
// (readLinkFresh): the cursor must never be older than the relay's own last
// write, and an idle pass then costs no GET.
func (r *RelayReconciler) readLink(ctx context.Context, key client.ObjectKey, link *sharev1.ShareLink) error {
	return readLinkFresh(ctx, r.Client, r.APIReader, key, link, func(l *sharev1.ShareLink) *string { return &r.memory(l).linkVersion })
}

// annotationChanged passes updates that change the annotation Key.
type annotationChanged struct {
	predicate.Funcs
	Key string
}

func (a annotationChanged) Update(e event.UpdateEvent) bool {
	if e.ObjectOld == nil || e.ObjectNew == nil {
		return false
	}
	return e.ObjectOld.GetAnnotations()[a.Key] != e.ObjectNew.GetAnnotations()[a.Key]
}

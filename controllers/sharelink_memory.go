package controllers

import (
	"math/rand/v2"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

// linkMemory is what a link remembers between reconciles without writing it:
// an idle refresh must write nothing.
type linkMemory struct {
	validated   string // fingerprint of the credentials last validated
	lastRefresh time.Time
	watermark   int64
	// restoredAt is when this process began the memory from the status of
	// a link an earlier process had refreshed (zero for a link new to it),
	// restoredRefresh the refresh time it began from, and spread the link's
	// random place in the start-up spread (firstRefreshAfterRestart).
	restoredAt, restoredRefresh time.Time
	spread                      float64
	// restoredCredentials is the fingerprint of the credentials a restored
	// link first had in this process: their check waits for the first pull
	// (validationWaits).
	restoredCredentials string
	// applied is what this process last applied to each project, by name:
	// the reconcile that follows an import at once reads projects from a
	// cache that may not have seen their status writes yet, and must
	// neither push them (or announce them) again nor count them as they
	// were.
	applied map[string]appliedRecord
	// mismatch is the fingerprint at which the vendor account said the push
	// key opens an integration with another code, and mismatchMsg what it
	// said: the link stalls without pushing again until that changes.
	mismatch, mismatchMsg string
	// notReadyAt is when the link was last found not Ready (and why),
	// recoveredAt when it last recovered, and events when each reason of
	// its Ready events was last told: a flapping link holds Ready False
	// and repeats no event (holdNotReady, emitLinkTransition).
	notReadyAt, recoveredAt         time.Time
	notReadyReason, notReadyMessage string
	events                          map[string]time.Time
}

// appliedRecord is what an apply wrote to a project's status, as far as
// the link's counts need it.
type appliedRecord struct {
	generation   int64
	clientStatus string
	failed       bool
	adopted      bool // status.adopted (adopt.go)
}

// isApplied reports whether this process applied the project at its
// generation or a later one.
func (m *linkMemory) isApplied(p *sharev1.SharedProject) bool {
	rec, ok := m.applied[p.Name]
	return ok && rec.generation >= p.Generation
}

func (m *linkMemory) recordApplied(p *sharev1.SharedProject) {
	if m.applied == nil {
		m.applied = map[string]appliedRecord{}
	}
	applied := meta.FindStatusCondition(p.Status.Conditions, sharev1.ConditionApplied)
	m.applied[p.Name] = appliedRecord{
		generation:   p.Generation,
		clientStatus: p.Status.ClientStatus,
		failed:       applied != nil && applied.Status == metav1.ConditionFalse,
		adopted:      p.Status.Adopted,
	}
}

// freshen returns the project with what this process applied put back over
// a cached copy that has not seen it yet, so counts never go back to an
// older state. An up-to-date project is returned as it is, not copied.
// Once the cache shows a successful apply, the record has nothing left to
// put back and needsApply reads the same from the cache: it is let go, or
// the memory would keep a record of every project the process ever
// applied (some 100 bytes each, issue #14).
func (m *linkMemory) freshen(p *sharev1.SharedProject) *sharev1.SharedProject {
	rec, ok := m.applied[p.Name]
	if !ok {
		return p
	}
	if rec.generation <= p.Status.ObservedGeneration {
		if !rec.failed && p.Status.Created && p.Status.ObservedGeneration == p.Generation {
			delete(m.applied, p.Name)
		}
		return p
	}
	p = p.DeepCopy()
	p.Status.ClientStatus = rec.clientStatus
	p.Status.Adopted = p.Status.Adopted || rec.adopted
	status, reason := metav1.ConditionTrue, sharev1.ReasonSucceeded
	if rec.failed {
		status, reason = metav1.ConditionFalse, sharev1.ReasonRefused
	}
	sharev1.SetCondition(p, sharev1.ConditionApplied, status, reason, "")
	return p
}

// memory is what the reconciler remembers of the link, begun from its
// status on first use (after a restart, say).
func (r *ShareLinkReconciler) memory(link *sharev1.ShareLink) *linkMemory {
	return r.memories.get(link.UID, client.ObjectKeyFromObject(link), func() *linkMemory {
		return restoreMemory(link, r.Clock.Now(), rand.Float64()) //nolint:gosec // G404: spreading timers needs no secret randomness
	})
}

// restoreMemory begins a link's memory from its status at now, u being the
// link's random place in the start-up spread. The last refresh is the later
// of the last change and the last contact the status records: a quiet
// link's last change may be a day old while its provider answered minutes
// ago.
func restoreMemory(link *sharev1.ShareLink, now time.Time, u float64) *linkMemory {
	m := &linkMemory{watermark: link.Status.Watermark}
	for _, t := range []*metav1.Time{link.Status.LastRefreshTime, link.Status.LastContactTime} {
		if t != nil && t.After(m.lastRefresh) {
			m.lastRefresh = t.Time
		}
	}
	if !m.lastRefresh.IsZero() {
		m.restoredAt, m.restoredRefresh, m.spread = now, m.lastRefresh, u
	}
	return m
}

// restored reports whether the memory was begun from an earlier process's
// status and this process has not pulled since: its first refresh is still
// to be placed by the start-up spread.
func (m *linkMemory) restored() bool {
	return !m.restoredAt.IsZero() && m.lastRefresh.Equal(m.restoredRefresh)
}

// forget drops what the reconciler remembers of a deleted link.
func (r *ShareLinkReconciler) forget(link *sharev1.ShareLink) {
	r.memories.forget(link.UID, client.ObjectKeyFromObject(link))
}

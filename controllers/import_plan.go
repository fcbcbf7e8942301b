package controllers

import (
	"time"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

// importPlan says what a reconcile of a link pulls.
type importPlan struct {
	// full pulls every order (timestamp null); else an incremental pull.
	full bool
	// pull is false when nothing is due: only pending projects are applied.
	pull bool
	// refreshAt and fullImportAt are annotation values this run handles.
	refreshAt, fullImportAt string
}

// planImport decides from the annotations, auto-import and the periods. A
// new annotation value always runs; periodic work runs while autoImport is
// on. Without a watermark, an incremental pull would miss nothing only by
// being full.
func planImport(link *sharev1.ShareLink, mem *linkMemory, now time.Time) importPlan {
	var p importPlan
	if v := link.Annotations[sharev1.AnnotationRefreshRequestedAt]; v != "" && v != link.Status.LastHandledRefreshAt {
		p.refreshAt, p.pull = v, true
	}
	if v := link.Annotations[sharev1.AnnotationFullImportRequestedAt]; v != "" && v != link.Status.LastHandledFullImportAt {
		p.fullImportAt, p.pull, p.full = v, true, true
	}
	if link.Spec.AutoImportEnabled() {
		last := link.Status.LastFullImportTime
		if last == nil || !now.Before(last.Add(link.Spec.FullImportPeriod())) {
			p.pull, p.full = true, true
		}
		if !now.Before(refreshDue(link, mem)) {
			p.pull = true
		}
	}
	// With no watermark yet there is nothing to pull incrementally from:
	// any pull, requested or periodic, is a full import.
	if mem.watermark == 0 {
		p.full = p.pull
	}
	return p
}

// nextWake is when periodic work is next due, with jitter; zero when the
// link has none (autoImport off).
func nextWake(link *sharev1.ShareLink, mem *linkMemory, now time.Time) time.Duration {
	if !link.Spec.AutoImportEnabled() {
		return 0
	}
	next := refreshDue(link, mem)
	if last := link.Status.LastFullImportTime; last != nil {
		if full := last.Add(link.Spec.FullImportPeriod()); full.Before(next) {
			next = full
		}
	}
	return jitter(max(next.Sub(now), time.Second))
}

// refreshDue is when the link's next periodic refresh is due: an interval
// after the last, or, until this process has pulled, where the start-up
// spread puts it (firstRefreshAfterRestart).
func refreshDue(link *sharev1.ShareLink, mem *linkMemory) time.Time {
	interval := link.Spec.RefreshInterval()
	if mem.restored() {
		return firstRefreshAfterRestart(mem.lastRefresh, interval, mem.restoredAt, mem.spread)
	}
	return mem.lastRefresh.Add(interval)
}

// maxStartupSpread bounds the window over which a restarted manager spreads
// the first refreshes of links already overdue: short, so that none waits
// long, yet 1,000 links overdue together reach their accounts at some 17
// pulls a second rather than all in the first.
const maxStartupSpread = time.Minute

// firstRefreshAfterRestart is when a link that an earlier process imported
// (it last refreshed at recorded) first refreshes after this process began
// its memory at restoredAt; u, in [0, 1), is the link's own random place.
// Each link's in-memory schedule is lost with the process: taking every
// link as due at once would pull from every account in the first second
// after a restart. A link whose refresh is still ahead keeps it, with the
// usual jitter of a tenth of the interval; one already overdue refreshes
// within the start-up spread (the interval, at most maxStartupSpread).
func firstRefreshAfterRestart(recorded time.Time, interval time.Duration, restoredAt time.Time, u float64) time.Time {
	if due := recorded.Add(interval + scale(interval/10, u)); due.After(restoredAt) {
		return due
	}
	return restoredAt.Add(scale(min(interval, maxStartupSpread), u))
}

// scale is d times u.
func scale(d time.Duration, u float64) time.Duration { return time.Duration(float64(d) * u) }

// validationWaits says whether a run may leave the check of the logins
// (reconcileConnection, fingerprint fp) until the link's first pull, for a
// link whose memory this process restored: validating every link at start
// would call every account at once, as pulling every link would. An
// earlier process found both logins good (the caller checks that the
// conditions say so), and the run that pulls checks them first. Only the
// credentials the link had when this process began wait: a Secret changed
// since is checked at once.
func validationWaits(link *sharev1.ShareLink, mem *linkMemory, fp string, now time.Time) bool {
	if !mem.restored() {
		return false
	}
	if mem.restoredCredentials == "" {
		mem.restoredCredentials = fp
	}
	return mem.restoredCredentials == fp && !planImport(link, mem, now).pull
}
